#include "stats/p_value_fusion.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "stats/distributions.h"

namespace timescan::stats {

double CauchyCombine(absl::Span<const double> p_values) {
  if (p_values.empty()) return 1.0;
  constexpr double kPi = std::numbers::pi;
  double t = 0;
  for (double p : p_values) {
    p = std::min(ClampPValue(p), 0.99);
    // tan((0.5 - p) pi) = 1 / tan(p pi); for tiny p that is 1 / (p pi)
    // without the cancellation of 0.5 - p.
    t += p < 1e-15 ? 1 / (p * kPi) : 1 / std::tan(p * kPi);
  }
  t /= static_cast<double>(p_values.size());
  // p = 1/2 - atan(t)/pi; for large t that is atan(1/t)/pi ~ 1/(t pi).
  const double p = t > 1e15 ? 1 / (t * kPi) : (t > 0 ? std::atan(1 / t) / kPi : 0.5 - std::atan(t) / kPi);
  return ClampPValue(p);
}

}  // namespace timescan::stats
