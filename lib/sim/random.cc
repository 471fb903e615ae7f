#include "sim/random.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace timescan::sim_internal {
namespace {

// Returns 2^n for -1022 <= n <= 1023, built from its bits.
double Pow2(int n) { return std::bit_cast<double>(static_cast<uint64_t>(n + 1023) << 52); }

// For the 128 intervals [1 + j/128, 1 + (j+1)/128) of the mantissa, the
// reciprocal of the interval's centre and minus its log.
struct LogTables {
  double inverse[128];
  double minus_log_inverse[128];
  LogTables() {
    for (int j = 0; j < 128; ++j) {
      inverse[j] = 1 / (1 + (j + 0.5) / 128);
      minus_log_inverse[j] = -LogSeries(inverse[j]);
    }
  }
};

// 2^(j/64) for j in [0, 64).
struct ExpTable {
  double value[64];
  ExpTable() {
    for (int j = 0; j < 64; ++j) value[j] = ExpSeries(j * (kLn2 / 64));
  }
};

const LogTables& GetLogTables() {
  static const LogTables tables;
  return tables;
}

const double* GetExpTable() {
  static const ExpTable table;
  return table.value;
}

}  // namespace

double LogSeries(double x) {
  // x = m * 2^e with m in [1, 2), read from the bits (exact); subnormals are
  // scaled up first.
  uint64_t bits = std::bit_cast<uint64_t>(x);
  int e = static_cast<int>(bits >> 52) - 1023;
  if (e == -1023) {
    bits = std::bit_cast<uint64_t>(x * 0x1.0p54);
    e = static_cast<int>(bits >> 52) - 1023 - 54;
  }
  double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    ++e;
  }
  // log(m) = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), |f| <= 0.1716.
  const double f = (m - 1) / (m + 1);
  const double f2 = f * f;
  double s = 1.0 / 25;
  for (int k = 23; k >= 1; k -= 2) s = s * f2 + 1.0 / k;
  return e * kLn2 + 2 * f * s;
}

double ExpSeries(double x) {
  double p = 1;
  for (int i = 22; i >= 1; --i) p = 1 + p * x / i;
  return p;
}

double Log(double x) {
  uint64_t bits = std::bit_cast<uint64_t>(x);
  int e = static_cast<int>(bits >> 52) - 1023;
  if (e == -1023) {  // subnormal
    bits = std::bit_cast<uint64_t>(x * 0x1.0p54);
    e = static_cast<int>(bits >> 52) - 1023 - 54;
  }
  // x = m * 2^e, m in [1, 2); log m = -log(c) + log1p(m c - 1), c ~ 1/m.
  const double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
  const int j = static_cast<int>((bits >> 45) & 127);
  const LogTables& tables = GetLogTables();
  const double t = m * tables.inverse[j] - 1;  // |t| < 1/256
  double log1p = -1.0 / 6 + t * (1.0 / 7);
  log1p = 0.2 + t * log1p;
  log1p = -0.25 + t * log1p;
  log1p = 1.0 / 3 + t * log1p;
  log1p = -0.5 + t * log1p;
  log1p = t * (1 + t * log1p);
  return (e * kLn2 + tables.minus_log_inverse[j]) + log1p;
}

double Exp(double x) {
  if (x > 709.78) return HUGE_VAL;
  if (x < -708) return 0;  // keeps 2^n normal below
  // x = (64 n + j) ln2/64 + r, |r| <= ln2/128; e^x = 2^n 2^(j/64) e^r.
  constexpr double kLn2Hi = 6.93147180369123816490e-01 / 64;  // 32 significant bits
  constexpr double kLn2Lo = 1.90821492927058770002e-10 / 64;
  const int64_t k = FloorToInt(x * (64 / kLn2) + 0.5);
  const auto kd = static_cast<double>(k);
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  double p = 1.0 / 120 + r * (1.0 / 720);
  p = 1.0 / 24 + r * p;
  p = 1.0 / 6 + r * p;
  p = 0.5 + r * p;
  p = 1 + r * (1 + r * p);
  const int n = static_cast<int>(k >> 6);  // floor(k / 64)
  const double scaled = GetExpTable()[k & 63] * p;
  if (n > 1023) return scaled * 2 * Pow2(1023);
  return scaled * Pow2(n);
}

double CosTurns(double turns) {
  turns -= std::floor(turns);  // [0, 1)
  const double quadrant = std::floor(turns * 4);
  const double r = (turns - quadrant * 0.25) * kTwoPi;  // [0, pi/2)
  const double r2 = r * r;
  // Taylor series to the 22nd and 21st powers: error below 2e-17 on [0, pi/2).
  double c = 1, s = 1;
  for (int k = 22; k >= 2; k -= 2) c = 1 - c * r2 / (k * (k - 1));
  for (int k = 21; k >= 3; k -= 2) s = 1 - s * r2 / (k * (k - 1));
  s *= r;
  switch (static_cast<int>(quadrant)) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
  }
}

double Quantize(double x, double scale) {
  const auto steps = static_cast<double>(FloorToInt(x * scale + 0.5));
  return scale == 1 ? steps : steps / scale;
}

double Rng::Exponential() { return -Log(1.0 - Uniform()); }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2 * Uniform() - 1;
    v = 2 * Uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double factor = std::sqrt(-2 * Log(s) / s);
  spare_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

double Rng::LogNormal(double median, double sigma) { return median * Exp(sigma * Normal()); }

}  // namespace timescan::sim_internal
