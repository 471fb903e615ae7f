// Exponential forgetting of learned counts (EngineOptions::baseline_half_life).
//
// Counts are integers; multiplying by a factor below 1 and rounding to the
// nearest would never shrink a count of 1 or 2 (round(0.84 * 2) = 2), and
// flooring would erase the rare tail at once. Each count is instead rounded
// up with probability equal to its fractional part: unbiased, so a count's
// expected value falls exactly by the factor. The "random" draw is a hash of
// a seed and the count's key, so the same state decays the same way.

#ifndef TIMESCAN_LIB_MODELS_DECAY_H_
#define TIMESCAN_LIB_MODELS_DECAY_H_

#include <cmath>
#include <cstdint>

namespace timescan::internal {

class CountScaler {
 public:
  // REQUIRES: 0 < factor <= 1.
  CountScaler(double factor, uint64_t seed) : factor_(factor), seed_(seed) {}

  double factor() const { return factor_; }

  // floor(count * factor + u) with u in [0, 1) drawn from (seed, key).
  uint64_t Scale(uint64_t count, uint64_t key) const {
    if (count == 0 || factor_ == 1) return count;
    const double scaled = static_cast<double>(count) * factor_;
    const double whole = std::floor(scaled);
    const double u = static_cast<double>(Mix(seed_ ^ Mix(key)) >> 11) * 0x1.0p-53;
    return static_cast<uint64_t>(whole) + (u < scaled - whole ? 1 : 0);
  }

  // A scaler with the same factor and a seed of its own, for a part of a
  // model (so parts with equal keys draw differently).
  CountScaler Part(uint64_t part) const { return CountScaler(factor_, Mix(seed_ + part)); }

 private:
  // splitmix64's finaliser.
  static uint64_t Mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  double factor_;
  uint64_t seed_;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_DECAY_H_
