// Tail probabilities of the distributions the models test against. The
// special functions come from Eigen (unsupported/SpecialFunctions); tests
// check them against values computed with SciPy.

#ifndef TIMESCAN_LIB_STATS_DISTRIBUTIONS_H_
#define TIMESCAN_LIB_STATS_DISTRIBUTIONS_H_

#include <cstdint>

namespace timescan::stats {

// The smallest p-value any test reports; keeps -log10 p finite (300).
inline constexpr double kMinPValue = 1e-300;

// Poisson(mean): P(X >= k), P(X <= k) and P(X = k). mean >= 0.
double PoissonUpperTail(int64_t k, double mean);
double PoissonLowerTail(int64_t k, double mean);
double PoissonPmf(int64_t k, double mean);

// Negative binomial with the given mean and variance (variance > mean; the
// Poisson is used when variance <= mean): P(X >= k), P(X <= k), P(X = k).
double NegBinomialUpperTail(int64_t k, double mean, double variance);
double NegBinomialLowerTail(int64_t k, double mean, double variance);
double NegBinomialPmf(int64_t k, double mean, double variance);

// The smallest k with P(X <= k) >= q for the negative binomial above, at
// most 2^40; 0 for a mean that is not positive (or NaN).
int64_t NegBinomialQuantile(double q, double mean, double variance);

// Mid-p-values of a count x against NB(mean, variance): P(X > x) + P(X = x)/2
// for spikes, P(X < x) + P(X = x)/2 for drops. Under the null they are close
// to uniform even for small means, unlike the plain P(X >= x). In the bulk
// (mean >= 20, |z| < 1.75, so p > 0.04) a normal approximation stands in.
double CountSpikeMidP(int64_t x, double mean, double variance);
double CountDropMidP(int64_t x, double mean, double variance);

// The same mid-p-values from the incomplete beta, with no shortcut: the
// reference the shortcuts (normal in the bulk, pmf sums for small means)
// are tested against.
double CountSpikeMidPExact(int64_t x, double mean, double variance);
double CountDropMidPExact(int64_t x, double mean, double variance);

// Binomial(n, rate): P(X >= k), continuous in k and n through the
// regularized incomplete beta, I_rate(k, n - k + 1), so that effective
// (design-effect) counts need no rounding. 1 for k <= 0; REQUIRES
// 0 <= k <= n, 0 <= rate <= 1.
double BinomialUpperTail(double k, double n, double rate);

// Clamps `p` into [kMinPValue, 1]; NaN becomes 1.
double ClampPValue(double p);

// -log10 of a p-value, the score unit.
double PValueToScore(double p);

}  // namespace timescan::stats

#endif  // TIMESCAN_LIB_STATS_DISTRIBUTIONS_H_
