// The mix model: two tests of what an entity window asks for, computed at
// the window's close from its value map (no per-event work), both against
// the group's learned windows:
//
//   mix:      the window's distribution of routes (request.subject), API
//             actions (api.subject) or destinations (connect.subject)
//             against the group's learned frequencies (the categorical
//             tables; no second copy). A shift in what is asked is caught
//             even when the rate is normal: an entity whose requests move
//             to a rarely used admin route.
//   distinct: how many distinct *known* values a window shows (routes,
//             clients, actions, callers, destinations): a sweep over
//             values that are each unremarkable but never seen together.
//             New values are the categorical model's (Good-Turing): they
//             are not counted here, so a scan of new destinations is not
//             scored twice.
//
// Mix statistic. The mix is about known values: new ones (and those past
// the window's cap that the group did not know) are the categorical
// model's and are left out, so a scan of new destinations is not scored
// twice. Values whose learned share is at least kMinCellShare (the
// kMaxCells largest) are cells of their own; every other known value falls
// into one "other" cell, so that the long tail of high-cardinality features
// (path ids, cloud addresses) is one cell whose share is stable. The learned
// share of that cell is the table's mass outside the cells less its
// Good-Turing mass of unseen values (the singletons: the fresh ids of a
// long tail recur as new values, not as known ones). The divergence is the
// Hellinger distance H between the window's and the learned cell shares,
// reported as S = 8 n H^2 for a window of n known events: bounded per
// event, defined when a learned cell is empty, and close to a chi-square
// with cells - 1 degrees of freedom for multinomial windows. Windows are not
// multinomial (bursty, overdispersed), so no reference distribution is
// assumed: S is calibrated against the same statistic of the group's
// learned windows.
//
// Calibration. Per group and feature, the learned values of S (and of the
// distinct count) are kept in log-spaced bins (8 per doubling), stratified
// by the window's events (log2: 1, 2-3, 4-7, ..., 2048+), since both
// statistics depend on the window's size. A window is scored by rank among
// the learned windows of its stratum (mid-rank within a bin, half a window
// of prior), once the stratum has kMinWindows. A stratum with fewer is
// scored against the nearest larger stratum that has enough (conservative:
// both statistics grow with size), and a window larger than every stratum
// learned is not tested (the count model judges the size). Past the largest
// value learned, ranks alone cannot go below 1/N: the tail is extrapolated
// exponentially, with the scale (max - median) / ln(N / 2) that an
// exponential tail above the median would give the learned maximum (heavy
// learned tails get a long scale, so a bursty feature stays quiet).
//
// The cells are a snapshot of the categorical table taken once per round of
// window closes (the engine's window index): building them costs a pass
// over the table, which must not happen per entity. The engine invalidates
// them whenever it learns outside a round's closes (held windows, merge),
// so that a restored engine, which rebuilds them, scores as the original.

#ifndef TIMESCAN_LIB_MODELS_MIX_MODEL_H_
#define TIMESCAN_LIB_MODELS_MIX_MODEL_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "models/categorical_model.h"
#include "models/decay.h"
#include "timescan/event.h"

namespace timescan::internal {

// Features are indexed as in engine/window.h: 2 * kind + field.
constexpr int MixFeature(Kind kind, int field) { return 2 * static_cast<int>(kind) + field; }

// The features of the mix test: request, api and connect subjects.
inline constexpr int kMixFeatureCount = 3;
inline constexpr std::array<int, kMixFeatureCount> kMixFeatureOf = {
    MixFeature(Kind::kRequest, 0), MixFeature(Kind::kApi, 0), MixFeature(Kind::kConnect, 0)};

// The features of the distinct test: the mix's subjects, and the actors
// of requests (clients) and API calls (callers).
inline constexpr int kDistinctFeatureCount = 5;
inline constexpr std::array<int, kDistinctFeatureCount> kDistinctFeatureOf = {
    MixFeature(Kind::kRequest, 0), MixFeature(Kind::kApi, 0), MixFeature(Kind::kConnect, 0),
    MixFeature(Kind::kRequest, 1), MixFeature(Kind::kApi, 1)};

namespace mix_internal {
inline constexpr int kFeatures = 2 * kKindCount;
// Slot per feature, -1 for none: a table, since the engine asks per value.
template <size_t N>
constexpr std::array<int8_t, kFeatures> SlotTable(const std::array<int, N>& features) {
  std::array<int8_t, kFeatures> table{};
  for (int8_t& t : table) t = -1;
  for (size_t s = 0; s < N; ++s) table[static_cast<size_t>(features[s])] = static_cast<int8_t>(s);
  return table;
}
inline constexpr std::array<int8_t, kFeatures> kMixSlots = SlotTable(kMixFeatureOf);
inline constexpr std::array<int8_t, kFeatures> kDistinctSlots = SlotTable(kDistinctFeatureOf);
}  // namespace mix_internal

// The slot of `feature` in the mix (distinct) arrays, or -1.
inline int MixSlot(int feature) {
  return static_cast<unsigned>(feature) < mix_internal::kFeatures
             ? mix_internal::kMixSlots[static_cast<size_t>(feature)]
             : -1;
}
inline int DistinctSlot(int feature) {
  return static_cast<unsigned>(feature) < mix_internal::kFeatures
             ? mix_internal::kDistinctSlots[static_cast<size_t>(feature)]
             : -1;
}

// Values with a mix cell of their own, at most (the largest).
inline constexpr size_t kMaxMixCells = 32;

// The learned distribution of a non-negative window statistic, stratified
// by the window's events. Sparse: only the (stratum, bin) cells that hold
// windows are stored, so a group pays for the sizes and values it shows.
class StratifiedTail {
 public:
  static constexpr int kStrata = 12;  // log2 of the events: 1, 2-3, ..., 2048+
  static constexpr int kBinsPerDoubling = 8;
  static constexpr int kBins = 256;  // of log2(1 + x): up to 2^32

  struct Cell {
    uint16_t key;    // stratum * kBins + bin, ascending
    uint32_t count;  // windows
  };

  // REQUIRES: events > 0.
  static int StratumOf(uint32_t events);
  static int BinOf(double x);
  // The lower edge of `bin`.
  static double BinFloor(int bin);

  // Learns one window's statistic `x`.
  void Add(int stratum, double x);

  // The windows learned in `stratum`.
  uint64_t Windows(int stratum) const;

  // The stratum a window of `events` events is scored in: its own if it
  // holds `min_windows`, else the nearest larger one that does; -1: none.
  int StratumFor(uint32_t events, uint64_t min_windows) const;

  // The upper-tail p-value of `x` among the windows of `stratum` (see the
  // file comment); 1 when the stratum is empty.
  double UpperTail(int stratum, double x) const;

  // StratumFor and UpperTail in one pass over the stratum (the usual case).
  struct Ranked {
    double p_value;
    int stratum;  // -1: untested (p 1)
  };
  Ranked Score(uint32_t events, double x, uint64_t min_windows) const;

  // The bin below whose upper edge a share `q` of the stratum's windows
  // lie; -1 when the stratum is empty.
  int QuantileBin(int stratum, double q) const;

  // Adds the windows `other` learned: exact (counts add).
  void Merge(const StratifiedTail& other);

  // Every cell's windows weigh `scaler.factor()` as much, rounded without
  // bias (models/decay.h); cells left empty are dropped, so that keys stay
  // ascending with counts above 0.
  void Decay(const CountScaler& scaler);

  const std::vector<Cell>& cells() const { return cells_; }
  // Replaces the cells; false (nothing changed) unless keys ascend, lie
  // below kStrata * kBins and counts are positive.
  bool Restore(std::vector<Cell> cells);

 private:
  // The p-value of `x` among the stratum's `n` windows, `above` of them in
  // higher bins and `at` in its own.
  double TailFromRanks(int stratum, double x, uint64_t n, uint64_t above, uint64_t at) const;
  // The cells of `stratum`: [first, last).
  std::pair<size_t, size_t> Range(int stratum) const;

  std::vector<Cell> cells_;
};

// The cells of one mix feature: the values with their own cell and the
// learned events, as the categorical table held them when built.
struct MixCells {
  int64_t round = -1;  // the round they were built in; -1: stale
  // A value learned fewer times than this has no cell (counts only grow, so
  // a count below it now was below it when the cells were built).
  uint32_t min_count = UINT32_MAX;
  // The learned events of known values the shares are of: the cells'
  // events and the other cell's (less the unseen mass).
  double known_events = 0;
  std::vector<std::pair<Symbol, uint32_t>> major;  // ascending symbol
  double other_share = 0;  // learned share of the other known values

  // Whether a window's mix can differ from the learned one other than by
  // new values: at least two cells with learned events.
  bool Testable() const {
    return major.size() >= 2 || (major.size() == 1 && other_share > 0);
  }
  // The learned count of `value` if it has a cell of its own, else -1.
  int64_t CellCount(Symbol value) const;
};

// What one window shows for the mix model, per slot.
struct MixWindowStats {
  std::array<uint32_t, kMixFeatureCount> mix_events{};  // known events; 0: untested
  std::array<double, kMixFeatureCount> mix_statistic{};  // S = 8 n H^2
  std::array<uint32_t, kDistinctFeatureCount> events{};    // events of the feature
  std::array<uint32_t, kDistinctFeatureCount> distinct{};  // distinct known values
};

// Gathers one window's values into MixWindowStats. Reused: Reset keeps the
// memory.
class MixWindowBuilder {
 public:
  // Starts a window scored against `cells` (per mix slot).
  void Reset(const std::array<const MixCells*, kMixFeatureCount>& cells);
  // Records `n` events of `value` of `feature`; `known`: the group knew it
  // (only known values enter the mix); `learned`: its learned count if
  // at hand (it spares most values the search of the cells).
  void Observe(int feature, Symbol value, uint32_t n, bool known, uint32_t learned = UINT32_MAX) {
    if (const int d = DistinctSlot(feature); d >= 0) {
      stats_.events[static_cast<size_t>(d)] += n;
      stats_.distinct[static_cast<size_t>(d)] += known ? 1 : 0;
    }
    const int m = MixSlot(feature);
    if (!known || m < 0 || cells_[static_cast<size_t>(m)] == nullptr) return;
    if (learned < cells_[static_cast<size_t>(m)]->min_count) {
      other_[static_cast<size_t>(m)] += n;
      return;
    }
    ObserveInCells(static_cast<size_t>(m), value, n);
  }
  // Records events past the window's value cap: `events`, of which
  // `new_events` of values the group did not know. Each known one counts
  // as a distinct value (an upper bound, learned the same way).
  void Untracked(int feature, uint32_t events, uint32_t new_events);
  MixWindowStats Finish() const;

 private:
  void ObserveInCells(size_t m, Symbol value, uint32_t n);

  std::array<const MixCells*, kMixFeatureCount> cells_{};
  std::array<std::array<uint32_t, kMaxMixCells>, kMixFeatureCount> observed_{};
  std::array<uint32_t, kMixFeatureCount> other_{};
  MixWindowStats stats_;
};

// The mix model of one group.
class MixBaseline {
 public:
  // A value has its own cell from this learned share; at most kMaxCells
  // cells (the largest).
  static constexpr double kMinCellShare = 0.01;
  static constexpr size_t kMaxCells = kMaxMixCells;
  // A stratum is scored once it holds this many learned windows.
  static constexpr uint64_t kMinWindows = 100;

  // The cells of mix slot `slot` from `table`, built at the first call of
  // `round` and reused through it. Not thread-safe (the engine is not).
  const MixCells& Cells(int slot, const CategoricalTable& table, int64_t round) const;
  // Forgets the cells: the next call rebuilds them.
  void Invalidate() const {
    for (MixCells& c : cells_) c.round = -1;
  }

  // Learns one window.
  void Learn(const MixWindowStats& stats);

  // The p-value of mix slot `slot` for a window, and the stratum it was
  // judged in (-1 with p 1: untested).
  struct Score {
    double p_value = 1;
    int stratum = -1;
  };
  Score ScoreMix(int slot, const MixWindowStats& stats) const;
  Score ScoreDistinct(int slot, const MixWindowStats& stats) const;

  // Adds what `other` learned (exact); the cells are rebuilt.
  void Merge(const MixBaseline& other);

  // The learned windows weigh `scaler.factor()` as much
  // (EngineOptions::baseline_half_life); the cells are rebuilt, since the
  // categorical tables they come from decay with them (a count can now
  // fall below a cell's min_count).
  void Decay(const CountScaler& scaler);

  const StratifiedTail& mix(int slot) const { return mix_[static_cast<size_t>(slot)]; }
  const StratifiedTail& distinct(int slot) const { return distinct_[static_cast<size_t>(slot)]; }
  StratifiedTail& mutable_mix(int slot) { return mix_[static_cast<size_t>(slot)]; }
  StratifiedTail& mutable_distinct(int slot) { return distinct_[static_cast<size_t>(slot)]; }

 private:
  std::array<StratifiedTail, kMixFeatureCount> mix_;
  std::array<StratifiedTail, kDistinctFeatureCount> distinct_;
  mutable std::array<MixCells, kMixFeatureCount> cells_;
};

// One value's share in a window against its learned share, for reasons.
struct MixShare {
  Symbol value = kNoSymbol;
  double observed = 0;  // share of the window's events
  double expected = 0;  // learned share (0: new)
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_MIX_MODEL_H_
