// A DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable
// quantile sketch with relative-error guarantees", VLDB 2019) over
// non-negative values: latencies, bytes per connection.
//
//   QuantileSketch sketch;             // relative accuracy 0.01
//   for (double x : latencies) sketch.Add(x);
//   double p99 = sketch.Quantile(0.99);  // within 1% of the exact p99
//
// Guarantee: for q in [0, 1], Quantile(q) is within a relative error of
// alpha (|estimate - x| <= alpha * x) of x, the value of rank
// floor(q * (count - 1)) among the values added (0-based, sorted), as long
// as no bucket was collapsed (below). Values of at most kZeroThreshold
// count as zero and are returned as 0.
//
// Buckets: a value x > 0 goes to the bucket of index floor(L(x) * m), where
// L is log2 linearly interpolated between powers of two (exact at them:
// L(x) = e + (s - 1) for x = s * 2^e, s in [1, 2), read from the bits of the
// double; a few instructions instead of a call to log), and m = 1 / ln(gamma),
// gamma = (1 + alpha) / (1 - alpha). L's slope against log2 lies in
// [ln 2, 2 ln 2], so a bucket spans a ratio of at most e^(1/m) = gamma; its
// value is the harmonic mean 2 lo hi / (lo + hi) of its bounds, within
// (hi - lo) / (hi + lo) <= alpha of anything in it. The price of the cheap
// mapping: up to 1 / (2 ln 2 log2(gamma)) ~ 1.44x the buckets of the exact
// logarithm (about 50 per doubling at alpha = 0.01 instead of 35).
//
// Memory is bounded: at most max_buckets buckets (default 2048: a range of
// 2^40 at alpha 0.01). When a value needs more, the lowest buckets collapse
// into the lowest one kept: low quantiles then read high (every value below
// the kept range reads as its lowest bucket), high quantiles stay accurate.
// The state is a function of the multiset of values added (counts per
// bucket, the lowest kept bucket set by the highest bucket seen), so Merge
// is exact: merging two sketches gives the sketch of the union, in any order.
//
// Not thread-safe; one owner.

#ifndef TIMESCAN_LIB_MODELS_QUANTILE_SKETCH_H_
#define TIMESCAN_LIB_MODELS_QUANTILE_SKETCH_H_

#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

#include "models/decay.h"

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace timescan::internal {

// The value-to-bucket mapping of a sketch (see the banner).
class LogIndexMapping {
 public:
  // REQUIRES: 0 < relative_accuracy < 1.
  explicit LogIndexMapping(double relative_accuracy);

  // Returns the bucket of `x`. REQUIRES: x > kZeroThreshold and finite.
  int32_t Index(double x) const {
    const uint64_t bits = std::bit_cast<uint64_t>(x);
    const int exponent = static_cast<int>(bits >> 52) - 1023;
    const double significand =
        std::bit_cast<double>((bits & kMantissaMask) | kOneBits);  // in [1, 2)
    const double scaled = (exponent + (significand - 1)) * multiplier_;
    int32_t index = static_cast<int32_t>(scaled);  // truncates towards zero
    if (scaled < index) --index;                   // floor for negatives
    return index;
  }

  // The smallest value of bucket `index` (its bucket holds [lower, next lower)).
  double LowerBound(int32_t index) const;
  // The value a quantile in bucket `index` reads as.
  double Value(int32_t index) const;

  double relative_accuracy() const { return relative_accuracy_; }

 private:
  static constexpr uint64_t kMantissaMask = (uint64_t{1} << 52) - 1;
  static constexpr uint64_t kOneBits = uint64_t{1023} << 52;

  double relative_accuracy_;
  double multiplier_;  // 1 / ln(gamma)
};

class QuantileSketch {
 public:
  // Values at or below this count as zero (the zero bucket): it keeps the
  // bucket indices of tiny values bounded.
  static constexpr double kZeroThreshold = 1e-9;
  static constexpr double kDefaultRelativeAccuracy = 0.01;
  static constexpr uint32_t kDefaultMaxBuckets = 2048;
  // The bucket index standing for the zero bucket in index lists (AddIndex).
  // Below every bucket of a value above kZeroThreshold at any accuracy the
  // engine uses, and small enough for its 28-bit field (lib/engine/window.h).
  static constexpr int32_t kZeroIndex = -(int32_t{1} << 27);

  // REQUIRES: 0 < relative_accuracy < 1, max_buckets >= 1.
  explicit QuantileSketch(double relative_accuracy = kDefaultRelativeAccuracy,
                          uint32_t max_buckets = kDefaultMaxBuckets);

  // Returns a sketch with the given state, or kInvalidArgument saying which
  // part breaks a rule (more buckets than allowed, indices out of range,
  // counts that overflow). `first_index` is the index of counts[0].
  static absl::StatusOr<QuantileSketch> FromBuckets(double relative_accuracy, uint32_t max_buckets,
                                                    uint64_t zero_count, int32_t first_index,
                                                    absl::Span<const uint64_t> counts);

  // Returns the bucket of `x`: kZeroIndex for x <= kZeroThreshold (and NaN).
  int32_t IndexOf(double x) const {
    return x > kZeroThreshold ? mapping_.Index(x) : kZeroIndex;
  }

  // Adds `x` (update). Negative values and NaN count as zero; REQUIRES x
  // finite.
  void Add(double x) { AddIndex(IndexOf(x), 1); }
  // Adds `weight` values of bucket `index` (from IndexOf, or kZeroIndex).
  void AddIndex(int32_t index, uint64_t weight) {
    // Most values land in a kept bucket (kZeroIndex is below them all).
    const int64_t offset = int64_t{index} - first_index_;
    if (offset >= 0 && offset < static_cast<int64_t>(counts_.size())) {
      count_ += weight;
      counts_[static_cast<size_t>(offset)] += weight;
      return;
    }
    AddOutsideKeptRange(index, weight);
  }

  // Adds `weight` values of each bucket in `indices`, as AddIndex one by
  // one would, with the bounds and the count kept in registers while the
  // values land in kept buckets (a window's values, learned at its close).
  void AddIndices(absl::Span<const int32_t> indices, uint64_t weight) {
    int64_t first = first_index_;
    int64_t kept = static_cast<int64_t>(counts_.size());
    uint64_t* counts = counts_.data();
    uint64_t added = 0;
    for (const int32_t index : indices) {
      const int64_t offset = int64_t{index} - first;
      if (offset >= 0 && offset < kept) {
        counts[offset] += weight;
        added += weight;
        continue;
      }
      count_ += added;
      added = 0;
      AddOutsideKeptRange(index, weight);  // may move and grow the kept range
      first = first_index_;
      kept = static_cast<int64_t>(counts_.size());
      counts = counts_.data();
    }
    count_ += added;
  }

  // Returns the estimate of the q-quantile (see the banner); 0 when empty.
  // REQUIRES: 0 <= q <= 1.
  double Quantile(double q) const;

  // Returns the bucket holding the q-quantile (kZeroIndex for zero), as
  // Quantile does. REQUIRES: count() > 0.
  int32_t QuantileIndex(double q) const;

  // Returns how many values lie in buckets above `index` (kZeroIndex: all
  // the non-zero values).
  uint64_t CountAbove(int32_t index) const;

  // Adds `other`'s values. REQUIRES: the same relative accuracy and
  // max_buckets (Compatible).
  void Merge(const QuantileSketch& other);

  // Every count weighs `scaler.factor()` as much (unbiased rounding).
  void Decay(const CountScaler& scaler);
  bool Compatible(const QuantileSketch& other) const {
    return mapping_.relative_accuracy() == other.mapping_.relative_accuracy() &&
           max_buckets_ == other.max_buckets_;
  }

  // Forgets every value; keeps the parameters.
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t zero_count() const { return zero_count_; }
  double relative_accuracy() const { return mapping_.relative_accuracy(); }
  uint32_t max_buckets() const { return max_buckets_; }
  const LogIndexMapping& mapping() const { return mapping_; }
  // The buckets, for serialisation: counts()[i] is bucket first_index() + i.
  int32_t first_index() const { return first_index_; }
  const std::vector<uint64_t>& counts() const { return counts_; }

  friend bool operator==(const QuantileSketch& a, const QuantileSketch& b);

 private:
  // AddIndex for the zero bucket, an empty sketch or a bucket outside the
  // kept range (which moves it).
  void AddOutsideKeptRange(int32_t index, uint64_t weight);

  LogIndexMapping mapping_;
  uint32_t max_buckets_;
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;  // zero_count_ and every bucket
  int32_t first_index_ = 0;
  std::vector<uint64_t> counts_;  // empty, or first and last non-zero
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_QUANTILE_SKETCH_H_
