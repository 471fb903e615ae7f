#include "models/distribution_model.h"

#include <algorithm>
#include <bit>

#include "stats/distributions.h"

namespace timescan::internal {

bool WindowSample::Restore(std::vector<int32_t> indices, uint32_t seen, uint32_t stride) {
  if (stride == 0 || !std::has_single_bit(stride) || indices.size() > kCapacity) return false;
  // Values 0, stride, 2 stride, ... below `seen` were kept.
  const uint64_t expected = (static_cast<uint64_t>(seen) + stride - 1) / stride;
  if (indices.size() != expected) return false;
  // A stride above 1 is only reached by filling the buffer.
  if (stride > 1 && static_cast<uint64_t>(seen) <= static_cast<uint64_t>(kCapacity) * (stride / 2)) {
    return false;
  }
  indices_ = std::move(indices);
  seen_ = seen;
  stride_ = stride;
  return true;
}

void WindowSample::Thin() {
  size_t kept = 0;
  for (size_t i = 0; i < indices_.size(); i += 2) indices_[kept++] = indices_[i];
  indices_.resize(kept);
  stride_ *= 2;
}

DistributionBaseline::DistributionBaseline() {
  sketches_.fill(QuantileSketch(kRelativeAccuracy));
}

const LogIndexMapping& DistributionBaseline::Mapping() {
  static const LogIndexMapping mapping(kRelativeAccuracy);
  return mapping;
}

void DistributionBaseline::Learn(int slot, const WindowSample& sample) {
  if (sample.empty()) return;
  QuantileSketch& sketch = sketches_[static_cast<size_t>(slot)];
  // The round's thresholds stay: a later round recomputes them.
  sketch.AddIndices(sample.indices(), sample.stride());
}

const DistributionBaseline::Thresholds& DistributionBaseline::ThresholdsOf(int slot,
                                                                          int64_t round) const {
  Thresholds& t = cache_[static_cast<size_t>(slot)];
  if (t.round == round && round != kNoRound) return t;
  const QuantileSketch& sketch = sketches_[static_cast<size_t>(slot)];
  const double total = static_cast<double>(sketch.count());
  t.tail_index = sketch.QuantileIndex(kTailQuantile);
  t.median_index = sketch.QuantileIndex(kShiftQuantile);
  // Half a value of prior: a constant value (nothing above the p99's
  // bucket) still leaves a small, finite rate.
  t.tail_rate = (static_cast<double>(sketch.CountAbove(t.tail_index)) + 0.5) / (total + 1);
  t.median_rate = (static_cast<double>(sketch.CountAbove(t.median_index)) + 0.5) / (total + 1);
  t.round = round;
  return t;
}

DistributionScore DistributionBaseline::Score(int slot, const WindowSample& sample,
                                              int64_t round) const {
  DistributionScore s;
  const QuantileSketch& sketch = sketches_[static_cast<size_t>(slot)];
  if (sample.empty() || sketch.count() < kMinLearnedValues) return s;
  const Thresholds& t = ThresholdsOf(slot, round);
  for (int32_t index : sample.indices()) {
    // kZeroIndex is below every bucket: never above.
    s.above_tail += index > t.tail_index ? 1 : 0;
    s.above_median += index > t.median_index ? 1 : 0;
  }
  s.n = static_cast<uint32_t>(sample.indices().size());
  s.seen = sample.seen();
  s.tail_rate = t.tail_rate;
  s.median_rate = t.median_rate;
  const LogIndexMapping& mapping = sketch.mapping();
  s.tail_value = t.tail_index == QuantileSketch::kZeroIndex ? 0 : mapping.LowerBound(t.tail_index + 1);
  s.median_value =
      t.median_index == QuantileSketch::kZeroIndex ? 0 : mapping.LowerBound(t.median_index + 1);
  s.learned = sketch.count();
  const double n = s.n;
  const double design = 1 + (n - 1) * kValueClustering;
  if (s.above_tail > 0) {
    s.tail_p = stats::ClampPValue(
        stats::BinomialUpperTail(s.above_tail / design, n / design, s.tail_rate));
  }
  if (s.above_median > n * s.median_rate) {
    s.shift_p = stats::ClampPValue(
        stats::BinomialUpperTail(s.above_median / design, n / design, s.median_rate));
  }
  return s;
}

void DistributionBaseline::Merge(const DistributionBaseline& other) {
  for (size_t i = 0; i < sketches_.size(); ++i) {
    sketches_[i].Merge(other.sketches_[i]);
    cache_[i].round = kNoRound;
  }
}

void DistributionBaseline::Reset() {
  for (size_t i = 0; i < sketches_.size(); ++i) {
    sketches_[i].Reset();
    cache_[i].round = kNoRound;
  }
}

void DistributionBaseline::set_sketch(int slot, QuantileSketch sketch) {
  sketches_[static_cast<size_t>(slot)] = std::move(sketch);
  cache_[static_cast<size_t>(slot)].round = kNoRound;
}

void DistributionBaseline::Decay(const CountScaler& scaler) {
  for (size_t slot = 0; slot < sketches_.size(); ++slot) sketches_[slot].Decay(scaler.Part(slot));
}

}  // namespace timescan::internal
