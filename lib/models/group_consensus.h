// Group consensus: what the replicas of one group showed recently, so that a
// behaviour most of them show at about the same time (a deploy brings a
// migration step and a new destination to every replica) can be told apart
// from the same behaviour in one replica alone.
//
// A *behaviour* is one significant test outcome of an entity window, named
// by a BehaviourKey: a count spike of connects, a drop of requests, the new
// value /app/bin/migrate of exec.subject, a rare known value of
// connect.actor. A *sighting* is a replica showing a behaviour in a window.
// The engine records sightings at window close, asks how many distinct
// replicas showed a behaviour over a span of windows, and remembers which
// behaviours it already reported for the group, so that each is reported
// once.
//
// State is plain data in window order (sightings, active counts, reported
// behaviours), bounded by Forget(): ready to be serialised with the group.
// Not thread-safe (one engine, one thread).

#ifndef TIMESCAN_LIB_MODELS_GROUP_CONSENSUS_H_
#define TIMESCAN_LIB_MODELS_GROUP_CONSENSUS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "timescan/symbol_table.h"

namespace timescan::internal {

// Packs what a behaviour is about into one key: the test's type (the
// engine's numbering, < 256), its feature or kind (< 65,536), and for a
// categorical feature the value (else kNoSymbol).
inline uint64_t BehaviourKey(uint32_t test_type, uint32_t index, Symbol value) {
  return (static_cast<uint64_t>(test_type) << 56) | (static_cast<uint64_t>(index) << 40) | value;
}

// The recent behaviour of one group's replicas.
class GroupConsensus {
 public:
  // Counts one entity of the group with events in `window`.
  // REQUIRES: windows come in non-decreasing order.
  void CountActive(int64_t window);

  // Returns the entities of the group counted active in `window`, 0 when
  // the window is unknown or forgotten.
  uint32_t Active(int64_t window) const;

  // Records that `entity` showed `key` in `window`.
  // REQUIRES: windows come in non-decreasing order.
  void AddSighting(uint64_t key, Symbol entity, int64_t window);

  // Returns the distinct entities that showed `key` in windows
  // [from, to], in order of their first sighting, appending to `*out` if
  // it is not null.
  size_t Replicas(uint64_t key, int64_t from, int64_t to, std::vector<Symbol>* out = nullptr) const;

  // Returns whether `key` was reported (MarkReported) at a window at or
  // after `since`.
  bool ReportedSince(uint64_t key, int64_t since) const;

  // Records that `key` was reported, or covered once more, in `window`.
  void MarkReported(uint64_t key, int64_t window);

  // Forgets sightings and active counts of windows before `window`, and
  // reported behaviours last covered before `reported_before`.
  void Forget(int64_t window, int64_t reported_before);

  bool empty() const { return sightings_.empty() && active_.empty() && reported_.empty(); }
  size_t sightings() const { return sightings_.size(); }

 private:
  friend class SnapshotCodec;

  struct Sighting {
    uint64_t key;
    Symbol entity;
    int64_t window;
  };
  std::vector<Sighting> sightings_;                    // window order
  std::vector<std::pair<int64_t, uint32_t>> active_;   // (window, entities), window order
  std::vector<std::pair<uint64_t, int64_t>> reported_; // (key, last window covered)
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_GROUP_CONSENSUS_H_
