// The sequence model (STIDE and its frequency-weighted variants): which
// n-grams of exec subjects an entity runs, and of syscalls a process makes,
// are normal for a group, and how surprising a window's n-grams are.
//
//   SequenceTable table;                         // one per group and feature
//   uint64_t hashes[3] = {SequenceNameHash(""),  // the start marker
//                         SequenceNameHash("/usr/bin/node"),
//                         SequenceNameHash("/bin/sh")};
//   table.Add(NGramId(hashes, 3), 1, 10000);     // update (learn)
//   SequenceObservation o;
//   o.Observe(id, 1, table.Count(id));
//   SequenceScore s = table.Score(o, 0.01, 1440, 3);  // score
//
// An n-gram is named by a hash of its subjects' *names* (not of this
// engine's symbols), so that tables of engines with different symbol
// tables merge by adding counts, and behaviour keys mean the same
// everywhere. The hash is FNV-1a over each name, mixed in order with a
// splitmix64 finaliser, and kept to its top 48 bits: two n-grams among
// 10,000 learned ones collide with probability about 2^-34 each. The
// function is fixed: snapshots store the ids. It is not keyed, so someone
// who controls exe paths and knows a group's n-grams could make a new
// sequence hash like a known one (at 2^48 work); the categorical model
// still sees the new path itself.
//
// Scoring follows the categorical model (categorical_model.h), with one
// difference: new n-grams come in bursts. A single new step (a program
// after one it never followed) makes n - 1 n-grams new at once, a new
// program n, so the unit of novelty is an *episode* of n - 1 new n-grams
// (ceil(new / (n - 1)) episodes per window); counting n-grams would treat
// one new step as n - 1 independent surprises and fire on chance. The
// first episode of a window has the group's windowed novelty rate
// (windows that brought a new n-gram over windows learned, shrunk towards
// the fleet's rate), further ones come at the Good-Turing rate of unseen
// mass per n-gram divided by n - 1, and rare known n-grams are scored by
// the share of learned n-grams that are as rare (an n-gram seen once in a
// million is nearly new). A group whose exec sequences never showed
// novelty finds a new one very surprising; one whose sequences keep
// changing does not.
//
// Not thread-safe (one engine, one thread).

#ifndef TIMESCAN_LIB_MODELS_SEQUENCE_MODEL_H_
#define TIMESCAN_LIB_MODELS_SEQUENCE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "models/decay.h"

namespace timescan::internal {

// The two sequence features: exec subjects per entity, syscalls per
// process (the actor of syscall events). Values reach behaviour keys and
// snapshots: never renumber.
inline constexpr int kSequenceFeatures = 2;
inline constexpr int kExecSequence = 0;
inline constexpr int kSyscallSequence = 1;

// The n of the n-grams (EngineOptions::sequence_length).
inline constexpr int kMinSequenceLength = 2;
inline constexpr int kMaxSequenceLength = 6;

// N-gram ids are the top kNGramIdBits bits of the hash; 0 is never an id.
inline constexpr int kNGramIdBits = 48;
inline constexpr uint64_t kNGramIdMask = (uint64_t{1} << kNGramIdBits) - 1;

// Known n-grams seen at most this often are "rare" (tracked by
// count-of-counts); more frequent ones are simply normal.
inline constexpr uint32_t kSequenceRareLimit = 16;

// Returns the fixed 64-bit hash of a subject's name. The start marker that
// pads an entity's (or process's) first n-grams is the hash of "", which no
// symbol has.
uint64_t SequenceNameHash(std::string_view name);

// Returns the id of the n-gram whose subjects have the name hashes
// `hashes[0..n)`, oldest first. REQUIRES: 1 <= n <= kMaxSequenceLength.
uint64_t NGramId(const uint64_t* hashes, int n);

// What one entity window showed for one sequence feature.
struct SequenceObservation {
  uint32_t grams = 0;           // n-grams completed in the window
  uint32_t distinct_known = 0;  // distinct n-grams the table knows
  uint32_t new_grams = 0;       // distinct n-grams the table does not know
  uint32_t rarest_count = UINT32_MAX;  // lowest learned count among known n-grams
  uint64_t rarest = 0;                 // its id (lowest id on ties)

  // Records an n-gram completed `n` times in the window with learned count
  // `learned` (0: new). A known n-gram that is not `rare_eligible` (rare
  // by construction: a start-up one) counts only in `grams`.
  void Observe(uint64_t id, uint32_t n, uint32_t learned, bool rare_eligible = true);
};

// The p-value of one feature's window and which part gave it.
struct SequenceScore {
  double p_value = 1;
  bool novelty = false;    // true: new n-grams; false: a rare known one
  double window_rate = 0;  // the novelty rate per window it was judged by
};

// The learned n-grams of one sequence feature of one group: ids and counts
// in an open-addressing table of 8-byte slots (id << 16 | count; counts
// saturate at 65,535, far above kSequenceRareLimit, and total() keeps the
// exact sum), at most 3/4 full. Bounded: at most `max_grams` distinct ids
// (EngineOptions::max_values_per_feature); later new n-grams count as new
// and then as overflow.
class SequenceTable {
 public:
  static constexpr uint32_t kMaxCount = 0xffff;

  SequenceTable() = default;
  SequenceTable(const SequenceTable& other);
  SequenceTable& operator=(const SequenceTable& other);
  SequenceTable(SequenceTable&&) = default;
  SequenceTable& operator=(SequenceTable&&) = default;

  // Returns how often `id` was learned (saturated at kMaxCount); 0 if unknown.
  uint32_t Count(uint64_t id) const;

  // Learns `n` completions of `id`. A new id beyond `max_grams` distinct
  // ids is not remembered and is counted in overflow(). Returns whether
  // the id was new to the table.
  bool Add(uint64_t id, uint32_t n, uint32_t max_grams);

  // Learns `n` n-grams that were not tracked (the window's cap was
  // reached): they count as new and are not remembered.
  void AddUntracked(uint32_t n) {
    total_ += n;
    overflow_ += n;
  }

  // Learns that a window did (or did not) bring a new n-gram: the exposure
  // of the windowed novelty rate.
  void AddWindow(bool had_new) {
    ++windows_;
    novel_windows_ += had_new ? 1 : 0;
  }

  // The probability that a window brings at least one new n-gram:
  // (novel + w * prior_rate) / (windows + w), with w = prior_windows.
  double WindowNoveltyRate(double prior_rate, double prior_windows) const;

  // The Good-Turing probability that the next n-gram is new.
  double EventNoveltyRate() const;

  // The share of learned n-grams whose id was seen at most `count` times
  // (1 beyond kSequenceRareLimit).
  double RareMass(uint32_t count) const;

  // Scores a window's observation of n-grams of `length` against the
  // novelty rate shrunk towards `prior_rate` (see WindowNoveltyRate).
  SequenceScore Score(const SequenceObservation& observation, double prior_rate,
                      double prior_windows, int length) const;

  // Adds what `other` learned: ids new to this table are added in
  // ascending order until `max_grams` distinct ids, the rest counted as
  // overflow; novelty exposure adds. Ids are name hashes, so no
  // translation between engines is needed.
  void Merge(const SequenceTable& other, uint32_t max_grams);

  // Counts weigh `scaler.factor()` as much (EngineOptions::baseline_half_life),
  // but a known n-gram stays known (its count never falls below 1):
  // forgetting how often, never that it was seen. Exposure (windows, novel
  // windows) decays alike, so the novelty rate follows recent windows.
  void Decay(const CountScaler& scaler);

  // Forgets everything learned and frees the memory.
  void Reset();

  // Returns the (id, count) pairs in ascending order of id.
  std::vector<std::pair<uint64_t, uint32_t>> Sorted() const;

  // Restores a table from Sorted()'s pairs and its totals; false (the
  // table left empty) when the pairs are not ascending non-zero ids with
  // counts 1..kMaxCount within `max_grams`, or the totals do not fit them.
  bool Restore(const std::vector<std::pair<uint64_t, uint32_t>>& grams, uint64_t total,
               uint64_t windows, uint64_t novel_windows, uint64_t overflow, uint32_t max_grams);

  uint64_t total() const { return total_; }
  size_t distinct() const { return size_; }
  uint64_t windows() const { return windows_; }
  uint64_t novel_windows() const { return novel_windows_; }
  uint64_t overflow() const { return overflow_; }
  size_t MemoryBytes() const { return sizeof(*this) + capacity_ * sizeof(uint64_t); }

 private:
  size_t SlotOf(uint64_t id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  // Returns the slot holding `id`, or the empty slot where it would go.
  size_t Find(uint64_t id) const;
  void Grow();
  void CountChanged(uint32_t before, uint32_t after);

  std::unique_ptr<uint64_t[]> slots_;  // id << 16 | count; 0: empty
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  int shift_ = 64;
  uint64_t total_ = 0;
  uint64_t windows_ = 0;
  uint64_t novel_windows_ = 0;
  uint64_t overflow_ = 0;
  // count_of_counts_[j]: ids seen exactly j times, j <= kSequenceRareLimit.
  std::array<uint32_t, kSequenceRareLimit + 1> count_of_counts_{};
};

// The sequence baseline of one group: a table per feature.
struct SequenceBaseline {
  std::array<SequenceTable, kSequenceFeatures> tables;

  void Merge(const SequenceBaseline& other, uint32_t max_grams) {
    for (int f = 0; f < kSequenceFeatures; ++f) tables[f].Merge(other.tables[f], max_grams);
  }
  void Reset() {
    for (SequenceTable& t : tables) t.Reset();
  }
  void Decay(const CountScaler& scaler) {
    for (int f = 0; f < kSequenceFeatures; ++f) tables[f].Decay(scaler.Part(static_cast<uint64_t>(f)));
  }
};

// "exec.sequence", "syscall.sequence".
std::string_view SequenceFeatureName(int feature);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_SEQUENCE_MODEL_H_
