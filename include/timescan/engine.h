// timescan/engine.h
//
// Provides the Engine: it learns what is normal for every entity over
// event-time windows and scores each closed window.
//
//   timescan::EngineOptions options;
//   options.window = absl::Minutes(1);
//   auto engine = timescan::Engine::Create(options);
//   if (!engine.ok()) return engine.status();
//   (*engine)->SetFindingCallback([](const timescan::Finding& f) { ... });
//   for (const std::string& line : lines) {
//     absl::Status s = (*engine)->IngestJsonl(line);  // counts and skips bad lines
//   }
//   (*engine)->Flush();
//
// Data flow: events are routed to their entity's open window; when the
// watermark (the highest event time seen minus the allowed lateness) passes a
// window's end, the window of every live entity closes, each model scores it
// against the entity's group baseline, the p-values are fused into one score
// (-log10 p), and windows at or over the threshold become findings.

#ifndef TIMESCAN_ENGINE_H_
#define TIMESCAN_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "timescan/event.h"
#include "timescan/finding.h"
#include "timescan/symbol_table.h"

namespace timescan {

// Every field has a documented default; Engine::Create validates them all.
struct EngineOptions {
  // Width of the tumbling windows, aligned to the unix epoch. Shorter windows
  // detect sooner but see fewer events each. Default 1 minute; 1s..1d.
  absl::Duration window = absl::Minutes(1);

  // Learning period, from the first event: windows ending inside it build the
  // baselines and are never scored. Default 24 hours (a full daily cycle);
  // 0 is allowed for an engine fed a baseline some other way.
  absl::Duration learning_period = absl::Hours(24);

  // How far behind the newest event time an event may arrive and still join
  // its window. Later events are counted in EngineStats::late_events and not
  // scored. Larger values delay every window close by as much. Default 5s.
  absl::Duration allowed_lateness = absl::Seconds(5);

  // An entity with no event for this long is retired: its empty windows stop
  // being scored and its memory is freed (churning fleets stay bounded). Its
  // group baseline stays. Default 1 hour.
  absl::Duration idle_ttl = absl::Hours(1);

  // The false-finding rate the threshold is derived from, for stationary
  // data and calibrated p-values: threshold = log10(windows per day / rate).
  // Default 0.1 per entity-day (one false finding per 10 entity-days), which
  // with 1-minute windows is a threshold of 4.16.
  double false_findings_per_entity_day = 0.1;

  // The score (-log10 p) at or over which a window becomes a finding; when
  // set, overrides false_findings_per_entity_day.
  std::optional<double> threshold;

  // Model switches, all on by default. Categorical: novelty and rarity of
  // subject and actor per kind and group. Count: events per kind per window,
  // spikes and drops, seasonal by hour of day.
  bool categorical_model = true;
  bool count_model = true;

  // Value model: per kind, the window's byte volume (connect, accept, file),
  // mean latency (request) and share of failures (HTTP 5xx, API errors),
  // scored by rank against the learned windows. Default on.
  bool value_model = true;

  // Value-distribution model: per group and kind, the values of single
  // events (request latency; bytes of connect, accept and file events) in
  // a quantile sketch (DDSketch, 1% relative accuracy), learned when the
  // other baselines learn. Per entity window, how many values lie above
  // the learned p99 (tail mass) and above the learned median (shift), each
  // a binomial upper-tail p-value against the learned share above it. A
  // kind is tested once its sketch holds 2,000 values. Catches a growing
  // tail or a shifted distribution whose window mean or volume stays
  // within learned levels. Default on.
  bool value_distribution = true;

  // Sequence model (STIDE, frequency-weighted): per group, the n-grams of
  // exec subjects of each entity (from its first exec, padded with a start
  // marker so that the start-up sequence is learned too) and of syscalls of
  // each process (the actor of syscall events; the 16 most recently active
  // processes per entity are followed, older ones evicted), learned when
  // the other baselines learn, at most max_values_per_feature distinct
  // n-grams per group and feature (later ones counted as overflow). Per
  // entity window, the new n-grams (first one at the group's novelty rate
  // per window, more at its rate per n-gram) and rare known ones (the share
  // of learned n-grams as rare) give a p-value per feature (exec.sequence,
  // syscall.sequence). Catches known programs run in an order never seen,
  // such as a service spawning a shell that runs id and then curl. Default on.
  bool sequence_model = true;

  // The n of the sequence model's n-grams: longer ones tell more orders
  // apart and take longer to learn (up to (distinct subjects)^n n-grams).
  // Default 3; 2..6.
  uint32_t sequence_length = 3;

  // Multivariate model: per group, the joint distribution of a vector per
  // entity window — log counts of each kind, log mean request latency, log
  // bytes of connect, accept and file, error counts of requests and API
  // calls, log distinct subjects — as a robust mean and covariance
  // (outlying windows weighted down, shrunk towards the diagonal). A
  // window's Mahalanobis distance is scored by rank among the learned
  // windows' distances, extrapolated past the largest; the reason names the
  // dimensions that contribute most and what they were expected to be given
  // the others. Catches a window whose every number is plausible but whose
  // mix is not (requests without their usual connects, many requests and
  // few bytes). Tested once a group learned 32 windows for its first
  // estimate and 200 more. Default on.
  bool multivariate_model = true;

  // Mix model: two tests per entity window, computed at its close from the
  // values the categorical tables count, each scored by rank against the
  // same statistic of the group's learned windows of similar size (log2 of
  // the events), once 100 such windows were learned:
  //  - mix: the shares of known routes (request), API actions (api) and
  //    destinations (connect) in the window against their learned shares
  //    (values under 1% pooled into one cell; new values are left to the
  //    categorical model), as a Hellinger divergence. Catches a shift in
  //    what is asked while the rate stays normal (requests moving to a
  //    rarely used admin route).
  //  - distinct: how many distinct known values of those subjects, and of
  //    request clients and API callers, the window shows. Catches a sweep
  //    over values that are each common but never seen together (an
  //    enumeration of API actions).
  // Tracks the window's values even when categorical_model is off.
  // Default off: it costs more than every other model together at window
  // close (on the simulated fleet the engine ran at about half the rate
  // with it), which the default model set cannot afford against its
  // throughput targets until its per-window work is cut.
  bool mix_model = false;

  // Metric model: per entity and metric name (events of kind metric), a
  // streaming model of the window's mean sample: level and a seasonal
  // profile (period detected by autocorrelation over the first windows, or
  // metric_season, with a spread per phase of the season), scored for
  // spikes, level shifts and drifts, runs of unusual windows, a growing
  // spread, a level far from its long- or medium-run level, and new
  // records, each by rank against the series' own history, and for a value
  // stuck longer than any earlier run (a stalled exporter, a silent
  // writer). Its baselines keep adapting after learning (with clipped
  // residuals, so one window cannot teach much) unless
  // learn_after_learning_period is false. Default on.
  bool metric_model = true;

  // The seasonal period of every metric; zero detects each series' own
  // period (up to 1024 windows, from the first 2048) or none. When set: a
  // multiple of the window up to 7 days; profiles longer than 512 windows
  // share a bin between neighbouring windows. Default 0 (detect).
  absl::Duration metric_season = absl::ZeroDuration();

  // Evidence that accumulates: per entity and test (a feature's novelty, a
  // kind's count, a value...; not metrics, whose model scores runs against
  // the series' own history, nor the multivariate distance, whose counts
  // follow the load through the day), a CUSUM of the window p-values,
  // S <- max(0, S - ln p - k) with k = -ln(evidence_drift_p), so that a weak
  // signal repeated over many windows (a foreign principal calling once a
  // minute, a service half silent for half an hour) becomes a finding. Once
  // a level rests on two windows or more, its exact tail probability under
  // the null (S is a D/M/1 waiting time) joins the window's tests. A level
  // at p <= 0.01 keeps its windows out of the baselines, so a slow attacker
  // cannot teach them, until a finding has reported it (a lasting change
  // is one finding, then learned). Default on.
  bool accumulate_evidence = true;

  // The window p-value below which a test adds to its accumulated evidence
  // (and above which the evidence fades). Default 0.05; (0, 0.3].
  double evidence_drift_p = 0.05;

  // Baselines follow drift: every learned count of a group (windows behind
  // its count rates, value histograms and sketches, how often each value
  // and each n-gram was seen, novelty exposure, the learned windows behind
  // the mix and distinct ranks, the multivariate model's weighted sums and
  // learned distances) loses half its weight per half-life, in steps of a
  // quarter half-life as the group learns. A value or n-gram once seen
  // stays known. Metric models adapt on their own. Zero: baselines weigh
  // every learned window alike. Default 0; else 4 windows..366d.
  absl::Duration baseline_half_life = absl::ZeroDuration();

  // Lifecycle phase of categorical values: the subjects and actors of an
  // entity's first two windows (its start-up, as the count model's start-up
  // baseline counts it: boot executables, migrations, warm-up connects) are
  // learned in start-up tables of the group, apart from its steady state.
  // A start-up window is judged against both: a value common at start-up
  // is not rare there, however rare it is in steady state. A steady-state
  // window is judged against the steady state alone: a value seen only at
  // start-up (an entrypoint or a migration tool run again hours later) is
  // new there, and its reason says "seen only at start-up". false: every
  // window learns into one table per feature. Default on (snapshots written
  // before the option load with it off).
  bool lifecycle_phase = true;

  // Multi-resolution counts: per entity, the events of each kind summed over
  // coarse windows of this many engine windows, aligned to the epoch (10
  // and 60 give 10 minutes and 1 hour at the default 1-minute window).
  // When a coarse window closes (at the close of its last engine window,
  // if that window has events: as for a drop, an entity removed meanwhile
  // is no news), its counts are scored for spikes and drops against the
  // group's baseline of coarse counts, with the count model's machinery
  // (negative binomial tails; by UTC hour of day for spans up to an hour),
  // and the p-values join that engine window's fused tests; the reason's
  // feature names the resolution ("count.request@1h"). Catches a sustained
  // modest change no single window shows: a rate 1.5 times higher, or 40%
  // lower, for an hour. An entity is scored at a resolution only for
  // coarse windows it lived through entirely, past its start-up windows,
  // once the baseline holds 8 coarse windows; one that holds a finding is
  // neither scored again (the finding reported its part) nor learned.
  // Coarse windows learn as their last window does (modes, learning
  // period, baseline_half_life, group consensus, where a coarse spike or
  // drop is the same behaviour as the window's). 0 disables a level; else
  // 2..1440, and the span at most 366 days. Default {0, 0}, off: on the
  // simulated fleet {10, 60} (10 minutes and 1 hour) raised the false
  // findings per entity-day above their target (a replica taking over the
  // load of a silenced one; an attack's tail reported at its coarse
  // window's close, after the attack). Snapshots written before the
  // option load with both off.
  std::array<uint32_t, 2> coarse_windows = {0, 0};

  // Counts learn one baseline per UTC hour of day, shrunk towards the
  // all-hours baseline while an hour has few windows. Default on.
  bool hour_of_day_seasonality = true;

  // After learning, an entity of a group never seen before is a finding of
  // its own (an unexpected workload), scored against the whole fleet until
  // its group has a baseline. Default on.
  bool report_new_groups = true;

  // After learning, baselines keep learning from windows scored below the
  // threshold only, so an attacker cannot teach them. false: baselines are
  // frozen at the end of learning. Default true.
  bool learn_after_learning_period = true;

  // Group consensus. When most replicas of a group show the same
  // significant behaviour within a few windows (a deploy brings a migration
  // step, a new destination or a higher connect rate to every replica),
  // their findings are replaced by one group-level finding of low severity
  // (Finding::entity empty; see finding.h), and their windows are learned
  // into the group baseline so that later replicas do not fire. The same
  // behaviour in one replica alone stays a finding, as does any finding
  // whose score stays at the threshold without the shared behaviours. A
  // behaviour is a test with p <= 0.001: a count spike or drop of a kind, a
  // value or error shift of a kind, a new or rare value of a feature (up to
  // 16 new values; a larger sweep is never shared). A behaviour reported
  // for a group is not reported again while it recurs within a day (count
  // baselines learn per hour of day: a day lets every hour learn it).
  // Default on.
  bool group_consensus = true;

  // The share of a group's replicas (its entities with events in the
  // finding's window) that must show a behaviour for consensus; never
  // fewer than two replicas. Default 0.5; (0, 1].
  double consensus_quorum = 0.5;

  // The bounded delay of consensus: a finding of an entity in a group may
  // be held this many windows past its own window's close while the other
  // replicas' windows close, then it is reported (its window times are
  // unchanged; it comes out of window order by at most this much). Findings
  // whose score reaches the threshold on evidence no replica can share (a
  // new group, a sweep of new values) are never held. 0 decides at the
  // window's own close, from replicas of the same and earlier windows.
  // Default 2; 0..64.
  uint32_t consensus_wait_windows = 2;

  // How many windows before a finding's window the other replicas' showing
  // of a behaviour still counts: rolling deploys replace replicas one after
  // the other. Longer spans tolerate slower rollouts and make chance
  // agreement likelier. Default 5; 0..1440.
  uint32_t consensus_span_windows = 5;

  // Distinct values remembered per (group, kind, field); later new values
  // are still scored as new, then counted as overflow. Default 10,000.
  uint32_t max_values_per_feature = 10000;

  // Distinct values tracked per entity window; more are still checked for
  // novelty, one by one. Bounds per-entity memory. Default 128.
  uint32_t max_values_per_window = 128;
};

// Counters since the engine was created.
struct EngineStats {
  uint64_t events = 0;             // events accepted into a window
  uint64_t late_events = 0;        // events older than their window's close
  uint64_t invalid_events = 0;     // Ingest() of an event with a bad kind or symbol
  uint64_t bad_lines = 0;          // IngestJsonl() lines that failed to decode
  uint64_t entities_seen = 0;      // distinct entities ever created
  uint64_t entities_live = 0;      // entities currently holding state
  uint64_t entities_retired = 0;   // retired after idle_ttl
  uint64_t groups = 0;             // groups with a baseline
  uint64_t windows_scored = 0;     // entity windows scored after learning
  uint64_t findings = 0;           // findings reported, group-level ones included
  uint64_t group_findings = 0;     // group-level consensus findings reported
  uint64_t consensus_replaced = 0; // entity findings replaced by group consensus
  uint64_t values_overflowed = 0;  // new values not remembered (feature cap)
  int64_t watermark_ns = 0;        // windows ending at or before this are closed
  int64_t learning_ends_ns = 0;    // 0 until the first event
};

// How the windows of an entity are used; see Engine::SetMode. Reaches
// snapshots: never renumber.
enum class Mode : uint8_t {
  kLearn = 0,    // learned into the baselines, never scored
  kMonitor = 1,  // scored; learned only when below the threshold (and not
                 // while evidence accumulates), so an attacker cannot teach it
  kFrozen = 2,   // scored, never learned
};

// Returns "learn", "monitor" or "frozen".
std::string_view ModeName(Mode mode);

// Parses ModeName's names; nullopt for anything else.
std::optional<Mode> ModeFromName(std::string_view name);

// Which string of an event a categorical baseline is about.
enum class Field : uint8_t { kSubject = 0, kActor = 1 };  // never renumber

// What the count model expects of one entity window of a group, for one
// kind and hour of day: the learned mean and a central interval holding
// about 98% of windows under the baseline.
struct CountExpectation {
  double mean = 0;
  double lower = 0;
  double upper = 0;
  uint64_t windows = 0;  // windows the estimate rests on
};

// A value known to a categorical baseline and how often it was seen.
struct KnownValue {
  std::string value;
  uint64_t count = 0;
};

// One baseline the engine keeps: a group, or an ungrouped entity's own.
struct GroupSummary {
  std::string name;               // "*" is the whole fleet
  bool ungrouped_entity = false;  // the baseline of an entity without a group
  bool new_after_learning = false;  // first seen after the learning period
  uint64_t learned_windows = 0;   // entity windows learned into it
  uint64_t live_entities = 0;     // live entities scored against it
};

// The version of the snapshot format Engine::Snapshot() writes. Every older
// version still loads (tests/data/snapshots holds one file of each).
inline constexpr uint32_t kSnapshotFormatVersion = 1;

// The engine. Not thread-safe: one thread drives an engine; run one engine
// per shard (entities never span engines) for parallelism.
class Engine {
 public:
  using FindingCallback = std::function<void(const Finding&)>;
  using WindowScoreCallback = std::function<void(const WindowScore&)>;

  // Returns an engine, or kInvalidArgument naming the option that is out of
  // range and the range expected.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const EngineOptions& options);

  virtual ~Engine() = default;

  // Returns the symbol table events must be built with.
  virtual SymbolTable& symbols() = 0;
  virtual const SymbolTable& symbols() const = 0;

  // Returns the symbol of `text` in this engine's table (adds it if new).
  Symbol Intern(std::string_view text) { return symbols().Intern(text); }

  // Adds one event. Never fails: an event older than its window's close is
  // counted as late, one with an invalid kind, a symbol not from symbols()
  // or a time outside 1970..2260 is counted as invalid; neither is scored.
  // May close windows and so call the callbacks.
  virtual void Ingest(const Event& event) = 0;

  // Adds events in order, as Ingest() does one by one.
  virtual void Ingest(absl::Span<const Event> events) = 0;

  // Decodes one native JSONL line and ingests it. Returns kInvalidArgument
  // naming the field and what was expected when the line is malformed (it is
  // then counted in bad_lines and ignored). Blank lines are ignored.
  virtual absl::Status IngestJsonl(std::string_view line) = 0;

  // Moves event time forward to `time_ns` as if an event at that time had
  // arrived: closes the windows the watermark passes. Never moves it back.
  virtual void AdvanceTo(int64_t time_ns) = 0;

  // Closes every open window (end of input) and scores it.
  virtual void Flush() = 0;

  // Sets the callback called for each finding, in order of window then
  // entity (first-seen order), except that a finding held for group
  // consensus comes when decided, at most consensus_wait_windows windows
  // later, and a group-level finding comes when its consensus is reached.
  // Flush decides every held finding. Called from within
  // Ingest/AdvanceTo/Flush.
  // REQUIRES: callbacks do not call back into the engine (queue the work).
  virtual void SetFindingCallback(FindingCallback callback) = 0;

  // Sets the callback called for every scored entity window, same order.
  virtual void SetWindowScoreCallback(WindowScoreCallback callback) = 0;

  // Returns the counters.
  virtual EngineStats stats() const = 0;

  // Returns the score threshold in force.
  virtual double threshold() const = 0;

  // Returns the options the engine was created with.
  virtual const EngineOptions& options() const = 0;

  // Returns what the count model expects per window of `kind` for the group
  // named `group` ("*": the whole fleet; an entity's own name works for an
  // ungrouped entity) at UTC `hour_of_day` (0..23), or kNotFound for an
  // unknown group.
  virtual absl::StatusOr<CountExpectation> ExpectedCount(std::string_view group, Kind kind,
                                                         int hour_of_day) const = 0;

  // Returns the values the categorical baseline of `group` knows for `kind`
  // and `field`, most frequent first (ties in the order the values were
  // first interned), at most `limit`. The counts add the steady state's and
  // the start-up's (lifecycle_phase).
  virtual absl::StatusOr<std::vector<KnownValue>> KnownValues(std::string_view group, Kind kind,
                                                              Field field,
                                                              size_t limit) const = 0;

  // Returns the group of the live entity `entity` ("" when ungrouped), or
  // kNotFound.
  virtual absl::StatusOr<std::string> GroupOf(std::string_view entity) const = 0;

  // Returns every baseline, the fleet's first, then in order of appearance.
  virtual std::vector<GroupSummary> Groups() const = 0;

  // Ends the learning period at the current watermark: every window not yet
  // closed is scored. For an engine that learned from a replay (`timescan
  // learn`) and then monitors. No effect before the first event or once
  // learning has ended.
  virtual void EndLearning() = 0;

  // --- Modes: learn, monitor, frozen ------------------------------------------
  //
  // Without a mode set, an entity's windows are learned during the learning
  // period, then monitored (or frozen when learn_after_learning_period is
  // false). A mode set for a live entity comes first (it lasts until the
  // entity retires), then one set for its group (it applies to the group's
  // future entities too), then the engine's. Modes take effect on windows
  // closing after the call and are part of snapshots.

  // Sets the engine's mode. kMonitor or kFrozen during the learning period
  // ends it first (EndLearning). kLearn after it: every window is learned
  // and none is scored until another mode is set; groups first seen
  // meanwhile are not unexpected workloads.
  virtual void SetMode(Mode mode) = 0;

  // Sets (or with nullopt clears) the mode of the group named `name`, or
  // else of the live entity named `name` (an ungrouped entity's own).
  // kNotFound when neither exists.
  virtual absl::Status SetMode(std::string_view name, std::optional<Mode> mode) = 0;

  // Returns the mode in force for the live entity named `entity` for its
  // next window, or kNotFound.
  virtual absl::StatusOr<Mode> ModeOf(std::string_view entity) const = 0;

  // --- Snapshots: the whole state, to persist, move and merge ---------------
  //
  // A snapshot holds the options, the symbols, every baseline, the live
  // entities with their open windows, and the clock, in a versioned,
  // checksummed protobuf frame (proto/timescan/v1/snapshot.proto). Scoring a
  // stream in one go, or in parts with a snapshot and restore in between,
  // gives byte-identical findings. Callbacks are not part of it.

  // Returns the engine's state as snapshot bytes. kResourceExhausted if the
  // state exceeds the 2 GiB a protobuf message can hold.
  virtual absl::StatusOr<std::string> Snapshot() const = 0;

  // Returns an engine restored from snapshot bytes. kDataLoss when the bytes
  // are truncated or corrupt (checksum), kInvalidArgument when they decode
  // but break a rule (version, option range, symbol reference, count), with
  // the field at fault named; never a crash.
  static absl::StatusOr<std::unique_ptr<Engine>> FromSnapshot(std::string_view bytes);

  // Writes Snapshot() to `path` atomically: a temporary file in the same
  // directory, fsync, rename, fsync of the directory. A crash mid-save leaves
  // the previous file intact. The file is readable by its owner only (0600):
  // it names what runs where.
  absl::Status SaveSnapshot(const std::string& path) const;

  // Reads and restores a snapshot file (see FromSnapshot), the path in every
  // error.
  static absl::StatusOr<std::unique_ptr<Engine>> LoadSnapshot(const std::string& path);

  // Adds the baselines `other` learned into this engine's: engines that saw
  // different replicas or hosts of the same groups combine what they learned.
  // Per group (matched by name): count moments combine (parallel Welford),
  // and so do coarse count moments of levels whose spans agree (a level
  // the other engine lacks stays as learned here),
  // value histograms and error counts add, value sketches merge (exactly),
  // multivariate sums and distance histograms add (the estimate is
  // refreshed; windows still warming up are learned one by one),
  // categorical counts, sequence n-gram counts and novelty exposure add
  // (n-grams are named by hashes of their subjects' names, so they need no
  // translation), groups new to this engine are copied; the fleet's and
  // group arrivals' rates combine likewise.
  // This engine's clock, live entities, open windows, held findings,
  // recent consensus sightings and modes are kept; `other`'s entities (with their
  // metric models) are not copied: they belong to their own stream.
  // Associative and commutative up to floating-point rounding of the
  // moments, and, past a group's distinct-value cap, up to which new values
  // were kept (merge order decides, as event order does in learning), and for a
  // multivariate baseline still warming up, up to the order its windows
  // are learned in.
  // kInvalidArgument (nothing changed) if the window widths, the
  // distinct-value caps or the sequence lengths differ.
  virtual absl::Status Merge(const Engine& other) = 0;
};

}  // namespace timescan

#endif  // TIMESCAN_ENGINE_H_
