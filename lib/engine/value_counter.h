// ValueCounter counts events per (feature, value) key within one entity
// window. It replaces a general hash map on the hottest path: open
// addressing with linear probing, Fibonacci hashing, growth by doubling, a
// list of used slots (iteration in order of first Add, so the same on every
// run; Clear touches only those), and Prefetch() so that a batch of keys can
// be brought into cache before they are counted.

#ifndef TIMESCAN_LIB_ENGINE_VALUE_COUNTER_H_
#define TIMESCAN_LIB_ENGINE_VALUE_COUNTER_H_

#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/base/attributes.h"

namespace timescan::internal {

class ValueCounter {
 public:
  // Key 0 marks an empty slot; callers never count key 0.
  static constexpr uint64_t kEmpty = 0;

  ValueCounter() = default;
  ValueCounter(const ValueCounter&) = delete;
  ValueCounter& operator=(const ValueCounter&) = delete;
  ValueCounter(ValueCounter&&) = default;
  ValueCounter& operator=(ValueCounter&&) = default;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

  // Forgets every key, keeping the memory. Touches only the used slots.
  void Clear() {
    for (size_t i = 0; i < size_; ++i) slots_[used_[i]].key = kEmpty;
    size_ = 0;
  }

  // Frees the memory.
  void Release() {
    slots_.reset();
    used_.reset();
    capacity_ = 0;
    grow_at_ = 0;
    size_ = 0;
  }

  // Brings the slot of `key` towards the cache.
  void Prefetch(uint64_t key) const {
    if (capacity_ > 0) __builtin_prefetch(&slots_[SlotOf(key)]);
  }

  // Adds `n` to the count of `key`. Returns false, changing nothing, when the
  // key is new and the counter already holds `max_keys` keys.
  // REQUIRES: key != kEmpty.
  // Always inline: the engine's counting loops are this call.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Add(uint64_t key, uint32_t n, size_t max_keys) {
    if (capacity_ == 0) Grow(16);
    for (size_t i = SlotOf(key);; i = (i + 1) & (capacity_ - 1)) {
      Slot& slot = slots_[i];
      if (slot.key == key) {
        slot.count += n;
        return true;
      }
      if (slot.key == kEmpty) {
        if (size_ >= max_keys) return false;
        if (size_ >= grow_at_) return GrowAndAdd(key, n);
        slot.key = key;
        slot.count = n;
        used_[size_++] = static_cast<uint32_t>(i);
        return true;
      }
    }
  }

  // Calls fn(key, count) for every key, in order of first Add (the order
  // of the input, so deterministic).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < size_; ++i) fn(slots_[used_[i]].key, slots_[used_[i]].count);
  }

  // The key of the i-th first Add (as ForEach visits it), i < size().
  uint64_t KeyAt(size_t i) const { return slots_[used_[i]].key; }

  size_t MemoryBytes() const { return capacity_ * (sizeof(Slot) + sizeof(uint32_t)); }

 private:
  // At most three slots in four are used. A window's counter then takes
  // half the cache lines it took at one in two, and its cache misses are
  // what the hot path waits for; the probes get longer (at the full load,
  // 2.5 slots for a known key and 8.5 for a new one, Knuth's figures for
  // linear probing), but four slots share a cache line.
  static constexpr size_t kMaxLoadNumerator = 3;
  static constexpr size_t kMaxLoadDenominator = 4;

  struct Slot {
    uint64_t key;
    uint32_t count;
  };

  size_t SlotOf(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  // Out of line, so that the always-inline Add does not recurse into itself.
  ABSL_ATTRIBUTE_NOINLINE bool GrowAndAdd(uint64_t key, uint32_t n) {
    Grow(2 * capacity_);
    return Add(key, n, SIZE_MAX);  // Add checked the cap before growing
  }

  void Grow(size_t capacity) {
    std::unique_ptr<Slot[]> old = std::move(slots_);
    std::unique_ptr<uint32_t[]> old_used = std::move(used_);
    const size_t old_size = size_;
    slots_ = std::make_unique<Slot[]>(capacity);
    std::memset(slots_.get(), 0, capacity * sizeof(Slot));
    used_ = std::make_unique<uint32_t[]>(capacity * kMaxLoadNumerator / kMaxLoadDenominator + 1);
    capacity_ = capacity;
    grow_at_ = capacity * kMaxLoadNumerator / kMaxLoadDenominator;
    shift_ = 64 - __builtin_ctzll(capacity);
    size_ = 0;
    // Re-adding in first-Add order keeps ForEach's order.
    for (size_t i = 0; i < old_size; ++i) Add(old[old_used[i]].key, old[old_used[i]].count, SIZE_MAX);
  }

  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint32_t[]> used_;  // slots in use, in order of first Add
  size_t capacity_ = 0;
  size_t grow_at_ = 0;  // the size at which a new key grows the map (see above)
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_VALUE_COUNTER_H_
