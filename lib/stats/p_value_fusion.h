// Combining p-values. timescan uses two rules (README, "Scores"):
// Fisher's method inside a model whose tests are independent under the null
// (the categorical features of one window), so that several weak novelties
// add up; and the Cauchy combination (Liu & Xie 2020) across models, which
// stays calibrated when the tests are dependent (counts of different kinds
// move together with load).

#ifndef TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_
#define TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_

#include "absl/types/span.h"

namespace timescan::stats {

// Fisher: P(chi2(2k) >= -2 sum log p_i). 1 for no p-values.
double FisherCombine(absl::Span<const double> p_values);

// Cauchy combination with equal weights: T = mean tan((0.5 - p_i) pi),
// p = 1/2 - atan(T)/pi. p-values are clamped to at most 0.99 first: the
// tangent diverges at 1, and tests with nothing to say must not cancel the
// evidence of the others. 1 for no p-values.
double CauchyCombine(absl::Span<const double> p_values);

}  // namespace timescan::stats

#endif  // TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_
