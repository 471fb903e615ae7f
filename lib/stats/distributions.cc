#include "stats/distributions.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <unsupported/Eigen/SpecialFunctions>

namespace timescan::stats {
namespace {

// NB parameters (size r, success probability p) for a mean and a variance.
struct NegBinomial { double r; double p; };

bool UsePoisson(double mean, double variance) {
  return !(variance > mean * (1 + 1e-9)) || mean <= 0;
}

NegBinomial FromMoments(double mean, double variance) {
  const double r = mean * mean / (variance - mean);
  return {r, r / (r + mean)};
}

}  // namespace

double BinomialUpperTail(double k, double n, double rate) {
  if (k <= 0) return 1;
  if (rate <= 0) return 0;
  if (rate >= 1) return 1;
  return Eigen::numext::betainc(k, n - k + 1, rate);
}

double ClampPValue(double p) {
  if (!(p >= kMinPValue)) return std::isnan(p) ? 1.0 : kMinPValue;
  return std::min(p, 1.0);
}

double PValueToScore(double p) { return -std::log10(ClampPValue(p)); }

double PoissonUpperTail(int64_t k, double mean) {
  if (k <= 0) return 1.0;
  if (mean <= 0) return 0.0;
  // P(X >= k) = P(k, mean), the regularised lower incomplete gamma.
  return Eigen::numext::igamma(static_cast<double>(k), mean);
}

double PoissonLowerTail(int64_t k, double mean) {
  if (k < 0) return 0.0;
  if (mean <= 0) return 1.0;
  return Eigen::numext::igammac(static_cast<double>(k) + 1, mean);
}

double PoissonPmf(int64_t k, double mean) {
  if (k < 0) return 0.0;
  if (mean <= 0) return k == 0 ? 1.0 : 0.0;
  const double kd = static_cast<double>(k);
  return std::exp(kd * std::log(mean) - mean - std::lgamma(kd + 1));
}

double NegBinomialUpperTail(int64_t k, double mean, double variance) {
  if (UsePoisson(mean, variance)) return PoissonUpperTail(k, mean);
  if (k <= 0) return 1.0;
  const NegBinomial nb = FromMoments(mean, variance);
  // P(X >= k) = I_{1-p}(k, r).
  return Eigen::numext::betainc(static_cast<double>(k), nb.r, 1 - nb.p);
}

double NegBinomialLowerTail(int64_t k, double mean, double variance) {
  if (UsePoisson(mean, variance)) return PoissonLowerTail(k, mean);
  if (k < 0) return 0.0;
  const NegBinomial nb = FromMoments(mean, variance);
  // P(X <= k) = I_p(r, k + 1).
  return Eigen::numext::betainc(nb.r, static_cast<double>(k) + 1, nb.p);
}

double NegBinomialPmf(int64_t k, double mean, double variance) {
  if (UsePoisson(mean, variance)) return PoissonPmf(k, mean);
  if (k < 0) return 0.0;
  const NegBinomial nb = FromMoments(mean, variance);
  const double kd = static_cast<double>(k);
  return std::exp(std::lgamma(kd + nb.r) - std::lgamma(nb.r) - std::lgamma(kd + 1) +
                  nb.r * std::log(nb.p) + kd * std::log1p(-nb.p));
}

int64_t NegBinomialQuantile(double q, double mean, double variance) {
  if (!(mean > 0)) return 0;  // NaN too
  // Far beyond any count a window holds; a mean past it (only a damaged
  // baseline has one) gives this, and no conversion overflows.
  constexpr int64_t kMaxQuantile = int64_t{1} << 40;
  const double guess = mean + 10 * std::sqrt(std::max(variance, mean)) + 10;
  int64_t lo = 0;
  int64_t hi = guess < static_cast<double>(kMaxQuantile)
                   ? std::max<int64_t>(1, static_cast<int64_t>(guess))
                   : kMaxQuantile;
  while (NegBinomialLowerTail(hi, mean, variance) < q && hi < kMaxQuantile) hi *= 2;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (NegBinomialLowerTail(mid, mean, variance) >= q) hi = mid; else lo = mid + 1;
  }
  return lo;
}

namespace {

// In the bulk of a distribution with a mean of at least kBulkMinMean, within
// kBulkZ standard deviations, the normal approximation is used: those
// p-values are above 0.04, where an error in the second digit changes no
// score that matters, and the incomplete beta costs a microsecond.
constexpr double kBulkMinMean = 20;
constexpr double kBulkZ = 1.75;

bool InBulk(int64_t x, double mean, double variance, double* z) {
  if (mean < kBulkMinMean) return false;
  *z = (static_cast<double>(x) - mean) / std::sqrt(std::max(variance, mean));
  return std::abs(*z) < kBulkZ;
}

// Small means and counts, the common case for rare kinds: the pmf by its
// recurrence from 0 costs a few dozen multiplications where the incomplete
// beta costs a microsecond. The upper tail is summed forward (not 1 - lower)
// when x is past the mean, so tiny tails keep their precision.
constexpr double kSumMaxMean = 50;
constexpr int64_t kSumMaxCount = 400;

struct CountTails {
  double below;  // P(X < x)
  double at;     // P(X = x)
  double above;  // P(X > x)
};

// `upper`: whether out->above is wanted; a drop test reads only below and
// at, so its above is 1 - below - at, unsummed, whatever x.
bool SumTails(int64_t x, double mean, double variance, bool upper, CountTails* out) {
  if (mean > kSumMaxMean || x > kSumMaxCount || x < 0 || mean <= 0) return false;
  const bool poisson = UsePoisson(mean, variance);
  const NegBinomial nb = poisson ? NegBinomial{0, 0} : FromMoments(mean, variance);
  // pmf(j + 1) = pmf(j) * ratio(j).
  auto ratio = [&](int64_t j) {
    const double jd = static_cast<double>(j);
    return poisson ? mean / (jd + 1) : (jd + nb.r) / (jd + 1) * (1 - nb.p);
  };
  double pmf = poisson ? std::exp(-mean) : std::exp(nb.r * std::log(nb.p));
  double below = 0;
  for (int64_t j = 0; j < x; ++j) {
    below += pmf;
    pmf *= ratio(j);
  }
  out->below = below;
  out->at = pmf;
  if (static_cast<double>(x) < mean || !upper) {
    out->above = std::max(0.0, 1 - below - pmf);
    return true;
  }
  double above = 0;
  double term = pmf * ratio(x);
  for (int64_t j = x + 1; j < x + 100000 && term > 1e-18 * above && term > 1e-320; ++j) {
    above += term;
    term *= ratio(j);
  }
  out->above = above;
  return true;
}

}  // namespace

double CountSpikeMidP(int64_t x, double mean, double variance) {
  if (double z; InBulk(x, mean, variance, &z)) return 0.5 * std::erfc(z / std::numbers::sqrt2);
  if (CountTails t; SumTails(x, mean, variance, /*upper=*/true, &t)) {
    return ClampPValue(t.above + 0.5 * t.at);
  }
  return CountSpikeMidPExact(x, mean, variance);
}

double CountSpikeMidPExact(int64_t x, double mean, double variance) {
  return ClampPValue(NegBinomialUpperTail(x + 1, mean, variance) +
                     0.5 * NegBinomialPmf(x, mean, variance));
}

double CountDropMidP(int64_t x, double mean, double variance) {
  if (double z; InBulk(x, mean, variance, &z)) return 0.5 * std::erfc(-z / std::numbers::sqrt2);
  if (CountTails t; SumTails(x, mean, variance, /*upper=*/false, &t)) {
    return ClampPValue(t.below + 0.5 * t.at);
  }
  return CountDropMidPExact(x, mean, variance);
}

double CountDropMidPExact(int64_t x, double mean, double variance) {
  return ClampPValue(NegBinomialLowerTail(x - 1, mean, variance) +
                     0.5 * NegBinomialPmf(x, mean, variance));
}


}  // namespace timescan::stats
