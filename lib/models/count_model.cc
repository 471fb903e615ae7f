#include "models/count_model.h"

#include <algorithm>
#include <cmath>

namespace timescan::internal {
namespace {

// The Gamma(shape, rate) prior of a window's event rate: half an event in a
// tenth of a window. Weak, so that a few windows dominate it, yet a kind
// never seen in n windows predicts about 0.5 / n events, not zero.
constexpr double kPriorEvents = 0.5;
constexpr double kPriorWindows = 0.1;

// Shrinks `slot` towards `prior` and turns the result into a posterior
// predictive. The prior weighs `prior_windows` windows for an empty slot and
// fades as the slot fills (e^(-n/prior_windows)): the all-hours variance
// holds the daily swing, which must not widen an hour that has its own data.
CountPrediction Blend(const Moments& slot, const Moments& prior, double prior_windows) {
  // Past 30 prior weights the fade is below 1e-13: skip the exp().
  const double fade = slot.n >= 30 * prior_windows ? 0 : std::exp(-slot.n / prior_windows);
  const double k = prior.n > 0 ? std::min(prior_windows * fade, prior.n) : 0;
  const double n = slot.n + k;
  const double sum = slot.n * slot.mean + k * prior.mean;
  const double mean = (sum + kPriorEvents) / (n + kPriorWindows);
  double sample_variance = 0;
  if (n > 0) {
    sample_variance = (slot.n * slot.Variance() + k * prior.Variance()) / n;
  }
  CountPrediction out;
  out.mean = mean;
  out.variance = std::max(sample_variance, mean) + mean / (n + kPriorWindows);
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

void CountBaseline::Merge(const CountBaseline& other) {
  for (int k = 0; k < kKindCount; ++k) {
    all_[k].Merge(other.all_[k]);
    for (int h = 0; h < kHours; ++h) hourly_[k][h].Merge(other.hourly_[k][h]);
    for (int a = 0; a < kStartupWindows; ++a) startup_[k][a].Merge(other.startup_[k][a]);
  }
}

CountPrediction CountBaseline::Predict(Kind kind, int hour, int64_t age, bool seasonal) const {
  const int k = static_cast<int>(kind);
  if (age < kStartupWindows) return Blend(startup_[k][age], all_[k], kStartupPriorWindows);
  if (!seasonal) return Blend(all_[k], Moments{}, 0);
  return Blend(hourly_[k][hour], all_[k], kHourPriorWindows);
}

CountPrediction CountBaseline::PredictWithinHour(Kind kind, int hour, double prior_mean) const {
  const int k = static_cast<int>(kind);
  double m2 = 0;
  double degrees = 0;
  for (const Moments& m : hourly_[k]) {
    if (m.n <= 1) continue;
    m2 += m.m2;
    degrees += m.n - 1;
  }
  Moments prior = all_[k];
  prior.mean = prior_mean;
  // Blend reads the prior's variance as m2 / (n - 1).
  if (degrees >= kMinPooledDegrees && prior.n > 1) prior.m2 = m2 / degrees * (prior.n - 1);
  return Blend(hourly_[k][hour], prior, kHourPriorWindows);
}

void CountBaseline::Decay(double factor) {
  for (int k = 0; k < kKindCount; ++k) {
    all_[k].Scale(factor);
    for (Moments& m : hourly_[k]) m.Scale(factor);
    for (Moments& m : startup_[k]) m.Scale(factor);
  }
}

}  // namespace timescan::internal
