// Deterministic random numbers and math for the simulator.
//
// The same seed must give the same events on every platform, so nothing here
// depends on implementation-defined behaviour: std::mt19937_64's output
// sequence is fixed by the standard, and the distributions and the log, exp
// and cos below use only IEEE-754 basic operations (+ - * / sqrt) and
// exponent bit manipulation, all exactly specified. lib/sim is compiled with
// -ffp-contract=off so that no compiler fuses a multiply-add differently on
// another machine.

#ifndef TIMESCAN_LIB_SIM_RANDOM_H_
#define TIMESCAN_LIB_SIM_RANDOM_H_

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

namespace timescan::sim_internal {

// Returns splitmix64 of `x`: a bijective 64-bit mixer, for deriving seeds and
// ids from (seed, salt) pairs.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Returns a 64-bit value derived from `a` and `b`; different pairs give
// unrelated values.
inline uint64_t Mix64(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a) ^ (b * 0xD6E8FEB86659FD93ULL));
}

inline constexpr double kLn2 = 0.69314718055994530942;
inline constexpr double kTwoPi = 6.28318530717958647692;

// Returns floor(y) as an integer, without a libm call (x86-64's baseline has
// no rounding instruction). REQUIRES: |y| < 2^62.
inline int64_t FloorToInt(double y) {
  const auto i = static_cast<int64_t>(y);  // truncates toward zero: exact
  return i - (y < static_cast<double>(i) ? 1 : 0);
}

// Returns the natural logarithm of `x` by a series: relative error below
// 1e-15, slow. Builds the tables of Log. REQUIRES: x > 0 and finite.
inline double LogSeries(double x) {
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

// Returns e^x for |x| <= 1 by a series: relative error below 1e-16, slow.
// Builds the table of Exp.
inline double ExpSeries(double x) {
  double p = 1;
  for (int i = 22; i >= 1; --i) p = 1 + p * x / i;
  return p;
}

// Returns 2^n for -1022 <= n <= 1023, built from its bits.
inline double Pow2(int n) { return std::bit_cast<double>(static_cast<uint64_t>(n + 1023) << 52); }

// Tables for Log: for the 128 intervals [1 + j/128, 1 + (j+1)/128) of the
// mantissa, the reciprocal of the interval's centre and minus its log.
struct LogTables {
  double inverse[128];
  double minus_log_inverse[128];
};

inline const LogTables& GetLogTables() {
  static const LogTables tables = [] {
    LogTables t;
    for (int j = 0; j < 128; ++j) {
      t.inverse[j] = 1 / (1 + (j + 0.5) / 128);
      t.minus_log_inverse[j] = -LogSeries(t.inverse[j]);
    }
    return t;
  }();
  return tables;
}

// Returns 2^(j/64) for j in [0, 64).
inline const double* GetExpTable() {
  static const struct ExpTable {
    double value[64];
    ExpTable() {
      for (int j = 0; j < 64; ++j) value[j] = ExpSeries(j * (kLn2 / 64));
    }
  } table;
  return table.value;
}

// Returns the natural logarithm of `x`; error below 1e-15 * max(1, |log x|).
// REQUIRES: x > 0 and finite.
inline double Log(double x) {
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

// Returns e^x. Relative error below 1e-15; 0 below -708, +inf above 709.
inline double Exp(double x) {
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

// Returns cos(2 pi turns). Absolute error below 1e-15.
inline double CosTurns(double turns) {
  turns -= std::floor(turns);               // [0, 1)
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

// Rounds `x` (>= 0) to the nearest multiple of 1/`scale` (scale 1: an
// integer; 1000: thousandths), computed as an integer divided by `scale`, so
// that the value prints exactly with few digits and reads back the same.
inline double Quantize(double x, double scale) {
  const auto steps = static_cast<double>(FloorToInt(x * scale + 0.5));
  return scale == 1 ? steps : steps / scale;
}

// A seeded generator with the distributions the simulator needs.
// Not thread-safe.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Returns 64 uniformly random bits.
  uint64_t Bits() { return engine_(); }

  // Returns a uniform double in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Returns a uniform double in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Returns a uniform integer in [0, n) (multiply-shift; bias below n/2^64).
  // REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }

  // Returns a uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Returns an exponential variate with mean 1.
  double Exponential() { return -Log(1.0 - Uniform()); }

  // Returns a standard normal variate (Marsaglia's polar method, which
  // needs only log and sqrt; the second variate of each pair is kept).
  double Normal() {
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

  // Returns a log-normal variate with median `median` and log-scale sd `sigma`.
  double LogNormal(double median, double sigma) { return median * Exp(sigma * Normal()); }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace timescan::sim_internal

#endif  // TIMESCAN_LIB_SIM_RANDOM_H_
