// WindowRing holds an entity's open windows (or a metric series'), one slot
// per window index modulo a power-of-two size. Every event looks up its
// slot, so the lookup is a mask and an index: an absl::InlinedVector, used
// here until 2026-12-03, branched on where its elements live at each access
// (about 30 instructions an event). The slots live on the heap, which also
// keeps the records that hold a ring small.

#ifndef TIMESCAN_LIB_ENGINE_WINDOW_RING_H_
#define TIMESCAN_LIB_ENGINE_WINDOW_RING_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace timescan::internal {

template <typename T>
class WindowRing {
 public:
  // Replaces the slots by `size` default ones. REQUIRES: size is a power of
  // two.
  void Reset(size_t size) {
    slots_ = std::make_unique<T[]>(size);
    mask_ = size - 1;
  }
  // Frees the slots (and what they own).
  void Release() {
    slots_.reset();
    mask_ = 0;
  }

  bool empty() const { return slots_ == nullptr; }
  size_t size() const { return slots_ == nullptr ? 0 : mask_ + 1; }

  // The slot of `window`. REQUIRES: !empty().
  T& Slot(int64_t window) { return slots_[static_cast<size_t>(window) & mask_]; }
  const T& Slot(int64_t window) const { return slots_[static_cast<size_t>(window) & mask_]; }

  T* begin() { return slots_.get(); }
  T* end() { return slots_.get() + size(); }
  const T* begin() const { return slots_.get(); }
  const T* end() const { return slots_.get() + size(); }

 private:
  std::unique_ptr<T[]> slots_;
  size_t mask_ = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_WINDOW_RING_H_
