#include "models/count_model.h"

#include <algorithm>

namespace timescan::internal {
namespace {

// Shrinks `slot` towards `prior` with the weight of `prior_windows` windows
// and turns the result into a posterior predictive.
CountPrediction Blend(const Moments& slot, const Moments& prior, double prior_windows) {
  const double k = prior.n > 0 ? std::min(prior_windows, prior.n) : 0;
  const double n = slot.n + k;
  const double sum = slot.n * slot.mean + k * prior.mean;
  const double mean = (sum + 0.5) / (n + 1);
  double sample_variance = 0;
  if (n > 0) {
    sample_variance = (slot.n * slot.Variance() + k * prior.Variance()) / n;
  }
  CountPrediction out;
  out.mean = mean;
  out.variance = std::max(sample_variance, mean) + mean / (n + 1);
  out.windows = n;
  return out;
}

}  // namespace

void CountBaseline::Add(Kind kind, int hour, int64_t age, uint32_t count) {
  const int k = static_cast<int>(kind);
  const double x = count;
  if (age < kStartupWindows) {
    startup_[k][age].Add(x);
    return;
  }
  all_[k].Add(x);
  hourly_[k][hour].Add(x);
}

CountPrediction CountBaseline::Predict(Kind kind, int hour, int64_t age, bool seasonal) const {
  const int k = static_cast<int>(kind);
  if (age < kStartupWindows) return Blend(startup_[k][age], all_[k], kStartupPriorWindows);
  if (!seasonal) return Blend(all_[k], Moments{}, 0);
  return Blend(hourly_[k][hour], all_[k], kHourPriorWindows);
}

}  // namespace timescan::internal
