// The engine's implementation; see timescan/engine.h for the contract.

#ifndef TIMESCAN_LIB_ENGINE_ENGINE_IMPL_H_
#define TIMESCAN_LIB_ENGINE_ENGINE_IMPL_H_

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "engine/window.h"
#include "engine/window_ring.h"
#include "models/categorical_model.h"
#include "models/count_model.h"
#include "models/evidence_model.h"
#include "models/group_consensus.h"
#include "models/metric_model.h"
#include "models/sequence_model.h"
#include "models/multivariate_model.h"
#include "models/mix_model.h"
#include "models/value_model.h"
#include "readers/native_jsonl.h"
#include "timescan/engine.h"

namespace timescan::internal {

// No mode set (EntityState::mode, GroupState::mode).
inline constexpr uint8_t kNoMode = 0xff;

// Levels of EngineOptions::coarse_windows.
inline constexpr int kCoarseLevels = 2;

// An entity's event counts per kind over one coarse window of a level
// (EngineOptions::coarse_windows), added at each engine window's close.
struct CoarseAccumulator {
  int64_t index = -1;  // the coarse window (engine window / multiple); -1: none
  // Whether the entity lived through it from its start, past its start-up
  // windows, and none of its windows was a finding: only such a coarse
  // window is scored (a finding already reported its part) and learned.
  bool full = false;
  // Whether one of its windows was kept out of the baselines by
  // accumulated evidence: then it is scored but not learned.
  bool quarantined = false;
  std::array<uint32_t, kKindCount> counts{};
};

// The coarse windows that the window of a finding held for group consensus
// completed: learned with that window if consensus replaces the finding.
struct HeldCoarse {
  Symbol entity = kNoSymbol;
  int64_t window = 0;
  unsigned levels = 0;  // bit l: counts[l] holds level l's coarse window
  std::array<std::array<uint32_t, kKindCount>, kCoarseLevels> counts{};
};

// The baseline of one group (or of the whole fleet).
struct GroupState {
  Symbol name = kNoSymbol;
  bool is_entity = false;           // an ungrouped entity, its own group
  bool new_after_learning = false;  // first seen after the learning period
  bool new_group_reported = false;
  uint8_t mode = kNoMode;           // a Mode set for the group, or kNoMode
  int64_t first_window = 0;
  int64_t decayed_at = 0;  // window of the last baseline_half_life step
  uint64_t learned_windows = 0;
  std::array<CategoricalTable, kFeatureCount> tables;
  // The values of its entities' start-up windows (the count model's
  // start-up ages), kept apart from `tables` (EngineOptions::lifecycle_phase).
  std::array<CategoricalTable, kFeatureCount> startup_tables;
  CountBaseline counts;
  // Per level of EngineOptions::coarse_windows, the counts of coarse
  // windows (learned at a steady-state age: coarse windows of start-up
  // are not learned). Null until a coarse window is learned: with coarse
  // windows off, as by default, a group saves their 12 KB (an entity
  // without a group is a group of its own).
  std::unique_ptr<std::array<CountBaseline, kCoarseLevels>> coarse;
  std::vector<HeldCoarse> held_coarse;  // of its entities' findings in held_
  ValueBaseline values;
  DistributionBaseline distributions;
  SequenceBaseline sequences;
  MultivariateBaseline multivariate;
  MixBaseline mix;
  GroupConsensus consensus;  // what its replicas showed recently
};

// The n-grams of one entity window past the per-window cap: counted, and
// checked for novelty one by one.
struct SequenceUntracked {
  int64_t window = -1;
  std::array<uint32_t, kSequenceFeatures> grams{};
  std::array<uint32_t, kSequenceFeatures> fresh{};  // of those, unknown to the group
};

// What a held window needs to be learned later: the accumulator's content,
// its value map as (key, events) pairs in the map's order.
struct HeldWindow {
  std::vector<std::pair<uint64_t, uint32_t>> values;
  std::array<uint32_t, kKindCount> counts{};
  std::array<ValueObservation, kKindCount> value_obs{};
  std::array<WindowSample, kDistributionKinds> samples{};
  std::array<uint32_t, kFeatureCount> untracked_events{};
  std::array<uint32_t, kFeatureCount> untracked_new{};
  SequenceUntracked sequence_untracked;
  int hour = 0;
  int64_t age = 0;
};

// A finding of an entity in a group, held at most consensus_wait_windows
// windows for the group's other replicas to show the same behaviours.
struct HeldFinding {
  // One test of the window: its p-value and the behaviours it is about
  // (keys[first, first + count)); count 0: no replica can share it.
  struct HeldTest {
    double p_value;
    uint32_t first;
    uint32_t count;
    int reason;  // index into finding.reasons, or -1
  };
  Finding finding;
  uint32_t group = 0;
  Symbol entity = kNoSymbol;
  int64_t window = 0;
  std::vector<HeldTest> tests;
  std::vector<uint64_t> keys;
  HeldWindow learn;
};

// One metric (kind metric, one subject) of an entity: the samples of its open
// windows and its model.
struct MetricSeries {
  struct OpenWindow {
    int64_t window = -1;
    MetricObservation observation;
  };
  Symbol subject = kNoSymbol;
  WindowRing<OpenWindow> ring;  // as many slots as the entity's ring
  MetricModel model;
};

// The metrics of an entity, allocated at its first metric sample: entities
// without metrics pay one pointer.
struct EntityMetrics {
  // Metrics per entity past this are counted in `dropped` and not modelled.
  static constexpr size_t kMaxSeries = 16;
  std::vector<MetricSeries> series;
  uint64_t dropped = 0;
};

// The sequence state of an entity beyond its exec history, allocated at its
// first syscall with a process or its first n-gram worth explaining:
// entities without either pay one pointer.
struct EntitySequences {
  // Processes followed per entity; the least recently active is evicted
  // (and counted) to make room for a new one.
  static constexpr size_t kMaxProcesses = 16;
  // N-grams remembered per window and feature, with their subjects, to
  // explain a finding: the first new or rare ones of the window.
  static constexpr size_t kMaxExamples = 4;

  struct Process {
    Symbol actor = kNoSymbol;
    uint64_t last_use = 0;  // `clock` at its latest syscall
    std::array<Symbol, kMaxSequenceLength - 1> history{};  // kNoSymbol: start
  };
  struct Example {
    int64_t window = -1;
    uint64_t key = 0;  // SequenceKey
    std::array<Symbol, kMaxSequenceLength> subjects{};
  };
  std::vector<Process> processes;
  uint64_t clock = 0;
  uint64_t evicted = 0;
  std::vector<Example> examples;          // of open windows, in arrival order
  std::vector<SequenceUntracked> untracked;  // of open windows past the cap

  // Returns the untracked n-grams of `window`, or nullptr.
  const SequenceUntracked* UntrackedOf(int64_t window) const {
    for (const SequenceUntracked& u : untracked) {
      if (u.window == window) return &u;
    }
    return nullptr;
  }
};

struct EntityState {
  // Every event updates it and reads the ring: both in the record's first
  // cache line, the one the hot path prefetches.
  int64_t last_event_window = 0;
  // Open windows (RingSize() of them while live, none once retired).
  WindowRing<WindowAccumulator> ring;
  // The ring slot of `window`. REQUIRES: the ring is not empty (live).
  WindowAccumulator& Slot(int64_t window) { return ring.Slot(window); }
  const WindowAccumulator& Slot(int64_t window) const { return ring.Slot(window); }
  Symbol name = kNoSymbol;
  uint32_t group = 0;       // index into groups_
  int64_t first_window = 0;
  uint64_t sequence = 0;    // creation order: the order of callbacks
  bool live = false;
  uint8_t mode = kNoMode;  // a Mode set for the entity, or kNoMode
  // Empty windows since the last event: learned as zero counts once the
  // entity shows life again, forgotten if it retires (it was probably gone).
  uint32_t pending_empty = 0;
  // The previous window's counts, scored for drops once this window shows
  // the entity was alive after it.
  int64_t previous_window = -1;
  std::array<uint32_t, kKindCount> previous_counts{};
  // The last sequence_length - 1 exec subjects, oldest first; kNoSymbol is
  // the start marker.
  std::array<Symbol, kMaxSequenceLength - 1> exec_history{};
  std::unique_ptr<EntityMetrics> metrics;  // null until a metric sample
  // Accumulated evidence per test, by test key (empty while nothing
  // accumulates: no allocation for a quiet entity).
  std::vector<EvidenceTrack> evidence;
  std::unique_ptr<EntitySequences> sequences;  // null until needed (see there)
  // Per level of EngineOptions::coarse_windows, the open coarse window.
  std::array<CoarseAccumulator, kCoarseLevels> coarse{};
};

// Event times past this (early 2260) are invalid: window ends and the end of
// a 366-day learning period must stay inside int64 nanoseconds.
inline constexpr int64_t kLatestTimeNs =
    std::numeric_limits<int64_t>::max() - 2 * 366 * 86'400'000'000'000LL;

// Group keys: a group's symbol, or this bit with the symbol of an ungrouped
// entity (its own group).
inline constexpr uint64_t kEntityGroupBit = uint64_t{1} << 32;

// Returns kInvalidArgument naming the first option out of range.
absl::Status ValidateEngineOptions(const EngineOptions& options);

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(const EngineOptions& options);

  SymbolTable& symbols() override { return symbols_; }
  const SymbolTable& symbols() const override { return symbols_; }
  void Ingest(const Event& event) override;
  void Ingest(absl::Span<const Event> events) override;
  absl::Status IngestJsonl(std::string_view line) override;
  void AdvanceTo(int64_t time_ns) override;
  void Flush() override;
  void SetFindingCallback(FindingCallback callback) override { on_finding_ = std::move(callback); }
  void SetWindowScoreCallback(WindowScoreCallback callback) override {
    on_window_ = std::move(callback);
  }
  EngineStats stats() const override;
  double threshold() const override { return threshold_; }
  const EngineOptions& options() const override { return options_; }
  absl::StatusOr<CountExpectation> ExpectedCount(std::string_view group, Kind kind,
                                                 int hour_of_day) const override;
  absl::StatusOr<std::vector<KnownValue>> KnownValues(std::string_view group, Kind kind,
                                                      Field field, size_t limit) const override;
  absl::StatusOr<std::string> GroupOf(std::string_view entity) const override;
  std::vector<GroupSummary> Groups() const override;
  void EndLearning() override;
  void SetMode(Mode mode) override;
  absl::Status SetMode(std::string_view name, std::optional<Mode> mode) override;
  absl::StatusOr<Mode> ModeOf(std::string_view entity) const override;
  absl::StatusOr<std::string> Snapshot() const override;  // in snapshot.cc
  absl::Status Merge(const Engine& other) override;        // in merge.cc

 private:
  friend class SnapshotCodec;

  // Returns the group named `name` (an ungrouped entity's name works too),
  // or kNotFound.
  absl::StatusOr<const GroupState*> FindGroup(std::string_view name) const;
  // One test's outcome, kept until the window's score is known so that the
  // reasons are only written for findings.
  struct Test {
    // Values reach consensus behaviour keys: never renumber (8 is taken
    // by the rare-value key type).
    enum Type : uint8_t {
      kFeature = 0, kSpike = 1, kDrop = 2, kValue = 3, kErrors = 4, kNewGroup = 5, kMetric = 6,
      kTail = 9, kShift = 10, kSequence = 11, kMix = 12, kMultivariate = 13, kEvidence = 14,
      kDistinct = 15, kCoarseSpike = 16, kCoarseDrop = 17
    } type;
    // feature, kind, metric series, distribution slot, sequence feature,
    // multivariate dimension, evidence_ slot, (mix, distinct) feature slot,
    // or coarse level * kKindCount + kind
    int index;
    double p_value;
    FeatureScore feature_score;
    CountPrediction prediction;
    uint32_t observed;
  };

  int64_t WindowOf(int64_t time_ns) const { return time_ns / window_ns_; }
  // The mode set for the group, else the engine's, else learn while
  // `learning` and then what the options say.
  Mode GroupMode(uint32_t group, bool learning) const;
  // The mode of the entity's `window`: its own, else GroupMode.
  Mode ModeFor(const EntityState& entity, int64_t window) const;
  // The same for a held finding's entity, which may have retired since.
  Mode ModeForHeld(const HeldFinding& held) const;
  int HourOf(int64_t window) const {
    return static_cast<int>((window * window_ns_ / 3'600'000'000'000LL) % 24);
  }
  // Whether the window ends within the learning period (written so that
  // the last representable window cannot overflow).
  bool IsLearning(int64_t window) const {
    return window * window_ns_ <= learning_ends_ns_ - window_ns_;
  }
  // Open windows per entity: a power of two (the slot of a window is a
  // mask) holding the allowed lateness.
  size_t RingSize() const;
  uint32_t GroupFor(const Event& event);
  uint32_t CreateEntity(const Event& event, int64_t window);
  // Checks an event, moves the watermark (closing windows) and finds or
  // creates its entity. Returns false for an invalid or late event (counted).
  bool Admit(const Event& event, int64_t* window, uint32_t* slot);
  // Ingest's body, inlined into the batch loop too.
  void IngestOne(const Event& event);
  // Adds an admitted event to its entity's open window.
  void Accumulate(EntityState& entity, int64_t window, const Event& event);
  // The event time from which the watermark closes window next_close_
  // (no overflow: next_close_ is at most kLatestTimeNs / window + 1).
  int64_t CloseDueNs() const { return (next_close_ + 1) * window_ns_ + lateness_ns_; }
  // Inline: nearly every event moves the watermark, and few close windows.
  void MoveWatermark(int64_t time_ns) {
    max_time_ns_ = time_ns;
    // Window w = [w*W, (w+1)*W) closes once the watermark (time_ns minus
    // the lateness) reaches its end.
    if (time_ns >= CloseDueNs()) [[unlikely]] {
      CloseThrough((time_ns - lateness_ns_) / window_ns_ - 1);
    }
  }
  // Counts `n` events of `key`, a value the window's value map had no room
  // for: events past the cap, and of those the values the group never saw.
  ABSL_ATTRIBUTE_NOINLINE void CountUntracked(WindowAccumulator& acc, uint32_t group,
                                              uint64_t key, uint32_t n);
  // Moves the accumulator's buffered values into its value map.
  // `counter_in_cache`: the map is (the engine's scratch map at a close),
  // so its slots are not prefetched.
  void FlushPending(WindowAccumulator& acc, uint32_t group, bool counter_in_cache);
  void CloseThrough(int64_t last_window);
  // Counts the window's buffered values, in close_values_ when that is
  // cheaper (see there), and closes it through ScoreAndLearnWindow.
  void CloseEntityWindow(EntityState& entity, int64_t window);
  void ScoreAndLearnWindow(EntityState& entity, int64_t window);
  // Adds the closed window's counts (nullptr: an empty window) to the
  // entity's coarse windows. Returns the levels (bit l for level l) whose
  // full coarse window this window completes, if it has events.
  unsigned AdvanceCoarse(EntityState& entity, int64_t window,
                         const std::array<uint32_t, kKindCount>* counts);
  // The UTC hour of the start of the coarse window of `level` that `window`
  // completes, and whether its baseline is by hour of day.
  int CoarseHourOf(int level, int64_t window) const {
    return HourOf(window + 1 - coarse_multiple_[level]);
  }
  bool CoarseSeasonal(int level) const;
  // Learns the counts of the coarse window of `level` that `window`
  // completes into `group`.
  void LearnCoarse(GroupState& group, int64_t window, int level,
                   const std::array<uint32_t, kKindCount>& counts);
  // Scores the entity's coarse windows of the levels in `done` against
  // `base` into tests_ and `fused_inputs`.
  void ScoreCoarse(const EntityState& entity, int64_t window, unsigned done,
                   const GroupState& base, double* fused_inputs, size_t* fused_count);
  // Returns "10m", "1h": the span of a coarse level, for reasons.
  std::string CoarseLabel(int level) const;
  // A value of a scored window and where the group keeps its count.
  struct ScoredValue {
    uint64_t key;
    uint32_t n;
    uint32_t* learned;  // nullptr: new to the group's steady state
    // A start-up window's value judged against the start-up table (not new).
    bool startup_known = false;
  };

  // `pooled`: the group's novelty also feeds the fleet-wide rates.
  // `scored`: the window's values as looked up in this group while scoring
  // (saves the second probe), or nullptr. `vector`: the window's
  // multivariate vector if already computed, or nullptr. `mix`: the
  // window's mix statistics as scored against this group, or nullptr.
  // Applies the baseline_half_life steps due by `window`.
  void DecayIfDue(GroupState& group, int64_t window);
  // `sequence_untracked`: the window's n-grams past the cap, or nullptr.
  void Learn(GroupState& group, const WindowAccumulator& acc, int hour, int64_t age,
             int64_t window, bool pooled, const SequenceUntracked* sequence_untracked,
             const std::vector<ScoredValue>* scored = nullptr,
             const MultivariateVector* vector = nullptr,
             const MixWindowStats* mix = nullptr);
  // The group whose baselines score the entity's windows: its own, or the
  // fleet's while a group new after learning has too few windows.
  const GroupState& ScoringGroup(const EntityState& entity) const;
  // Returns the fixed hash of a symbol's name (models/sequence_model.h),
  // cached per symbol.
  uint64_t NameHashOf(Symbol symbol);
  // Adds the n-gram an exec or syscall event completes to the window.
  void AddSequenceEvent(EntityState& entity, WindowAccumulator& acc, int64_t window,
                        const Event& event);
  // Scores the window's n-grams per sequence feature into tests_ (scratch:
  // sequence_observations_, sequence_scores_, sequence_new_ids_).
  void ScoreSequences(const EntityState& entity, const WindowAccumulator& acc, int64_t window,
                      const GroupState& base, double* fused_inputs, size_t* fused_count);
  // Forgets the entity's sequence examples and untracked n-grams of a
  // closed window.
  void ForgetSequenceWindow(EntityState& entity, int64_t window);
  // The window's mix statistics against `group`, where `scored` holds its
  // values as looked up.
  MixWindowStats WindowMix(const GroupState& group, const WindowAccumulator& acc,
                           const std::vector<ScoredValue>& scored);
  // Starts gathering a window's mix statistics against `group` (its cells
  // of this round), and ends it with the window's untracked events.
  void BeginMix(const GroupState& group);
  MixWindowStats FinishMix(const WindowAccumulator& acc);
  // What the reasons of a closed window's finding are drawn from, besides
  // the tests' own state (engine_reasons.cc).
  struct ClosedWindow {
    const EntityState& entity;
    const GroupState& own;
    const GroupState& base;  // the baseline it was scored against
    const WindowAccumulator& acc;
    const std::array<FeatureObservation, kFeatureCount>& observations;
    int64_t window;
    int hour;
    int64_t age;
  };
  // The reason of one test of the window just scored.
  Reason ExplainTest(const Test& test, const ClosedWindow& closed) const;
  // The reason of a mix or distinct test of the window just scored
  // against `base`.
  Reason ExplainMixTest(const Test& test, const GroupState& base) const;
  // Scores one feature of a window: the group's novelty rate is shrunk
  // towards the rate of the same feature in the other groups of the fleet,
  // weighted by their windows up to kFleetPriorWindows.
  // `startup`: the window is one of its entity's start-up windows (see
  // EngineOptions::lifecycle_phase).
  FeatureScore ScoreFeature(const GroupState& group, int feature,
                            const FeatureObservation& observation, bool startup) const;
  // Whether a window of entity age `age` is scored and learned as start-up.
  bool IsStartup(int64_t age) const {
    return options_.lifecycle_phase && age < CountBaseline::kStartupWindows;
  }
  // Appends the behaviours `test` is about to `*keys`; returns false when
  // no replica can share it (a new group, or too many or untracked values).
  // `observations` and scored_values_ are the window's, as scored.
  bool BehaviourKeys(const Test& test, const WindowAccumulator& acc,
                     const std::array<FeatureObservation, kFeatureCount>& observations,
                     std::vector<uint64_t>* keys) const;
  // Records the window's significant behaviours as sightings of its group.
  // For a finding (`held` not null, its finding's reasons written from
  // tests_ in order) also fills held's tests and keys, and returns whether
  // the finding may wait for consensus: false when its unshareable tests
  // alone reach the threshold.
  bool RecordBehaviours(const EntityState& entity, int64_t window, const WindowAccumulator& acc,
                        const std::array<FeatureObservation, kFeatureCount>& observations,
                        HeldFinding* held);
  // Records the behaviours of a finding's window and holds the finding for
  // consensus when `may_hold` and it can wait; else reports it. Returns
  // whether it was held.
  bool HoldOrReport(const EntityState& entity, int64_t window, const WindowAccumulator& acc,
                    const std::array<FeatureObservation, kFeatureCount>& observations,
                    bool may_hold, Finding finding);
  // Reports a finding (counts it, calls the callback).
  void Report(const Finding& finding);
  // Returns the window's vector for the multivariate model (computed at
  // close from what the accumulator holds: no per-event work).
  MultivariateVector WindowVector(const WindowAccumulator& acc) const;
  // The same, when the window's tracked subjects were counted already.
  MultivariateVector WindowVector(const WindowAccumulator& acc, uint32_t tracked_subjects) const;
  // Decides the held findings once window `now` has closed for every
  // entity: replaced by consensus (learned, and reported once at the group
  // level), or reported when their wait is over (or at `end_of_input`).
  void DecideHeld(int64_t now, bool end_of_input);
  // Learns the entity's pending empty windows (those before `window`).
  void LearnPendingEmpty(EntityState& entity, int64_t window);
  // Adds a metric event's sample to its series' open window.
  void AddMetricSample(EntityState& entity, int64_t window, const Event& event);
  // Closes the entity's metric windows: learns them unless `mode` is
  // frozen, and unless it is learn scores them into tests_ and
  // metric_scores_ and appends their p-values.
  void CloseMetrics(EntityState& entity, int64_t window, Mode mode, double* fused_inputs,
                    size_t* fused_count);
  void Retire(int64_t window);
  // Adds the window's tests (tests_) to the entity's accumulated evidence
  // and appends the levels worth reporting to tests_ and `fused_inputs`.
  // Returns whether one of them is strong enough to keep the window out of
  // the baselines.
  // Evidence about a behaviour its group reported as a consensus change is
  // not news: those tracks count as reported.
  bool AccumulateEvidence(EntityState& entity, int64_t window, double* fused_inputs,
                          size_t* fused_count);
  // "categorical", "api.actor": the model and feature of a test key, for
  // the reasons of accumulated evidence.
  std::pair<std::string, std::string> DescribeTest(const EntityState& entity, uint16_t key) const;

  const EngineOptions options_;
  const int64_t window_ns_;
  const int64_t lateness_ns_;
  const int64_t ttl_windows_;
  // The discovery burst at the start says nothing about novelty later on:
  // the first min(1 h, learning / 4) of the engine (for group arrivals) and
  // of each group (for its features) is not counted in novelty rates.
  const int64_t novelty_warmup_ns_;
  const int64_t novelty_warmup_windows_;
  const int64_t half_life_windows_;  // 0: no decay
  // EngineOptions::coarse_windows (0: the level is off).
  const std::array<int64_t, kCoarseLevels> coarse_multiple_;
  const int64_t decay_step_windows_;
  double threshold_ = 0;

  SymbolTable symbols_;
  NativeJsonDecoder json_decoder_;
  FindingCallback on_finding_;
  WindowScoreCallback on_window_;

  std::vector<std::unique_ptr<GroupState>> groups_;  // [0] is the fleet
  absl::flat_hash_map<uint64_t, uint32_t> group_index_;
  // Arrivals of entities and whether their group was new: the novelty rate
  // of groups, for the p-value of an unexpected workload.
  CategoricalTable group_arrivals_;
  std::array<uint64_t, kFeatureCount> pooled_windows_{};
  std::array<uint64_t, kFeatureCount> pooled_novel_{};
  // The same for the sequence features (not in snapshots: the sums over
  // the groups, recomputed at restore).
  std::array<uint64_t, kSequenceFeatures> pooled_sequence_windows_{};
  std::array<uint64_t, kSequenceFeatures> pooled_sequence_novel_{};
  // Name hashes of the subjects of exec and syscall events.
  absl::flat_hash_map<Symbol, uint64_t> name_hashes_;

  std::vector<EntityState> entities_;
  std::vector<uint32_t> free_entities_;
  std::vector<uint32_t> entity_slot_;  // by entity symbol; UINT32_MAX: none
  std::vector<uint32_t> live_;         // live entity slots in creation order
  uint64_t next_sequence_ = 0;

  uint8_t engine_mode_ = kNoMode;  // set by SetMode(Mode)
  bool started_ = false;
  int64_t first_time_ns_ = 0;
  int64_t learning_ends_ns_ = 0;
  int64_t max_time_ns_ = 0;
  int64_t next_close_ = 0;  // lowest window not closed yet
  int64_t last_window_ = -1;  // window of the previous event, and its start
  // Past every valid time until the first event, so that no time matches
  // it (with -1, times in [0, window) did and went to window -1, late).
  int64_t last_window_start_ns_ = kLatestTimeNs + 1;

  // Findings waiting for group consensus, in order of window then entity.
  std::vector<HeldFinding> held_;
  const int64_t consensus_memory_windows_;  // how long a reported behaviour stays reported
  // Whether the hot path records subjects and actors in the window's value
  // map (the categorical and mix models read it).
  const bool track_values_;
  WindowAccumulator consensus_scratch_;     // a held window rebuilt for Learn

  EngineStats stats_;
  std::vector<Test> tests_;  // scratch, reused
  std::vector<ScoredValue> scored_values_;  // scratch, reused
  // Scratch of CloseEntityWindow: the value map of the window being closed,
  // while its own is set aside. Always in cache, unlike 1,000 entities' maps.
  ValueCounter close_values_;
  std::vector<MetricScore> metric_scores_;  // scratch, by metric series
  std::array<DistributionScore, kDistributionKinds> distribution_scores_{};  // scratch, by slot
  // Scratch of ScoreSequences, by sequence feature.
  std::array<SequenceObservation, kSequenceFeatures> sequence_observations_{};
  std::array<SequenceScore, kSequenceFeatures> sequence_scores_{};
  std::array<std::vector<uint64_t>, kSequenceFeatures> sequence_new_ids_;  // window order
  std::array<uint32_t, kSequenceFeatures> sequence_untracked_new_{};
  MultivariateScore multivariate_score_;  // scratch, the window's
  MixWindowBuilder mix_builder_;  // scratch
  MixWindowStats mix_stats_;      // scratch: the window scored
  std::array<MixBaseline::Score, kMixFeatureCount> mix_scores_{};            // scratch, by slot
  std::array<MixBaseline::Score, kDistinctFeatureCount> distinct_scores_{};  // scratch, by slot
  MetricModelOptions metric_options_;
  const EvidenceAccumulator evidence_;
  std::vector<TestPValue> evidence_inputs_;          // scratch, the window's tests
  std::vector<AccumulatedEvidence> evidence_found_;  // scratch, by Test::index
  // The distribution model's value-to-bucket mapping, a member so that the
  // hot path reads it without a function-local static's guard.
  const LogIndexMapping value_mapping_{DistributionBaseline::kRelativeAccuracy};
  std::vector<std::pair<uint64_t, uint32_t>> sorted_values_;  // scratch
  std::vector<uint64_t> shared_keys_;        // scratch of RecordBehaviours
  std::vector<double> unshared_p_values_;    // scratch of RecordBehaviours
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_ENGINE_IMPL_H_
