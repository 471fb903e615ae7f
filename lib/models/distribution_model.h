// The value-distribution model: per group and kind, the distribution of the
// values single events carry (request latency; bytes of connect, accept and
// file events) in a quantile sketch, and per entity window two tests of the
// window's values against it:
//
//   tail:  how many values lie above the learned p99 (tail mass), against
//          the learned share above it (about 1%): binomial upper tail.
//   shift: how many lie above the learned median (quantile shift), against
//          the learned share above it (about 50%): a sign test, upper tail.
//
// The value model scores a window's mean or volume; this one sees a shape:
// a window whose mean stays within learned levels while its tail grows (a
// few requests 20x slower, a few connections carrying far more bytes).
//
// Upper tails only: slower requests and larger transfers are what abuse
// looks like (exfiltration, a miner starving the service, a slow backend an
// attacker put in the path); faster and smaller come with light load and
// caches, and a scan's empty connections show in the count model.
//
// "Above" means in a bucket above the threshold's, and the null rate is the
// learned share of values in those buckets (with half a value of prior), not
// the nominal 1% or 50%: ties (quantised latencies, constant sizes) and the
// sketch's buckets then cost no calibration.
//
// Values of one window are not independent (a slow dependency slows every
// request of a minute), so the binomial uses the Kish design effect
// 1 + (n - 1) rho, as the error test does.
//
// Thresholds (the p99's and median's buckets, the shares above them) are
// cached per kind and round: the first Score of a round (the engine's
// window index) computes them from the sketch, the others of the round
// reuse them, so that closing a window costs each entity O(its values), not
// O(buckets), however many entities learned before it in the round. They
// are a function of the sketch at the round's first score: a restored or
// merged baseline scores as the original.

#ifndef TIMESCAN_LIB_MODELS_DISTRIBUTION_MODEL_H_
#define TIMESCAN_LIB_MODELS_DISTRIBUTION_MODEL_H_

#include <array>
#include <cstdint>
#include <vector>

#include "models/quantile_sketch.h"
#include "timescan/event.h"

namespace timescan::internal {

// Kinds whose event values the model learns, and their slot in its arrays.
inline constexpr int kDistributionKinds = 4;
inline constexpr std::array<Kind, kDistributionKinds> kDistributionKindOf = {
    Kind::kRequest, Kind::kConnect, Kind::kAccept, Kind::kFile};
// The slot of `kind`, or -1 for a kind the model does not learn (metric
// samples have the metric model; other kinds carry no value of interest).
inline int DistributionSlot(Kind kind) {
  switch (kind) {
    case Kind::kRequest: return 0;
    case Kind::kConnect: return 1;
    case Kind::kAccept: return 2;
    case Kind::kFile: return 3;
    default: return -1;
  }
}

// The values of one kind in one entity window, as sketch bucket indices:
// every value while there are at most kCapacity, then a systematic sample
// (every stride-th value, the stride doubling whenever the buffer fills),
// so that memory per window is bounded and a busy window is still seen
// whole, not just its first seconds. Each kept index stands for `stride`
// values.
class WindowSample {
 public:
  static constexpr uint32_t kCapacity = 256;

  void Add(int32_t index) {
    if ((seen_++ & (stride_ - 1)) != 0) return;
    if (indices_.size() == kCapacity) Thin();
    indices_.push_back(index);
  }
  // Forgets the values; keeps the buffer's capacity (no allocation later).
  void Clear() {
    indices_.clear();
    seen_ = 0;
    stride_ = 1;
  }

  const std::vector<int32_t>& indices() const { return indices_; }
  uint32_t seen() const { return seen_; }
  uint32_t stride() const { return stride_; }
  bool empty() const { return indices_.empty(); }

  // Restores a sample, as encoded. Returns false when the parts disagree
  // (stride not a power of two, size not ceil(seen / stride), over capacity).
  bool Restore(std::vector<int32_t> indices, uint32_t seen, uint32_t stride);

 private:
  // Keeps every other index and doubles the stride.
  void Thin();

  std::vector<int32_t> indices_;
  uint32_t seen_ = 0;    // values offered
  uint32_t stride_ = 1;  // a power of two
};

// What a window's values showed against one kind's learned distribution.
struct DistributionScore {
  uint32_t n = 0;             // values tested (the window's sample)
  uint32_t seen = 0;          // values of the window (more than n when sampled)
  uint32_t above_tail = 0;    // of the n, above the learned p99's bucket
  uint32_t above_median = 0;  // of the n, above the learned median's bucket
  double tail_rate = 0;       // learned share above the p99's bucket
  double median_rate = 0;     // learned share above the median's bucket
  double tail_value = 0;      // upper edge of the p99's bucket
  double median_value = 0;    // upper edge of the median's bucket
  uint64_t learned = 0;       // values the distribution rests on
  double tail_p = 1;          // 1: untested (no value above)
  double shift_p = 1;         // 1: untested (no more above than expected)
};

class DistributionBaseline {
 public:
  // The sketch's relative accuracy: quantiles within 1%, far finer than
  // what a shift worth a finding moves them.
  static constexpr double kRelativeAccuracy = QuantileSketch::kDefaultRelativeAccuracy;
  // Tests run once a kind's sketch holds this many values: with 2,000, the
  // learned share above the p99 rests on about 20 values (+-22%), enough
  // that its error does not make the tail test fire on chance.
  static constexpr uint64_t kMinLearnedValues = 2000;
  static constexpr double kTailQuantile = 0.99;
  static constexpr double kShiftQuantile = 0.5;
  // Intra-window correlation of values, for the design effect: at most
  // 1 / rho = 50 effective values per window, however busy.
  static constexpr double kValueClustering = 0.02;

  DistributionBaseline();

  // Returns the mapping every window sample must be built with.
  static const LogIndexMapping& Mapping();
  // Returns the bucket of `value` (REQUIRES: finite; negative reads as 0).
  static int32_t IndexOf(double value) {
    return value > QuantileSketch::kZeroThreshold ? Mapping().Index(value)
                                                  : QuantileSketch::kZeroIndex;
  }

  // Learns a window's values of kind slot `slot` (update).
  void Learn(int slot, const WindowSample& sample);

  // Scores a window's values of `slot` in `round` (the window index); n ==
  // 0 when the kind has fewer than kMinLearnedValues learned or the window
  // no value.
  DistributionScore Score(int slot, const WindowSample& sample, int64_t round) const;

  // Adds the values `other` learned (exact: the sketches merge).
  void Merge(const DistributionBaseline& other);
  void Decay(const CountScaler& scaler);
  // Forgets everything learned.
  void Reset();

  const QuantileSketch& sketch(int slot) const { return sketches_[static_cast<size_t>(slot)]; }
  // Replaces a kind's sketch (snapshot restore). REQUIRES: the mapping's
  // accuracy and kDefaultMaxBuckets.
  void set_sketch(int slot, QuantileSketch sketch);

 private:
  // The thresholds of one kind, from its sketch.
  static constexpr int64_t kNoRound = INT64_MIN;
  struct Thresholds {
    int64_t round = kNoRound;  // computed for this round
    int32_t tail_index = 0;
    int32_t median_index = 0;
    double tail_rate = 0;
    double median_rate = 0;
  };
  const Thresholds& ThresholdsOf(int slot, int64_t round) const;

  std::array<QuantileSketch, kDistributionKinds> sketches_;
  // Recomputed at the first score of each round (see the banner).
  mutable std::array<Thresholds, kDistributionKinds> cache_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_DISTRIBUTION_MODEL_H_
