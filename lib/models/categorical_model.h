// The categorical model: what values a feature (the subject or actor of one
// kind) takes in a group, and how surprising a window's values are.
//
// Novelty is judged against the feature's own learned novelty rate: the
// share of the group's windows that brought a value new to the group, shrunk
// towards the same feature's rate in the fleet's other groups (empirical
// Bayes; they weigh as much as their windows, at most kFleetPriorWindows). Features
// that keep showing new values (path ids in routes, the many addresses of a
// cloud service) learn a high rate and a new value there is unsurprising; a
// feature that never showed one after warm-up, here or anywhere in the fleet
// (executables), learns a rate near zero and a new value is very surprising. Beyond the first new value, further new values in
// the same window are Poisson with the Good-Turing rate of unseen mass per
// event, (f1 + 0.5) / (N + 1): a sweep over many new destinations scores even
// where single new values are common. Rare known values are scored by the
// share of events whose value is as rare or rarer.
//
// Lifecycle phase (EngineOptions::lifecycle_phase): a group keeps a second
// table per feature for its entities' start-up windows. A start-up window's
// known values are each judged in the table where they are more typical,
// and its new values (unknown to both) by the start-up novelty rate, shrunk
// towards the steady rate with the weight of kStartupPriorWindows windows.

#ifndef TIMESCAN_LIB_MODELS_CATEGORICAL_MODEL_H_
#define TIMESCAN_LIB_MODELS_CATEGORICAL_MODEL_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "models/decay.h"
#include "models/symbol_count_map.h"
#include "timescan/event.h"

namespace timescan::internal {

// The weight, in windows, of the fleet's novelty rate in a group's rate.
inline constexpr double kFleetPriorWindows = 1440;

// Values seen at most this often are "rare" and tracked by count-of-counts.
inline constexpr uint32_t kRareCountLimit = 64;

// The weight, in windows, of a group's steady novelty rate in its start-up
// novelty rate: entities start rarely (two start-up windows each), so the
// start-up rate stands on its own only after about 50 starts.
inline constexpr double kStartupPriorWindows = 100;

// What one entity window showed for one feature.
struct FeatureObservation {
  uint32_t events = 0;          // events carrying the feature
  uint32_t distinct_known = 0;  // distinct values the table knows
  uint32_t new_values = 0;      // distinct values the table does not know
  // Up to four new values, lowest symbol (first interned) first.
  std::array<Symbol, 4> new_examples{};
  uint32_t rarest_count = UINT32_MAX;  // lowest learned count among known values
  Symbol rarest = kNoSymbol;           // its value (lowest symbol on ties)

  // Records a value seen `n` times in the window with learned count `learned`.
  // Inline: a window's every value passes here, nearly all of them known.
  void Observe(Symbol value, uint32_t n, uint32_t learned) {
    events += n;
    if (learned == 0) {
      ObserveNew(value);
      return;
    }
    ++distinct_known;
    if (learned < rarest_count || (learned == rarest_count && value < rarest)) {
      rarest_count = learned;
      rarest = value;
    }
  }

  // Start-up windows: known values judged against the start-up table.
  uint32_t startup_known = 0;                  // distinct such values
  uint32_t startup_rarest_count = UINT32_MAX;  // lowest start-up count among them
  Symbol startup_rarest = kNoSymbol;           // its value (lowest symbol on ties)

  // Records a value of a start-up window seen `n` times in it, which the
  // start-up table knows with count `learned` (>= 1).
  void ObserveStartup(Symbol value, uint32_t n, uint32_t learned);

 private:
  void ObserveNew(Symbol value);
};

// The p-value of one feature's window and which part gave it.
struct FeatureScore {
  double p_value = 1;
  bool novelty = false;     // true: new values; false: a rare known value
  double window_rate = 0;   // the novelty rate per window it was judged by
  // Not novelty: the rarest value was judged against the start-up table.
  bool startup = false;
};

// The learned distribution of one feature in one group.
class CategoricalTable {
 public:
  // Returns how often `value` was learned; 0 if unknown.
  uint32_t Count(Symbol value) const {
    const uint32_t* count = counts_.Find(value);
    return count == nullptr ? 0 : *count;
  }

  // Returns the learned count's storage for `value`, or nullptr if unknown.
  // Valid until the next Add of a new value.
  uint32_t* FindCount(Symbol value) {
    return counts_.Find(value);
  }

  // Brings the slot where `value` would be towards the cache: a window's
  // values are looked up in a row, and each lookup would otherwise wait
  // for its own cache miss.
  void Prefetch(Symbol value) const { counts_.Prefetch(value); }

  // Learns `n` more events of a value through its count's storage
  // (FindCount's pointer: one hash probe per value per window instead of
  // two; Add uses it too, with a count that may be 0).
  void AddKnown(uint32_t* count, uint32_t n) {
    total_ += n;
    const uint32_t before = *count;
    const uint32_t after = before > UINT32_MAX - n ? UINT32_MAX : before + n;
    *count = after;
    if (before >= 1 && before <= kRareCountLimit) --count_of_counts_[before];
    if (after <= kRareCountLimit) ++count_of_counts_[after];
  }

  // Learns `n` events of `value`. A new value beyond `max_values` distinct
  // values is not remembered and is counted in overflow(). Returns whether
  // the value was new to the table.
  bool Add(Symbol value, uint32_t n, uint32_t max_values);

  // Learns `n` events of values that were not tracked (the window's value
  // cap was reached): they count as new and are not remembered.
  void AddUntracked(uint32_t n) {
    total_ += n;
    overflow_ += n;
  }

  // Learns that a window with events of this feature did (or did not) bring
  // new values: the exposure of the windowed novelty rate.
  void AddWindow(bool had_new_values) {
    ++windows_;
    novel_windows_ += had_new_values ? 1 : 0;
  }

  // The probability that a window brings at least one new value:
  // (novel + w * prior_rate) / (windows + w), with w = prior_windows.
  double WindowNoveltyRate(double prior_rate, double prior_windows) const;

  // The Good-Turing probability that the next event's value is new.
  double EventNoveltyRate() const;

  // The share of learned events whose value was seen at most `count` times.
  double RareMass(uint32_t count) const;

  // Scores a window's observation of this feature against the novelty rate
  // shrunk towards `prior_rate` (see WindowNoveltyRate). For a start-up
  // window, `startup` is the group's start-up table: new values come at its
  // novelty rate (shrunk towards this table's by kStartupPriorWindows), and
  // the observation's start-up part is judged by its rare mass.
  FeatureScore Score(const FeatureObservation& observation, double prior_rate,
                     double prior_windows, const CategoricalTable* startup = nullptr) const;

  // Adds what `other` learned. `translate` maps other's symbols to this
  // table's; values new to this table are added in ascending order of their
  // translated symbols until `max_values` distinct values, the rest counted
  // as overflow. Novelty exposure (windows, novel windows) adds.
  // Counts weigh `scaler.factor()` as much, but a value stays known (its
  // count never falls below 1): forgetting how often, never that it was
  // seen. Exposure (windows, novel windows) decays alike, so the novelty
  // rate follows recent windows.
  void Decay(const CountScaler& scaler);

  void Merge(const CategoricalTable& other, absl::FunctionRef<Symbol(Symbol)> translate,
             uint32_t max_values);

  // Calls fn(value, count) for every remembered value, in hash order: the
  // caller must not let the order reach its output.
  template <typename Fn>
  void ForEachValue(Fn&& fn) const {
    counts_.ForEach([&](Symbol value, uint32_t count) { fn(value, count); });
  }

  // The `k` most frequent values, ties by symbol.
  std::vector<std::pair<Symbol, uint32_t>> Top(size_t k) const;

  uint64_t total() const { return total_; }
  size_t distinct() const { return counts_.size(); }
  uint64_t windows() const { return windows_; }
  uint64_t novel_windows() const { return novel_windows_; }
  uint64_t overflow() const { return overflow_; }
  size_t MemoryBytes() const {
    return sizeof(*this) + counts_.capacity() * (sizeof(Symbol) + sizeof(uint32_t));
  }

 private:
  friend class SnapshotCodec;

  SymbolCountMap counts_;
  uint64_t total_ = 0;
  // count_of_counts_[j]: values seen exactly j times, j <= kRareCountLimit.
  std::array<uint32_t, kRareCountLimit + 1> count_of_counts_{};
  uint64_t windows_ = 0;
  uint64_t novel_windows_ = 0;
  uint64_t overflow_ = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_CATEGORICAL_MODEL_H_
