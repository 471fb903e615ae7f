// Combining p-values. timescan uses one rule (README, "How windows are
// scored"): every test of a window enters the Cauchy combination (Liu & Xie
// 2020), which stays calibrated when the tests are dependent (subject and
// actor of one event, counts of kinds that move together with load).

#ifndef TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_
#define TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_

#include "absl/types/span.h"

namespace timescan::stats {

// Cauchy combination with equal weights: T = mean tan((0.5 - p_i) pi),
// p = 1/2 - atan(T)/pi. p-values are clamped to at most 0.99 first: the
// tangent diverges at 1, and tests with nothing to say must not cancel the
// evidence of the others. 1 for no p-values.
double CauchyCombine(absl::Span<const double> p_values);

}  // namespace timescan::stats

#endif  // TIMESCAN_LIB_STATS_P_VALUE_FUSION_H_
