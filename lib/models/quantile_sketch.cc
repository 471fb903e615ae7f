#include "models/quantile_sketch.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace timescan::internal {

LogIndexMapping::LogIndexMapping(double relative_accuracy)
    : relative_accuracy_(relative_accuracy),
      multiplier_(1 / std::log((1 + relative_accuracy) / (1 - relative_accuracy))) {}

double LogIndexMapping::LowerBound(int32_t index) const {
  // The inverse of the interpolated log2: y = e + (s - 1) -> s * 2^e.
  const double y = index / multiplier_;
  const double exponent = std::floor(y);
  return std::ldexp(1 + (y - exponent), static_cast<int>(exponent));
}

double LogIndexMapping::Value(int32_t index) const {
  const double lo = LowerBound(index);
  const double hi = LowerBound(index + 1);
  return 2 * lo * hi / (lo + hi);
}

QuantileSketch::QuantileSketch(double relative_accuracy, uint32_t max_buckets)
    : mapping_(relative_accuracy), max_buckets_(max_buckets) {}

absl::StatusOr<QuantileSketch> QuantileSketch::FromBuckets(double relative_accuracy,
                                                           uint32_t max_buckets,
                                                           uint64_t zero_count, int32_t first_index,
                                                           absl::Span<const uint64_t> counts) {
  if (!(relative_accuracy > 0 && relative_accuracy < 1) || max_buckets < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("relative accuracy ", relative_accuracy, " and max buckets ", max_buckets,
                     "; expected an accuracy in (0, 1) and at least one bucket"));
  }
  if (counts.size() > max_buckets) {
    return absl::InvalidArgumentError(
        absl::StrCat(counts.size(), " buckets; at most ", max_buckets));
  }
  // Indices of finite doubles above kZeroThreshold stay far inside int32;
  // anything near its ends is corrupt.
  constexpr int64_t kIndexLimit = int64_t{1} << 30;
  if (!counts.empty() && (first_index <= -kIndexLimit ||
                          first_index + static_cast<int64_t>(counts.size()) >= kIndexLimit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("first bucket index ", first_index, " is out of range"));
  }
  if (!counts.empty() && (counts.front() == 0 || counts.back() == 0)) {
    return absl::InvalidArgumentError("the first and last buckets must not be empty");
  }
  QuantileSketch sketch(relative_accuracy, max_buckets);
  uint64_t total = zero_count;
  for (uint64_t c : counts) {
    if (total + c < total) return absl::InvalidArgumentError("bucket counts overflow");
    total += c;
  }
  sketch.zero_count_ = zero_count;
  sketch.count_ = total;
  sketch.first_index_ = counts.empty() ? 0 : first_index;
  sketch.counts_.assign(counts.begin(), counts.end());
  return sketch;
}

void QuantileSketch::AddOutsideKeptRange(int32_t index, uint64_t weight) {
  if (weight == 0) return;
  count_ += weight;
  if (index == kZeroIndex) {
    zero_count_ += weight;
    return;
  }
  if (counts_.empty()) {
    first_index_ = index;
    counts_.assign(1, weight);
    return;
  }
  const int64_t first = first_index_;
  const int64_t last = first + static_cast<int64_t>(counts_.size()) - 1;
  const int64_t cap = max_buckets_;
  if (index > last) {
    // A new highest bucket: the lowest allowed moves up; fold what falls
    // below it into the new lowest.
    const int64_t new_first = std::max(first, index - cap + 1);
    std::vector<uint64_t> grown(static_cast<size_t>(index - new_first + 1), 0);
    for (int64_t i = first; i <= last; ++i) {
      grown[static_cast<size_t>(std::max(i, new_first) - new_first)] += counts_[static_cast<size_t>(i - first)];
    }
    grown.back() += weight;
    counts_ = std::move(grown);
    first_index_ = static_cast<int32_t>(new_first);
    return;
  }
  // Below the kept range: the lowest allowed bucket takes it.
  const int64_t target = std::max<int64_t>(index, last - cap + 1);
  if (target < first) {
    counts_.insert(counts_.begin(), static_cast<size_t>(first - target), 0);
    first_index_ = static_cast<int32_t>(target);
  }
  counts_[static_cast<size_t>(target - first_index_)] += weight;
}

int32_t QuantileSketch::QuantileIndex(double q) const {
  // The rank rule of the reference implementation: the bucket holding the
  // value of 0-based rank floor(q * (count - 1)).
  const double rank = q * static_cast<double>(count_ - 1);
  if (rank < static_cast<double>(zero_count_)) return kZeroIndex;
  double running = static_cast<double>(zero_count_);
  for (size_t i = 0; i < counts_.size(); ++i) {
    running += static_cast<double>(counts_[i]);
    if (running > rank) return first_index_ + static_cast<int32_t>(i);
  }
  return first_index_ + static_cast<int32_t>(counts_.size()) - 1;
}

double QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return 0;
  const int32_t index = QuantileIndex(q);
  return index == kZeroIndex ? 0 : mapping_.Value(index);
}

uint64_t QuantileSketch::CountAbove(int32_t index) const {
  if (index == kZeroIndex) return count_ - zero_count_;
  uint64_t above = 0;
  const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(index) + 1 - first_index_);
  for (size_t i = static_cast<size_t>(from); i < counts_.size(); ++i) above += counts_[i];
  return above;
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.counts_.empty()) {
    zero_count_ += other.zero_count_;
    count_ += other.zero_count_;
    return;
  }
  // The highest bucket first, so the kept range is settled once; the rest
  // then land in place (or in the lowest kept bucket).
  const int32_t other_last = other.first_index_ + static_cast<int32_t>(other.counts_.size()) - 1;
  AddIndex(other_last, other.counts_.back());
  for (size_t i = 0; i + 1 < other.counts_.size(); ++i) {
    AddIndex(other.first_index_ + static_cast<int32_t>(i), other.counts_[i]);
  }
  AddIndex(kZeroIndex, other.zero_count_);
}

void QuantileSketch::Reset() {
  zero_count_ = 0;
  count_ = 0;
  first_index_ = 0;
  counts_.clear();
}

bool operator==(const QuantileSketch& a, const QuantileSketch& b) {
  return a.Compatible(b) && a.zero_count_ == b.zero_count_ && a.count_ == b.count_ &&
         a.first_index_ == b.first_index_ && a.counts_ == b.counts_;
}

void QuantileSketch::Decay(const CountScaler& scaler) {
  zero_count_ = scaler.Scale(zero_count_, 0);
  count_ = zero_count_;
  for (size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] = scaler.Scale(counts_[i], static_cast<uint64_t>(first_index_ + static_cast<int64_t>(i)) + 1);
    count_ += counts_[i];
  }
  // Keep the invariant: no zero bucket at either end.
  size_t first = 0;
  while (first < counts_.size() && counts_[first] == 0) ++first;
  size_t last = counts_.size();
  while (last > first && counts_[last - 1] == 0) --last;
  counts_.erase(counts_.begin() + static_cast<std::ptrdiff_t>(last), counts_.end());
  counts_.erase(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(first));
  first_index_ = counts_.empty() ? 0 : first_index_ + static_cast<int32_t>(first);
}

}  // namespace timescan::internal
