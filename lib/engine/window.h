// The open window of one entity: what the models need from its events,
// gathered on the hot path without allocation once the entity is warm.

#ifndef TIMESCAN_LIB_ENGINE_WINDOW_H_
#define TIMESCAN_LIB_ENGINE_WINDOW_H_

#include <array>
#include <cstdint>
#include <vector>

#include "engine/value_counter.h"
#include "models/distribution_model.h"
#include "models/sequence_model.h"
#include "models/value_model.h"
#include "timescan/engine.h"
#include "timescan/event.h"

namespace timescan::internal {

// Features are the subject and the actor of each kind.
inline constexpr int kFeatureCount = 2 * kKindCount;

inline int FeatureIndex(Kind kind, Field field) {
  return 2 * static_cast<int>(kind) + static_cast<int>(field);
}
inline Kind FeatureKind(int feature) { return static_cast<Kind>(feature / 2); }
inline Field FeatureField(int feature) { return static_cast<Field>(feature % 2); }

// Packs a feature and a value into one hash key.
inline uint64_t ValueKey(int feature, Symbol value) {
  return (static_cast<uint64_t>(feature) << 32) | value;
}

// The window key of an n-gram of sequence feature `feature` (see
// models/sequence_model.h): the top bit set, so that it never meets a
// ValueKey (below 2^37) in the window's value counter; `boot` marks an
// n-gram that starts with the start marker (an entity's or process's
// first n - 1 subjects): every entity boots once, so those are rare by
// construction and never scored as rare (a new one is still new).
inline constexpr uint64_t kSequenceKeyBit = uint64_t{1} << 63;
inline constexpr uint64_t kSequenceBootBit = uint64_t{1} << (kNGramIdBits + 1);
inline uint64_t SequenceKey(int feature, uint64_t id, bool boot) {
  return kSequenceKeyBit | (boot ? kSequenceBootBit : 0) |
         (static_cast<uint64_t>(feature) << kNGramIdBits) | id;
}
inline bool IsSequenceKey(uint64_t key) { return (key & kSequenceKeyBit) != 0; }
inline int SequenceKeyFeature(uint64_t key) {
  return static_cast<int>((key >> kNGramIdBits) & 1);
}
inline bool IsBootSequenceKey(uint64_t key) { return (key & kSequenceBootBit) != 0; }
inline uint64_t SequenceKeyId(uint64_t key) { return key & kNGramIdMask; }

// No value for the distribution model (PendingValues::value_index).
inline constexpr int32_t kNoValueIndex = (int32_t{1} << 27) - 1;

// The subject and actor of one event, and the sketch bucket of its value,
// as buffered on the hot path: 12 bytes, the kind and the bucket sharing a
// word (at the engine's 1% accuracy the buckets of values up to 1e300 lie
// within +-2^16, and snapshots are refused beyond +-2^26; kZeroIndex is
// -2^27). Packed by hand rather than with bit-fields: a bit-field store
// reads the slot first, and the narrow store then stalls the next read.
struct PendingValues {
  PendingValues(Symbol subject, Symbol actor, unsigned kind, int32_t value_index)
      : subject(subject), actor(actor), packed((static_cast<uint32_t>(value_index) << 4) | kind) {}
  unsigned kind() const { return packed & 15u; }
  // kNoValueIndex: none (or the model is off).
  int32_t value_index() const { return static_cast<int32_t>(packed) >> 4; }

  Symbol subject;
  Symbol actor;
  uint32_t packed;  // value_index << 4 | kind
};
static_assert(sizeof(PendingValues) == 12);
static_assert(kKindCount <= 16);

// Buffered events per entity before their values go into the counter.
inline constexpr size_t kPendingValues = 128;

// Fields in order of use on the hot path: what every event touches comes
// first, in the first cache line.
struct WindowAccumulator {
  int64_t window = -1;  // window index (start / width); -1 when unused
  // Values of recent events, not yet in `values` (and `samples`). Appending is a write to a
  // cache line that stays hot; the hash probes happen in bulk when the
  // buffer fills or the window closes, while the entity's map is in cache.
  std::vector<PendingValues> pending;
  uint32_t events = 0;
  std::array<uint32_t, kKindCount> counts{};
  std::array<ValueObservation, kKindCount> value_obs{};
  // Event values of the kinds the distribution model learns, by slot.
  std::array<WindowSample, kDistributionKinds> samples{};
  // Distinct (feature, value) pairs and their events, up to the per-window
  // cap; values past the cap are checked against the baseline one by one.
  // Also the window's distinct n-grams (SequenceKey) and their counts.
  ValueCounter values;
  std::array<uint32_t, kFeatureCount> untracked_events{};  // past the cap
  std::array<uint32_t, kFeatureCount> untracked_new{};     // of those, unknown values
  // Of `values`, the keys that are n-grams (SequenceKey): they have a cap
  // of their own, max_values_per_window, and do not take the values'.
  uint32_t sequence_keys = 0;

  void Reset(int64_t index) {
    window = index;
    events = 0;
    counts.fill(0);
    value_obs.fill(ValueObservation{});
    for (WindowSample& s : samples) s.Clear();  // keeps capacity
    pending.clear();
    values.Clear();  // keeps capacity: no allocation in steady state
    untracked_events.fill(0);
    untracked_new.fill(0);
    sequence_keys = 0;
  }

  // Returns the distinct subjects of the window: the tracked ones (values
  // of even features; n-grams are not subjects), and past the per-window
  // cap every untracked event as one (an upper bound).
  uint32_t DistinctSubjects() const {
    uint32_t distinct = 0;
    values.ForEach([&](uint64_t key, uint32_t) { distinct += IsSubjectKey(key) ? 1 : 0; });
    return distinct + UntrackedSubjects();
  }
  static bool IsSubjectKey(uint64_t key) { return !IsSequenceKey(key) && (key >> 32) % 2 == 0; }
  // The events of subjects past the cap, each counted as a distinct one.
  uint32_t UntrackedSubjects() const {
    uint32_t distinct = 0;
    for (size_t f = 0; f < untracked_events.size(); f += 2) distinct += untracked_events[f];
    return distinct;
  }
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_WINDOW_H_
