// SymbolCountMap maps symbols to counts: the storage of CategoricalTable,
// looked up once for each distinct value of every scored window. Until
// 2026-12-03 that was an absl::flat_hash_map, whose hash and group probe
// cost about 45 instructions a lookup; this is open addressing with linear
// probing and Fibonacci hashing, about 15. Symbols are the engine's own
// dense ids, not values an attacker chooses, so a plain multiplicative hash
// spreads them well. Values are never removed (learned counts decay to 1,
// not to 0), so there are no tombstones. Iteration is in slot order: like
// a hash map's, it must not reach an output.

#ifndef TIMESCAN_LIB_MODELS_SYMBOL_COUNT_MAP_H_
#define TIMESCAN_LIB_MODELS_SYMBOL_COUNT_MAP_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "timescan/symbol_table.h"

namespace timescan::internal {

class SymbolCountMap {
 public:
  size_t size() const { return size_; }
  // Slots allocated (MemoryBytes: 8 bytes each).
  size_t capacity() const { return slots_.size(); }

  // Makes room for `n` symbols without growing on the way.
  void reserve(size_t n) {
    size_t capacity = slots_.empty() ? kMinCapacity : slots_.size();
    while (kMaxLoadDenominator * n > kMaxLoadNumerator * capacity) capacity *= 2;
    if (capacity > slots_.size()) Rehash(capacity);
  }

  // The count of `key`, or nullptr when absent (always for kNoSymbol).
  // Valid until the next insertion.
  uint32_t* Find(Symbol key) {
    if (slots_.empty()) return nullptr;
    for (size_t i = SlotOf(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.key == kNoSymbol) return nullptr;
      if (slot.key == key) return &slot.count;
    }
  }
  const uint32_t* Find(Symbol key) const { return const_cast<SymbolCountMap*>(this)->Find(key); }

  // The count of `key`, inserted as 0 when absent (*inserted says whether).
  // REQUIRES: key != kNoSymbol.
  uint32_t& FindOrInsert(Symbol key, bool* inserted) {
    assert(key != kNoSymbol);
    if (kMaxLoadDenominator * (size_ + 1) > kMaxLoadNumerator * slots_.size()) {
      if (uint32_t* count = Find(key)) {
        *inserted = false;
        return *count;
      }
      Rehash(slots_.empty() ? kMinCapacity : 2 * slots_.size());
    }
    for (size_t i = SlotOf(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.key == key) {
        *inserted = false;
        return slot.count;
      }
      if (slot.key == kNoSymbol) {
        slot.key = key;
        slot.count = 0;
        ++size_;
        *inserted = true;
        return slot.count;
      }
    }
  }

  // Brings the slot where `key` would be towards the cache.
  void Prefetch(Symbol key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[SlotOf(key)]);
  }

  // Calls fn(symbol, count) for every symbol, in slot order; fn may change
  // the count (through a uint32_t& parameter).
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (Slot& slot : slots_) {
      if (slot.key != kNoSymbol) fn(slot.key, slot.count);
    }
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.key != kNoSymbol) fn(slot.key, slot.count);
    }
  }

 private:
  // At most three slots in four used (see engine/value_counter.h): a probe
  // for a known value reads 2.5 slots on average, one line.
  static constexpr size_t kMaxLoadNumerator = 3;
  static constexpr size_t kMaxLoadDenominator = 4;
  static constexpr size_t kMinCapacity = 16;

  struct Slot {
    Symbol key = kNoSymbol;
    uint32_t count = 0;
  };

  size_t SlotOf(Symbol key) const {
    return static_cast<size_t>((uint64_t{key} * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  void Rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = 64 - __builtin_ctzll(capacity);
    for (const Slot& slot : old) {
      if (slot.key == kNoSymbol) continue;
      size_t i = SlotOf(slot.key);
      while (slots_[i].key != kNoSymbol) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;  // a power of two of them, or none
  size_t size_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_SYMBOL_COUNT_MAP_H_
