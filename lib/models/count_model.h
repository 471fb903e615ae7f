// The count model: how many events of each kind an entity of a group emits
// per window, by UTC hour of day, with a separate baseline for an entity's
// first two windows (start-up bursts, partial first windows).
//
// Prediction is the Gamma-Poisson posterior predictive of the slot's windows
// (prior Gamma(0.5, 0.1)), widened to the slot's observed variance when the
// counts are overdispersed: a negative binomial with
//   mean     m = (S + 0.5) / (n + 0.1)
//   variance V = max(sample variance, m) + m / (n + 0.1)
// where S and n are the slot's event and window totals. An hour with few
// windows is shrunk towards the all-hours baseline with the weight of
// kHourPriorWindows windows, fading as the hour fills. Spikes and drops are scored with mid-p-values.

#ifndef TIMESCAN_LIB_MODELS_COUNT_MODEL_H_
#define TIMESCAN_LIB_MODELS_COUNT_MODEL_H_

#include <array>
#include <cstdint>

#include "timescan/event.h"

namespace timescan::internal {

// Running mean and sum of squared deviations (Welford).
struct Moments {
  double n = 0;
  double mean = 0;
  double m2 = 0;

  void Add(double x) {
    n += 1;
    const double delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  double Variance() const { return n >= 2 ? m2 / (n - 1) : 0; }

  // Combines with moments of other data (Chan et al.'s parallel update),
  // written symmetrically so that a.Merge(b) and b.Merge(a) agree exactly.
  void Merge(const Moments& other) {
    const double total = n + other.n;
    if (total == 0) return;
    const double delta = other.mean - mean;
    const double merged_mean = (n * mean + other.n * other.mean) / total;
    m2 = m2 + other.m2 + delta * delta * (n * other.n / total);
    mean = merged_mean;
    n = total;
  }

  // Exponential forgetting: the windows weigh `factor` as much, the mean
  // and variance stay.
  void Scale(double factor) {
    n *= factor;
    m2 *= factor;
  }
};

// A predicted count distribution for one window.
struct CountPrediction {
  double mean = 0;
  double variance = 0;
  double windows = 0;  // effective windows behind the estimate
};

class CountBaseline {
 public:
  static constexpr int kHours = 24;
  static constexpr int kStartupWindows = 2;   // entity ages 0 and 1 have own slots
  static constexpr double kHourPriorWindows = 10;
  static constexpr double kStartupPriorWindows = 1;
  // Degrees of freedom the pooled within-hour spread needs to be used.
  static constexpr double kMinPooledDegrees = 8;

  // Learns one window's count of `kind`. `hour` is the UTC hour of the
  // window start; `age` the entity's window index since it first appeared.
  void Add(Kind kind, int hour, int64_t age, uint32_t count);

  // Predicts the count of `kind` for a window at `hour` and `age`.
  // `seasonal`: use the hour-of-day slot (else all hours).
  CountPrediction Predict(Kind kind, int hour, int64_t age, bool seasonal) const;

  // Predicts the count of `kind` over a coarse window starting at `hour`
  // from this baseline of coarse counts (EngineOptions::coarse_windows):
  // the hour's slot is shrunk towards `prior_mean`, what the baseline of
  // engine windows expects of the span (it learns the hour from every
  // engine window, a coarse slot from one window per span), with the
  // spread of coarse counts within an hour pooled over the hours. The
  // all-hours spread holds the daily swing of the means, which the prior
  // mean already follows: it serves only while the hours have too few
  // windows to pool.
  CountPrediction PredictWithinHour(Kind kind, int hour, double prior_mean) const;

  // Whether any window of this group had an event of `kind`.
  bool Active(Kind kind) const { return all_[static_cast<int>(kind)].mean > 0; }

  double windows() const { return all_[0].n; }

  // Adds the windows `other` learned, slot by slot.
  void Merge(const CountBaseline& other);

  // Every slot's windows weigh `factor` as much (EngineOptions::baseline_half_life).
  void Decay(double factor);

 private:
  friend class SnapshotCodec;

  std::array<Moments, kKindCount> all_{};
  std::array<std::array<Moments, kHours>, kKindCount> hourly_{};
  std::array<std::array<Moments, kStartupWindows>, kKindCount> startup_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_COUNT_MODEL_H_
