#include "engine/engine_impl.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "engine/explain.h"
#include "stats/distributions.h"
#include "stats/p_value_fusion.h"
#include "timescan/timestamps.h"

namespace timescan {
namespace internal {
namespace {

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();

// FlushPending's keys carry a count in their top bits when they stand for
// more than one event (ValueKeys are below 2^37).
constexpr int kRepeatShift = 48;
constexpr uint64_t kKeyMask = (uint64_t{1} << kRepeatShift) - 1;
uint64_t RepeatedKey(uint64_t key, uint32_t events) {
  return key | (static_cast<uint64_t>(events) << kRepeatShift);
}
uint64_t KeyOf(uint64_t packed) { return packed & kKeyMask; }
uint32_t CountOf(uint64_t packed) {
  const auto events = static_cast<uint32_t>(packed >> kRepeatShift);
  return events == 0 ? 1 : events;
}
static_assert(kPendingValues < (uint64_t{1} << (64 - kRepeatShift)));

// A group first seen after learning is scored against the fleet until its
// own baseline has this many windows.
constexpr uint64_t kMinOwnBaselineWindows = 60;

// Drop tests run for kinds whose expected count reaches this mean: below
// it even an empty window is unremarkable.
constexpr double kMinDropTestMean = 0.5;

// At most this many reasons per finding; reasons beyond the first need a
// p-value of at most kReasonPValue.
constexpr size_t kMaxReasons = 5;
constexpr double kReasonPValue = 0.01;

// Group consensus. A test shows a behaviour a replica can share with its
// group when its p-value is at most kSharedPValue: strict, so that chance
// agreement of two replicas within the span is rare (a single replica's
// attack must stay a finding).
constexpr double kSharedPValue = 1e-3;
// A novelty test is shareable with at most this many new values; a larger
// sweep is one replica's.
constexpr size_t kMaxSharedValues = 16;
// Consensus needs at least two replicas, whatever the quorum: one alone is
// a finding.
constexpr size_t kMinConsensusReplicas = 2;
// A behaviour reported for a group is not reported again while it recurs
// within this time: count baselines learn per hour of day, so a change of
// rate can reach consensus again at each hour until a day has taught it.
constexpr int64_t kConsensusMemoryNs = 86'400'000'000'000LL;
// Behaviour key type of a rare known value (novelty uses the test's type).
constexpr uint32_t kRareValueKeyType = 8;
// Accumulated evidence at or below this p-value keeps the window out of the
// baselines: the windows of a slow, persistent signal are the attacker's,
// not normal behaviour to learn. Under the null about 1 window in 100 of a
// test with a level.
constexpr double kQuarantinePValue = 0.01;
// Behaviour key marking a group-level report (see DecideHeld); type 63 is
// no test's.
constexpr uint64_t kGroupReportKey = uint64_t{63} << 56;
// Replicas named in a group-level finding's reason.
constexpr size_t kMaxNamedReplicas = 8;
// A coarse level is scored once its baseline has learned this many coarse
// windows: fewer cannot tell a sustained change from the spread of rates.
constexpr double kMinCoarseWindows = 8;
// Coarse windows are learned and predicted at this entity age, a steady
// state one: the baseline's start-up slots stay unused.
constexpr int64_t kCoarseAge = CountBaseline::kStartupWindows;
// Coarse spans up to this long are seasonal by hour of day (a longer
// window spans several hours).
constexpr int64_t kMaxSeasonalCoarseNs = 3'600'000'000'000LL;

// The behaviour key of an n-gram: a new one of sequence feature f (code
// f), or the rarest known one (code kSequenceFeatures + f).
uint64_t SequenceBehaviourKey(uint32_t test_type, int code, uint64_t id) {
  return (static_cast<uint64_t>(test_type) << 56) | (static_cast<uint64_t>(code) << kNGramIdBits) |
         id;
}

Severity SeverityOf(double score, double threshold) {
  const double over = score - threshold;
  if (over >= 8) return Severity::kCritical;
  if (over >= 4) return Severity::kHigh;
  if (over >= 2) return Severity::kMedium;
  return Severity::kLow;
}

}  // namespace

EngineImpl::EngineImpl(const EngineOptions& options)
    : options_(options),
      window_ns_(absl::ToInt64Nanoseconds(options.window)),
      lateness_ns_(absl::ToInt64Nanoseconds(options.allowed_lateness)),
      ttl_windows_(std::max<int64_t>(
          1, absl::ToInt64Nanoseconds(options.idle_ttl) / absl::ToInt64Nanoseconds(options.window))),
      novelty_warmup_ns_(std::min<int64_t>(absl::ToInt64Nanoseconds(absl::Hours(1)),
                                           absl::ToInt64Nanoseconds(options.learning_period) / 4)),
      novelty_warmup_windows_(std::max<int64_t>(1, novelty_warmup_ns_ / window_ns_)),
      half_life_windows_(absl::ToInt64Nanoseconds(options.baseline_half_life) / window_ns_),
      coarse_multiple_{options.coarse_windows[0], options.coarse_windows[1]},
      decay_step_windows_(std::max<int64_t>(1, half_life_windows_ / 4)),
      consensus_memory_windows_(std::max<int64_t>(1, kConsensusMemoryNs / window_ns_)),
      track_values_(options.categorical_model || options.mix_model),
      evidence_(options.evidence_drift_p) {
  const double windows_per_day = 86400e9 / static_cast<double>(window_ns_);
  threshold_ = options.threshold.has_value()
                   ? *options.threshold
                   : std::log10(windows_per_day / options.false_findings_per_entity_day);
  metric_options_.season_windows = absl::ToInt64Nanoseconds(options.metric_season) / window_ns_;
  auto fleet = std::make_unique<GroupState>();
  fleet->name = symbols_.Intern("*");
  groups_.push_back(std::move(fleet));
}

void EngineImpl::Ingest(absl::Span<const Event> events) {
  // Entity state is the cache miss of the hot path. Three stages ahead:
  // the entity's record 24 events ahead; once it is in cache, its open
  // window 14 ahead; once that is, the tail of its value buffer and its
  // kind's value sums 6 ahead. Reading the window's buffer pointer in the
  // same stage that prefetches the window stalled on that very line.
  // (Accumulating a batch entity by entity instead, after a counting sort,
  // measured no faster than this on the 1,000-entity benchmark.)
  constexpr size_t kEntityAhead = 24;
  constexpr size_t kWindowAhead = 14;
  constexpr size_t kTailAhead = 6;
  // The slots found by the first stage, for the later two. A slot may be
  // stale by then (its entity retired, the slot reused): only a prefetch
  // is wasted, since slots stay valid indices of entities_.
  constexpr size_t kSlotRing = 32;
  static_assert(kSlotRing > kEntityAhead && (kSlotRing & (kSlotRing - 1)) == 0);
  std::array<uint32_t, kSlotRing> slots;
  auto find_slot = [&](size_t j) {
    const Symbol entity = events[j].entity;
    const uint32_t slot = entity < entity_slot_.size() ? entity_slot_[entity] : kNoSlot;
    slots[j & (kSlotRing - 1)] = slot;
    return slot;
  };
  // The open window of event j's entity, if it has one.
  auto window_of = [&](size_t j) -> const WindowAccumulator* {
    const uint32_t slot = slots[j & (kSlotRing - 1)];
    if (slot == kNoSlot) return nullptr;
    const EntityState& e = entities_[slot];
    if (e.ring.empty()) return nullptr;
    return &e.Slot(last_window_);
  };
  const size_t n = events.size();
  for (size_t j = 0; j < std::min(n, kEntityAhead); ++j) find_slot(j);
  for (size_t i = 0; i < n; ++i) {
    if (i + kEntityAhead < n) {
      if (const uint32_t slot = find_slot(i + kEntityAhead); slot != kNoSlot) {
        __builtin_prefetch(&entities_[slot]);
      }
    }
    if (i + kWindowAhead < n) {
      if (const WindowAccumulator* acc = window_of(i + kWindowAhead)) {
        __builtin_prefetch(acc);
        __builtin_prefetch(reinterpret_cast<const char*>(acc) + 64);
      }
    }
    if (i + kTailAhead < n) {
      if (const WindowAccumulator* acc = window_of(i + kTailAhead)) {
        if (!acc->pending.empty()) __builtin_prefetch(acc->pending.data() + acc->pending.size());
        // The value sums of the event's kind lie past the first two lines.
        const Event& ahead = events[i + kTailAhead];
        if ((ahead.has_value | ahead.has_status) &&
            static_cast<unsigned>(ahead.kind) < static_cast<unsigned>(kKindCount)) {
          __builtin_prefetch(&acc->value_obs[static_cast<size_t>(ahead.kind)]);
        }
      }
    }
    IngestOne(events[i]);
  }
}

size_t EngineImpl::RingSize() const {
  const int64_t lateness_windows = (lateness_ns_ + window_ns_ - 1) / window_ns_;
  size_t ring = 1;
  while (ring < static_cast<size_t>(lateness_windows + 1)) ring *= 2;
  return ring;
}

uint32_t EngineImpl::GroupFor(const Event& event) {
  const uint64_t key = event.group != kNoSymbol ? event.group : (kEntityGroupBit | event.entity);
  auto [it, inserted] = group_index_.try_emplace(key, static_cast<uint32_t>(groups_.size()));
  if (inserted) {
    auto group = std::make_unique<GroupState>();
    group->name = event.group != kNoSymbol ? event.group : event.entity;
    group->is_entity = event.group == kNoSymbol;
    group->first_window = WindowOf(event.time_ns);
    group->decayed_at = group->first_window;
    // A group first seen while the engine is set to learn is learned, not
    // an unexpected workload.
    group->new_after_learning =
        !IsLearning(group->first_window) && engine_mode_ != static_cast<uint8_t>(Mode::kLearn);
    groups_.push_back(std::move(group));
  }
  return it->second;
}

uint32_t EngineImpl::CreateEntity(const Event& event, int64_t window) {
  const size_t groups_before = groups_.size();
  const uint32_t group = GroupFor(event);
  const bool new_group = groups_.size() > groups_before;
  // The novelty rate of groups among entity arrivals, learned after the
  // initial fleet has appeared.
  if (IsLearning(window) && event.time_ns >= first_time_ns_ + novelty_warmup_ns_) {
    group_arrivals_.AddWindow(new_group);
  }

  uint32_t slot;
  if (!free_entities_.empty()) {
    slot = free_entities_.back();
    free_entities_.pop_back();
  } else {
    slot = static_cast<uint32_t>(entities_.size());
    entities_.emplace_back();
  }
  EntityState& e = entities_[slot];
  e = EntityState{};
  e.name = event.entity;
  e.group = group;
  e.sequence = next_sequence_++;
  e.first_window = window;
  e.last_event_window = window;
  e.live = true;
  e.ring.Reset(RingSize());
  if (event.entity >= entity_slot_.size()) entity_slot_.resize(symbols_.size(), kNoSlot);
  entity_slot_[event.entity] = slot;
  live_.push_back(slot);
  ++stats_.entities_seen;
  return slot;
}

// Inlined into Ingest, with Accumulate: a call per event costs as much as
// the checks.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool EngineImpl::Admit(const Event& event,
                                                           int64_t* window_out,
                                                           uint32_t* slot_out) {
  const auto kind_index = static_cast<unsigned>(event.kind);
  // Every symbol from this table; a time from 0 to kLatestTimeNs.
  const Symbol highest = std::max({event.entity, event.group, event.subject, event.actor});
  if (kind_index >= static_cast<unsigned>(kKindCount) || event.entity == kNoSymbol ||
      !symbols_.Contains(highest) ||
      static_cast<uint64_t>(event.time_ns) > static_cast<uint64_t>(kLatestTimeNs)) {
    ++stats_.invalid_events;
    return false;
  }
  if (!started_) {
    started_ = true;
    first_time_ns_ = event.time_ns;
    max_time_ns_ = event.time_ns;
    learning_ends_ns_ = event.time_ns + absl::ToInt64Nanoseconds(options_.learning_period);
    next_close_ = WindowOf(event.time_ns);
  }
  if (event.time_ns > max_time_ns_) MoveWatermark(event.time_ns);
  // Most events fall in the window of the one before: skip the division.
  // One unsigned comparison for both ends: a time before the window wraps.
  if (static_cast<uint64_t>(event.time_ns - last_window_start_ns_) >=
      static_cast<uint64_t>(window_ns_)) {
    last_window_ = WindowOf(event.time_ns);
    last_window_start_ns_ = last_window_ * window_ns_;
  }
  const int64_t window = last_window_;
  if (window < next_close_) {
    ++stats_.late_events;
    return false;
  }
  uint32_t slot = event.entity < entity_slot_.size() ? entity_slot_[event.entity] : kNoSlot;
  if (slot == kNoSlot) slot = CreateEntity(event, window);
  *window_out = window;
  *slot_out = slot;
  return true;
}

void EngineImpl::Ingest(const Event& event) { IngestOne(event); }

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void EngineImpl::IngestOne(const Event& event) {
  int64_t window;
  uint32_t slot;
  if (Admit(event, &window, &slot)) Accumulate(entities_[slot], window, event);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void EngineImpl::Accumulate(EntityState& e, int64_t window,
                                                                const Event& event) {
  const auto kind_index = static_cast<unsigned>(event.kind);
  WindowAccumulator& acc = e.Slot(window);
  if (acc.window != window) acc.Reset(window);
  ++acc.events;
  ++acc.counts[kind_index];
  int32_t value_index = kNoValueIndex;
  if (event.has_value | event.has_status) {
    ValueObservation& v = acc.value_obs[kind_index];
    // Negative or non-finite values mean nothing as bytes or latency.
    if (event.has_value && event.value >= 0 && event.value < 1e300) {
      v.sum += event.value;
      ++v.values;
      // The bucket only (arithmetic, no memory): the sample it joins is
      // written when the pending buffer is flushed, while it is in cache.
      if (options_.value_distribution && DistributionSlot(event.kind) >= 0) {
        value_index = event.value > QuantileSketch::kZeroThreshold
                          ? value_mapping_.Index(event.value)
                          : QuantileSketch::kZeroIndex;
      }
    }
    if (event.has_status) {
      ++v.statuses;
      v.errors += IsError(event.kind, event.status) ? 1 : 0;
    }
  }
  if (kind_index == static_cast<unsigned>(Kind::kMetric)) [[unlikely]] {
    if (options_.metric_model) AddMetricSample(e, window, event);
  }
  // Exec and syscall events extend a sequence; others pay this test only.
  constexpr unsigned kSequenceKinds =
      (1u << static_cast<unsigned>(Kind::kExec)) | (1u << static_cast<unsigned>(Kind::kSyscall));
  if (((1u << kind_index) & kSequenceKinds) != 0 && options_.sequence_model &&
      event.subject != kNoSymbol) {
    AddSequenceEvent(e, acc, window, event);
  }
  if (window > e.last_event_window) e.last_event_window = window;
  ++stats_.events;
  const bool categorical =
      track_values_ && (event.subject != kNoSymbol || event.actor != kNoSymbol);
  if (!categorical && value_index == kNoValueIndex) return;
  if (acc.pending.size() == kPendingValues) FlushPending(acc, e.group, /*counter_in_cache=*/false);
  acc.pending.push_back(PendingValues{categorical ? event.subject : kNoSymbol,
                                      categorical ? event.actor : kNoSymbol, kind_index,
                                      value_index});
}

void EngineImpl::CountUntracked(WindowAccumulator& acc, uint32_t group, uint64_t key, uint32_t n) {
  const int feature = static_cast<int>(key >> 32);
  acc.untracked_events[feature] += n;
  if (groups_[group]->tables[feature].Count(static_cast<Symbol>(key)) == 0) {
    acc.untracked_new[feature] += n;
  }
}

namespace {

// Adds the buffered values to the window's samples and calls emit(key, n)
// for their keys in the order of the buffer. An actor repeating its kind's
// previous one (a service's one client, a shell's parent) is emitted once
// more at the end rather than once an event; its first event keeps its
// place, so the counter's order of first Add is unchanged.
template <typename Emit>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void ForEachPendingKey(WindowAccumulator& acc, Emit&& emit) {
  std::array<uint64_t, kKindCount> last_actor{};
  std::array<uint32_t, kKindCount> repeats{};
  for (const PendingValues& v : acc.pending) {
    const unsigned kind = v.kind();
    if (v.value_index() != kNoValueIndex) {
      acc.samples[static_cast<size_t>(DistributionSlot(static_cast<Kind>(kind)))].Add(
          v.value_index());
    }
    const int subject_feature = 2 * static_cast<int>(kind);
    if (v.subject != kNoSymbol) emit(ValueKey(subject_feature, v.subject), 1);
    if (v.actor != kNoSymbol) {
      const uint64_t actor = ValueKey(subject_feature + 1, v.actor);
      if (actor == last_actor[kind]) {
        ++repeats[kind];
      } else {
        if (repeats[kind] > 0) emit(last_actor[kind], repeats[kind]);
        last_actor[kind] = actor;
        repeats[kind] = 0;
        emit(actor, 1);
      }
    }
  }
  for (unsigned kind = 0; kind < kKindCount; ++kind) {
    if (repeats[kind] > 0) emit(last_actor[kind], repeats[kind]);
  }
}

}  // namespace

void EngineImpl::FlushPending(WindowAccumulator& acc, uint32_t group, bool counter_in_cache) {
  // N-grams in the counter have a cap of their own.
  const size_t max_keys = options_.max_values_per_window + acc.sequence_keys;
  auto count = [&](uint64_t key, uint32_t n) {
    // Past the cap: counted, and checked for novelty one by one.
    if (!acc.values.Add(key, n, max_keys)) [[unlikely]] CountUntracked(acc, group, key, n);
  };
  if (counter_in_cache) {
    ForEachPendingKey(acc, count);
    acc.pending.clear();
    return;
  }
  // Keys first, and their slots prefetched, so that the counter's cache
  // misses overlap instead of following one another.
  uint64_t keys[2 * kPendingValues];
  size_t n = 0;
  ForEachPendingKey(acc, [&](uint64_t key, uint32_t events) {
    keys[n++] = events == 1 ? key : RepeatedKey(key, events);
  });
  // Keys ahead: enough to overlap the misses, few enough to stay in the
  // miss buffers (12 took the counting's perf samples 15% below 6's).
  constexpr size_t kAhead = 12;
  for (size_t i = 0; i < std::min(n, kAhead); ++i) acc.values.Prefetch(KeyOf(keys[i]));
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) acc.values.Prefetch(KeyOf(keys[i + kAhead]));
    count(KeyOf(keys[i]), CountOf(keys[i]));
  }
  acc.pending.clear();
}

absl::Status EngineImpl::IngestJsonl(std::string_view line) {
  if (IsBlankLine(line)) return absl::OkStatus();
  Event event;
  absl::Status status = json_decoder_.Decode(line, /*padded=*/false, symbols_, &event);
  if (!status.ok()) {
    ++stats_.bad_lines;
    return status;
  }
  Ingest(event);
  return absl::OkStatus();
}

void EngineImpl::AdvanceTo(int64_t time_ns) {
  time_ns = std::min(time_ns, kLatestTimeNs);
  if (started_ && time_ns > max_time_ns_) MoveWatermark(time_ns);
}

void EngineImpl::Flush() {
  if (!started_) return;
  CloseThrough(WindowOf(max_time_ns_));
  DecideHeld(WindowOf(max_time_ns_), /*end_of_input=*/true);
}

void EngineImpl::CloseThrough(int64_t last_window) {
  while (next_close_ <= last_window) {
    if (live_.empty()) {
      next_close_ = last_window + 1;
      DecideHeld(last_window, /*end_of_input=*/false);
      break;
    }
    const int64_t window = next_close_;
    for (size_t k = 0; k < live_.size(); ++k) {
      // While this entity is scored: the closing window of the entity
      // after next, then, once that is in cache, the next one's buffered
      // values and samples (in one stage, reading the buffer's address
      // would wait for the window's line it was just asked for).
      auto closing = [&](size_t i) -> const WindowAccumulator& {
        return entities_[live_[i]].Slot(window);
      };
      if (k + 3 < live_.size()) __builtin_prefetch(&entities_[live_[k + 3]]);
      if (k + 2 < live_.size()) {
        const char* acc = reinterpret_cast<const char*>(&closing(k + 2));
        for (size_t offset = 0; offset < sizeof(WindowAccumulator); offset += 64) {
          __builtin_prefetch(acc + offset);
        }
      }
      if (k + 1 < live_.size()) {
        const WindowAccumulator& acc = closing(k + 1);
        const char* buffer = reinterpret_cast<const char*>(acc.pending.data());
        const size_t bytes = acc.pending.size() * sizeof(PendingValues);
        for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(buffer + offset);
        for (const WindowSample& sample : acc.samples) {
          if (!sample.empty()) __builtin_prefetch(sample.indices().data());
        }
      }
      EntityState& e = entities_[live_[k]];
      CloseEntityWindow(e, window);
      // Emptied now, while its counter is in cache, rather than when the
      // ring slot's next window starts. One without events is empty already
      // (an idle entity's window).
      WindowAccumulator& acc = e.Slot(window);
      if (acc.events > 0 && (acc.window == window || acc.window == -1)) acc.Reset(-1);
    }
    DecideHeld(window, /*end_of_input=*/false);
    Retire(window);
    ++next_close_;
  }
}

void EngineImpl::Retire(int64_t window) {
  size_t kept = 0;
  for (uint32_t slot : live_) {
    EntityState& e = entities_[slot];
    if (window - e.last_event_window >= ttl_windows_) {
      e.live = false;
      e.ring.Release();  // frees the counters and buffers too
      e.metrics.reset();
      e.evidence = {};
      e.sequences.reset();
      entity_slot_[e.name] = kNoSlot;
      free_entities_.push_back(slot);
      ++stats_.entities_retired;
      continue;
    }
    live_[kept++] = slot;
  }
  live_.resize(kept);
}

Mode EngineImpl::GroupMode(uint32_t group, bool learning) const {
  if (const uint8_t mode = groups_[group]->mode; mode != kNoMode) return static_cast<Mode>(mode);
  if (engine_mode_ != kNoMode) return static_cast<Mode>(engine_mode_);
  if (learning) return Mode::kLearn;
  return options_.learn_after_learning_period ? Mode::kMonitor : Mode::kFrozen;
}

Mode EngineImpl::ModeFor(const EntityState& e, int64_t window) const {
  return e.mode != kNoMode ? static_cast<Mode>(e.mode) : GroupMode(e.group, IsLearning(window));
}

Mode EngineImpl::ModeForHeld(const HeldFinding& h) const {
  if (h.entity < entity_slot_.size() && entity_slot_[h.entity] != kNoSlot) {
    return ModeFor(entities_[entity_slot_[h.entity]], h.window);
  }
  // A held window was scored: past learning, whatever its time.
  return GroupMode(h.group, /*learning=*/false);
}

void EngineImpl::LearnPendingEmpty(EntityState& e, int64_t window) {
  const bool learn = ModeFor(e, window) != Mode::kFrozen;
  for (uint32_t i = e.pending_empty; learn && i > 0; --i) {
    const int64_t empty_window = window - i;
    const int64_t age = empty_window - e.first_window;
    const int hour = HourOf(empty_window);
    for (int k = 0; k < kKindCount; ++k) {
      groups_[e.group]->counts.Add(static_cast<Kind>(k), hour, age, 0);
      groups_[0]->counts.Add(static_cast<Kind>(k), hour, age, 0);
    }
  }
  e.pending_empty = 0;
}

void EngineImpl::AddMetricSample(EntityState& e, int64_t window, const Event& event) {
  if (!event.has_value || !std::isfinite(event.value)) return;
  if (!e.metrics) e.metrics = std::make_unique<EntityMetrics>();
  std::vector<MetricSeries>& all = e.metrics->series;
  MetricSeries* series = nullptr;
  for (MetricSeries& s : all) {
    if (s.subject == event.subject) {
      series = &s;
      break;
    }
  }
  if (series == nullptr) {
    if (all.size() >= EntityMetrics::kMaxSeries) {
      ++e.metrics->dropped;
      return;
    }
    series = &all.emplace_back();
    series->subject = event.subject;
    series->ring.Reset(e.ring.size());
    series->model = MetricModel(metric_options_);
  }
  MetricSeries::OpenWindow& open = series->ring.Slot(window);
  MetricObservation& o = open.observation;
  if (open.window != window) {
    open.window = window;
    o = MetricObservation{};
  }
  o.min = o.samples == 0 ? event.value : std::min(o.min, event.value);
  o.max = o.samples == 0 ? event.value : std::max(o.max, event.value);
  o.sum += event.value;
  ++o.samples;
}

const GroupState& EngineImpl::ScoringGroup(const EntityState& e) const {
  const GroupState& own = *groups_[e.group];
  const bool use_fleet = own.new_after_learning && own.learned_windows < kMinOwnBaselineWindows;
  return use_fleet ? *groups_[0] : own;
}

uint64_t EngineImpl::NameHashOf(Symbol symbol) {
  auto [it, inserted] = name_hashes_.try_emplace(symbol, 0);
  if (inserted) it->second = SequenceNameHash(symbols_.Name(symbol));
  return it->second;
}

void EngineImpl::AddSequenceEvent(EntityState& e, WindowAccumulator& acc, int64_t window,
                                  const Event& event) {
  const int n = static_cast<int>(options_.sequence_length);
  int feature = kExecSequence;
  Symbol* history = e.exec_history.data();
  if (event.kind == Kind::kSyscall) {
    if (event.actor == kNoSymbol) return;  // no process to follow
    feature = kSyscallSequence;
    if (!e.sequences) e.sequences = std::make_unique<EntitySequences>();
    EntitySequences& s = *e.sequences;
    EntitySequences::Process* process = nullptr;
    for (EntitySequences::Process& p : s.processes) {
      if (p.actor == event.actor) {
        process = &p;
        break;
      }
    }
    if (process == nullptr) {
      if (s.processes.size() < EntitySequences::kMaxProcesses) {
        process = &s.processes.emplace_back();
      } else {
        // The least recently active process makes room (clocks are unique).
        process = &*std::min_element(s.processes.begin(), s.processes.end(),
                                     [](const auto& a, const auto& b) { return a.last_use < b.last_use; });
        ++s.evicted;
      }
      *process = EntitySequences::Process{};
      process->actor = event.actor;
    }
    process->last_use = ++s.clock;
    history = process->history.data();
  }
  // The n-gram: the last n - 1 subjects and this one.
  std::array<Symbol, kMaxSequenceLength> subjects{};
  uint64_t hashes[kMaxSequenceLength];
  for (int i = 0; i < n - 1; ++i) subjects[i] = history[i];
  subjects[n - 1] = event.subject;
  for (int i = 0; i < n; ++i) hashes[i] = NameHashOf(subjects[i]);
  for (int i = 0; i < n - 1; ++i) history[i] = subjects[i + 1];
  const uint64_t id = NGramId(hashes, n);

  const uint64_t key = SequenceKey(feature, id, /*boot=*/subjects[0] == kNoSymbol);
  const size_t before = acc.values.size();
  const bool room = acc.sequence_keys < options_.max_values_per_window;
  if (acc.values.Add(key, 1, room ? SIZE_MAX : 0)) {
    if (acc.values.size() == before) return;  // seen in this window already
    ++acc.sequence_keys;
    // The first new or rare n-grams of a scored window keep their
    // subjects, for the explanation (known ones stay known: tables only
    // grow). Rare means rare enough to be a reason: the n-grams as rare
    // make at most kReasonPValue of those learned.
    if (IsLearning(window)) return;
    const SequenceTable& table = ScoringGroup(e).sequences.tables[feature];
    const uint32_t learned = table.Count(id);
    if (learned > 0 && (learned > kSequenceRareLimit || subjects[0] == kNoSymbol ||
                        table.RareMass(learned) > kReasonPValue)) {
      return;
    }
    if (!e.sequences) e.sequences = std::make_unique<EntitySequences>();
    std::vector<EntitySequences::Example>& examples = e.sequences->examples;
    size_t kept = 0;
    for (const EntitySequences::Example& x : examples) {
      kept += x.window == window && SequenceKeyFeature(x.key) == feature ? 1 : 0;
    }
    if (kept < EntitySequences::kMaxExamples) examples.push_back({window, key, subjects});
    return;
  }
  // Past the window's cap: counted, and checked for novelty one by one.
  if (!e.sequences) e.sequences = std::make_unique<EntitySequences>();
  std::vector<SequenceUntracked>& all = e.sequences->untracked;
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const SequenceUntracked& u) { return u.window == window; });
  if (it == all.end()) {
    all.push_back(SequenceUntracked{});
    it = all.end() - 1;
    it->window = window;
  }
  ++it->grams[feature];
  if (ScoringGroup(e).sequences.tables[feature].Count(id) == 0) ++it->fresh[feature];
}

void EngineImpl::ScoreSequences(const EntityState& e, const WindowAccumulator& acc,
                                int64_t window, const GroupState& base, double* fused_inputs,
                                size_t* fused_count) {
  for (int f = 0; f < kSequenceFeatures; ++f) {
    sequence_observations_[f] = SequenceObservation{};
    sequence_scores_[f] = SequenceScore{};
    sequence_new_ids_[f].clear();
    sequence_untracked_new_[f] = 0;
  }
  auto observe = [&](uint64_t key, uint32_t n) {
    if (!IsSequenceKey(key)) return;
    const int f = SequenceKeyFeature(key);
    const uint64_t id = SequenceKeyId(key);
    const uint32_t learned = base.sequences.tables[f].Count(id);
    sequence_observations_[f].Observe(id, n, learned, /*rare_eligible=*/!IsBootSequenceKey(key));
    if (learned == 0) sequence_new_ids_[f].push_back(id);
  };
  if (options_.categorical_model) {
    // The categorical pass listed the n-grams, in the values' order.
    for (const ScoredValue& v : scored_values_) observe(v.key, v.n);
  } else if (acc.sequence_keys > 0) {
    acc.values.ForEach(observe);
  }
  if (e.sequences) {
    if (const SequenceUntracked* u = e.sequences->UntrackedOf(window)) {
      for (int f = 0; f < kSequenceFeatures; ++f) {
        sequence_observations_[f].grams += u->grams[f];
        sequence_observations_[f].new_grams += u->fresh[f];
        sequence_untracked_new_[f] = u->fresh[f];
      }
    }
  }
  for (int f = 0; f < kSequenceFeatures; ++f) {
    const SequenceObservation& o = sequence_observations_[f];
    if (o.grams == 0) continue;
    // The group's novelty rate shrunk towards the other groups', as
    // ScoreFeature does for the categorical features.
    const SequenceTable& table = base.sequences.tables[f];
    const bool pooled = &base != groups_[0].get();
    const double other_windows = static_cast<double>(
        pooled_sequence_windows_[f] - (pooled ? table.windows() : 0));
    const double other_novel = static_cast<double>(
        pooled_sequence_novel_[f] - (pooled ? table.novel_windows() : 0));
    const double weight = other_windows > 0 ? std::min(kFleetPriorWindows, other_windows) : 1.0;
    const double prior_rate = other_windows > 0 ? (other_novel + 0.5) / (other_windows + 1) : 0.5;
    sequence_scores_[f] =
        table.Score(o, prior_rate, weight, static_cast<int>(options_.sequence_length));
    tests_.push_back(Test{Test::kSequence, f, sequence_scores_[f].p_value, {}, {}, 0});
    fused_inputs[(*fused_count)++] = sequence_scores_[f].p_value;
  }
}

void EngineImpl::ForgetSequenceWindow(EntityState& e, int64_t window) {
  EntitySequences& s = *e.sequences;
  // Windows close in order: what is at or before this one is done.
  std::erase_if(s.examples, [&](const EntitySequences::Example& x) { return x.window <= window; });
  std::erase_if(s.untracked, [&](const SequenceUntracked& u) { return u.window <= window; });
  // An entity without processes pays for its examples only while it has
  // some.
  if (s.processes.empty() && s.examples.empty() && s.untracked.empty() && s.evicted == 0) {
    e.sequences.reset();
  }
}

void EngineImpl::CloseMetrics(EntityState& e, int64_t window, Mode mode, double* fused_inputs,
                              size_t* fused_count) {
  const bool learning = mode == Mode::kLearn;
  std::vector<MetricSeries>& all = e.metrics->series;
  if (!learning) metric_scores_.resize(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    MetricSeries& series = all[i];
    MetricSeries::OpenWindow& open = series.ring.Slot(window);
    if (open.window != window) continue;
    open.window = -1;
    const MetricObservation& o = open.observation;
    if (o.samples == 0) continue;
    if (learning) {
      series.model.Update(window, o, nullptr, /*end_warmup=*/false);
      continue;
    }
    const MetricScore score = series.model.Score(window, o);
    // Metric baselines follow the series (a persistent shift becomes the new
    // normal; clipping bounds what one window teaches) unless frozen.
    if (mode != Mode::kFrozen || !series.model.state().ready) {
      series.model.Update(window, o, &score, /*end_warmup=*/true);
    }
    if (!score.scored) continue;
    metric_scores_[i] = score;
    tests_.push_back(Test{Test::kMetric, static_cast<int>(i), score.p_value, {}, {}, 0});
    fused_inputs[(*fused_count)++] = score.p_value;
  }
}

void EngineImpl::DecayIfDue(GroupState& group, int64_t window) {
  if (group.learned_windows == 0) {  // nothing learned yet (the fleet's clock starts here)
    group.decayed_at = window;
    return;
  }
  const int64_t steps = (window - group.decayed_at) / decay_step_windows_;
  if (steps <= 0) return;
  group.decayed_at += steps * decay_step_windows_;
  const double factor = std::exp2(-static_cast<double>(steps * decay_step_windows_) /
                                  static_cast<double>(half_life_windows_));
  // The draws of the rounding depend on the group and the step only: the
  // same stream decays the same way, in one run or across snapshots.
  const CountScaler scaler(factor, (static_cast<uint64_t>(group.name) << 32) ^
                                       static_cast<uint64_t>(group.decayed_at));
  // Each part draws with a seed of its own; parts never renumber (the
  // draws of a run restored from a snapshot must be the same).
  constexpr uint64_t kTables = 3;
  constexpr uint64_t kSequences = kTables + kFeatureCount;
  constexpr uint64_t kMix = kSequences + 1;
  constexpr uint64_t kMultivariate = kMix + 1;
  constexpr uint64_t kStartupTables = kMultivariate + 1;
  group.counts.Decay(factor);
  if (group.coarse) {
    for (CountBaseline& coarse : *group.coarse) coarse.Decay(factor);
  }
  group.values.Decay(scaler.Part(1));
  group.distributions.Decay(scaler.Part(2));
  for (int f = 0; f < kFeatureCount; ++f) {
    const auto part = static_cast<uint64_t>(f);
    group.tables[f].Decay(scaler.Part(kTables + part));
    group.startup_tables[f].Decay(scaler.Part(kStartupTables + part));
  }
  // The fleet's sequence novelty rates are the sums over the groups (a
  // restored engine recomputes them so): they lose what the group's
  // tables lose. (The fleet's own baseline is not in them.)
  const bool pooled = &group != groups_[0].get();
  for (int f = 0; pooled && f < kSequenceFeatures; ++f) {
    pooled_sequence_windows_[f] -= group.sequences.tables[f].windows();
    pooled_sequence_novel_[f] -= group.sequences.tables[f].novel_windows();
  }
  group.sequences.Decay(scaler.Part(kSequences));
  for (int f = 0; pooled && f < kSequenceFeatures; ++f) {
    pooled_sequence_windows_[f] += group.sequences.tables[f].windows();
    pooled_sequence_novel_[f] += group.sequences.tables[f].novel_windows();
  }
  // Also rebuilds the mix cells, which the decayed tables invalidate.
  group.mix.Decay(scaler.Part(kMix));
  group.multivariate.Decay(scaler.Part(kMultivariate));
}

void EngineImpl::Learn(GroupState& group, const WindowAccumulator& acc, int hour, int64_t age,
                       int64_t window, bool pooled, const SequenceUntracked* sequence_untracked,
                       const std::vector<ScoredValue>* scored, const MultivariateVector* vector,
                       const MixWindowStats* mix) {
  if (half_life_windows_ > 0) DecayIfDue(group, window);
  // The mix statistics against the baseline before this window, learned
  // after the group's discovery burst, as novelty is.
  // Unless scoring computed them, they are gathered while the values are
  // added: whether a value was known is what Add says, no second probe.
  const bool learn_mix =
      options_.mix_model && window >= group.first_window + novelty_warmup_windows_;
  const bool build_mix = learn_mix && mix == nullptr;
  if (build_mix) BeginMix(group);
  const uint32_t cap = options_.max_values_per_feature;
  // A start-up window's values go to the start-up tables; its novelty is a
  // value new to both (as scoring judges it), and its mix is against the
  // steady tables (as WindowMix computes it).
  const bool startup = IsStartup(age);
  std::array<CategoricalTable, kFeatureCount>& tables =
      startup ? group.startup_tables : group.tables;
  std::array<bool, kFeatureCount> had_new{};
  std::array<bool, kFeatureCount> had_events{};
  std::array<bool, kSequenceFeatures> sequence_new{};
  auto add = [&](uint64_t key, uint32_t n) {
    if (IsSequenceKey(key)) {  // an n-gram (listed as new in `scored`)
      const int f = SequenceKeyFeature(key);
      if (group.sequences.tables[f].Add(SequenceKeyId(key), n, cap)) sequence_new[f] = true;
      return;
    }
    const int feature = static_cast<int>(key >> 32);
    const auto value = static_cast<Symbol>(key);
    had_events[feature] = true;
    bool is_new = tables[feature].Add(value, n, cap);
    bool known_steady = !is_new;
    if (startup) {
      known_steady = group.tables[feature].Count(value) > 0;
      is_new = is_new && !known_steady;
    }
    if (is_new) had_new[feature] = true;
    if (build_mix && DistinctSlot(feature) >= 0) {
      mix_builder_.Observe(feature, value, n, known_steady);
    }
  };
  bool near_cap = false;
  for (const CategoricalTable& table : tables) {
    if (table.distinct() + acc.values.size() - acc.sequence_keys > cap) near_cap = true;
  }
  // The pointers of `scored` are into the steady tables.
  if (scored != nullptr && !near_cap && !startup) {
    // Known values first, through the pointers found while scoring; the new
    // ones after, since inserting may move the table.
    for (const ScoredValue& v : *scored) {
      if (v.learned == nullptr) continue;
      const int feature = static_cast<int>(v.key >> 32);
      had_events[feature] = true;
      group.tables[feature].AddKnown(v.learned, v.n);
      if (build_mix && DistinctSlot(feature) >= 0) {
        mix_builder_.Observe(feature, static_cast<Symbol>(v.key), v.n, true, *v.learned);
      }
    }
    for (const ScoredValue& v : *scored) {
      if (v.learned == nullptr) add(v.key, v.n);
    }
  } else if (near_cap) {
    // Which values fit under the cap follows the symbols, not slot order.
    sorted_values_.clear();
    acc.values.ForEach([&](uint64_t key, uint32_t n) { sorted_values_.emplace_back(key, n); });
    std::sort(sorted_values_.begin(), sorted_values_.end());
    for (const auto& [key, n] : sorted_values_) add(key, n);
  } else {
    acc.values.ForEach(add);
  }
  for (int f = 0; f < kFeatureCount; ++f) {
    if (acc.untracked_events[f] > 0) {
      had_events[f] = true;
      if (acc.untracked_new[f] > 0) had_new[f] = true;
      tables[f].AddUntracked(acc.untracked_new[f]);
    }
  }
  // Every live window is exposure, with events of the feature or not: the
  // rate is the chance that a window brings a new value at all. The
  // fleet's rates are of steady-state windows.
  if (window >= group.first_window + novelty_warmup_windows_) {
    for (int f = 0; f < kFeatureCount; ++f) {
      tables[f].AddWindow(had_new[f]);
      if (pooled && !startup) {
        ++pooled_windows_[f];
        pooled_novel_[f] += had_new[f] ? 1 : 0;
      }
    }
  }
  if (options_.sequence_model) {
    for (int f = 0; sequence_untracked != nullptr && f < kSequenceFeatures; ++f) {
      group.sequences.tables[f].AddUntracked(sequence_untracked->grams[f]);
      if (sequence_untracked->fresh[f] > 0) sequence_new[f] = true;
    }
    // Exposure as for the categorical features: every live window.
    if (window >= group.first_window + novelty_warmup_windows_) {
      for (int f = 0; f < kSequenceFeatures; ++f) {
        group.sequences.tables[f].AddWindow(sequence_new[f]);
        if (pooled) {
          ++pooled_sequence_windows_[f];
          pooled_sequence_novel_[f] += sequence_new[f] ? 1 : 0;
        }
      }
    }
  }
  for (int k = 0; k < kKindCount; ++k) {
    group.counts.Add(static_cast<Kind>(k), hour, age, acc.counts[k]);
    group.values.Add(static_cast<Kind>(k), acc.value_obs[k]);
  }
  for (int slot = 0; slot < kDistributionKinds; ++slot) {
    group.distributions.Learn(slot, acc.samples[static_cast<size_t>(slot)]);
  }
  if (options_.multivariate_model) {
    group.multivariate.Learn(vector != nullptr ? *vector : WindowVector(acc));
  }
  if (learn_mix) group.mix.Learn(build_mix ? FinishMix(acc) : *mix);
  ++group.learned_windows;
}

MultivariateVector EngineImpl::WindowVector(const WindowAccumulator& acc) const {
  // A window with subjects past the cap is the categorical model's anyway.
  return MultivariateVectorOf(acc.counts, acc.value_obs, acc.DistinctSubjects());
}

MultivariateVector EngineImpl::WindowVector(const WindowAccumulator& acc,
                                            uint32_t tracked_subjects) const {
  return MultivariateVectorOf(acc.counts, acc.value_obs,
                              tracked_subjects + acc.UntrackedSubjects());
}

void EngineImpl::BeginMix(const GroupState& group) {
  std::array<const MixCells*, kMixFeatureCount> cells{};
  for (int m = 0; m < kMixFeatureCount; ++m) {
    const int feature = kMixFeatureOf[static_cast<size_t>(m)];
    cells[static_cast<size_t>(m)] = &group.mix.Cells(m, group.tables[feature], next_close_);
  }
  mix_builder_.Reset(cells);
}

MixWindowStats EngineImpl::FinishMix(const WindowAccumulator& acc) {
  for (int feature : kDistinctFeatureOf) {
    mix_builder_.Untracked(feature, acc.untracked_events[feature], acc.untracked_new[feature]);
  }
  return mix_builder_.Finish();
}

MixWindowStats EngineImpl::WindowMix(const GroupState& group, const WindowAccumulator& acc,
                                     const std::vector<ScoredValue>& scored) {
  BeginMix(group);
  for (const ScoredValue& v : scored) {
    const int feature = static_cast<int>(v.key >> 32);
    if (DistinctSlot(feature) < 0) continue;  // every mix feature is a distinct one
    mix_builder_.Observe(feature, static_cast<Symbol>(v.key), v.n, v.learned != nullptr,
                         v.learned != nullptr ? *v.learned : 0);
  }
  return FinishMix(acc);
}

FeatureScore EngineImpl::ScoreFeature(const GroupState& group, int feature,
                                      const FeatureObservation& observation, bool startup) const {
  const CategoricalTable& table = group.tables[feature];
  // The fleet group is not pooled, so for it every pooled window is "other".
  const bool pooled = &group != groups_[0].get();
  const double other_windows = static_cast<double>(
      pooled_windows_[feature] - (pooled ? table.windows() : 0));
  const double other_novel = static_cast<double>(
      pooled_novel_[feature] - (pooled ? table.novel_windows() : 0));
  const double other_rate = (other_novel + 0.5) / (other_windows + 1);
  // With no other group to learn from, the prior is Jeffreys' half a window.
  const double weight = other_windows > 0 ? std::min(kFleetPriorWindows, other_windows) : 1.0;
  const double prior_rate = other_windows > 0 ? other_rate : 0.5;
  return table.Score(observation, prior_rate, weight,
                     startup ? &group.startup_tables[feature] : nullptr);
}

bool EngineImpl::CoarseSeasonal(int level) const {
  return options_.hour_of_day_seasonality &&
         coarse_multiple_[level] * window_ns_ <= kMaxSeasonalCoarseNs;
}

std::string EngineImpl::CoarseLabel(int level) const {
  return FormatCompactDuration(absl::Nanoseconds(coarse_multiple_[level] * window_ns_));
}

unsigned EngineImpl::AdvanceCoarse(EntityState& e, int64_t window,
                                   const std::array<uint32_t, kKindCount>* counts) {
  unsigned done = 0;
  for (int level = 0; level < kCoarseLevels; ++level) {
    const int64_t multiple = coarse_multiple_[level];
    if (multiple == 0) continue;
    CoarseAccumulator& c = e.coarse[level];
    const int64_t index = window / multiple;
    if (c.index != index) {
      // Every engine window of a live entity closes in turn, so a coarse
      // window is full when its first engine window was the entity's, and
      // a steady-state one.
      c.index = index;
      c.full = window == index * multiple &&
               window - e.first_window >= CountBaseline::kStartupWindows;
      c.quarantined = false;
      c.counts.fill(0);
    }
    if (counts != nullptr) {
      // Saturating: 1,440 windows of a busy entity can pass 2^32 events.
      for (int k = 0; k < kKindCount; ++k) {
        c.counts[k] = static_cast<uint32_t>(std::min<uint64_t>(
            uint64_t{c.counts[k]} + (*counts)[k], std::numeric_limits<uint32_t>::max()));
      }
    }
    if (c.full && counts != nullptr && window == (index + 1) * multiple - 1) done |= 1u << level;
  }
  return done;
}

void EngineImpl::LearnCoarse(GroupState& group, int64_t window, int level,
                             const std::array<uint32_t, kKindCount>& counts) {
  const int hour = CoarseHourOf(level, window);
  if (!group.coarse) group.coarse = std::make_unique<std::array<CountBaseline, kCoarseLevels>>();
  for (int k = 0; k < kKindCount; ++k) {
    (*group.coarse)[level].Add(static_cast<Kind>(k), hour, kCoarseAge, counts[k]);
  }
}

void EngineImpl::ScoreCoarse(const EntityState& e, int64_t window, unsigned done,
                             const GroupState& base, double* fused_inputs, size_t* fused_count) {
  if (!base.coarse) return;  // nothing learned at a coarse level yet
  for (int level = 0; level < kCoarseLevels; ++level) {
    const CountBaseline& baseline = (*base.coarse)[level];
    if ((done & (1u << level)) == 0 || baseline.windows() < kMinCoarseWindows) continue;
    const int hour = CoarseHourOf(level, window);
    const bool seasonal = CoarseSeasonal(level);
    // The engine windows of the span per UTC hour (a seasonal span is at
    // most an hour, so it touches two hours at most).
    std::array<int64_t, CountBaseline::kHours> hours{};
    for (int64_t w = window + 1 - coarse_multiple_[level]; seasonal && w <= window; ++w) {
      ++hours[HourOf(w)];
    }
    for (int k = 0; k < kKindCount; ++k) {
      const Kind kind = static_cast<Kind>(k);
      // As for the count test: metrics come at the scraper's pace, and a
      // kind the group never showed, absent again, has nothing to test.
      if (kind == Kind::kMetric && options_.metric_model) continue;
      if (!baseline.Active(kind)) continue;
      const uint32_t x = e.coarse[level].counts[k];
      CountPrediction pred;
      if (seasonal) {
        // What the engine windows' baseline expects of the span, hour by hour.
        double prior_mean = 0;
        for (int h = 0; h < CountBaseline::kHours; ++h) {
          if (hours[h] == 0) continue;
          prior_mean += hours[h] * base.counts.Predict(kind, h, kCoarseAge, true).mean;
        }
        pred = baseline.PredictWithinHour(kind, hour, prior_mean);
      } else {
        pred = baseline.Predict(kind, hour, kCoarseAge, false);
      }
      const int index = level * kKindCount + k;
      const double spike = stats::CountSpikeMidP(x, pred.mean, pred.variance);
      tests_.push_back(Test{Test::kCoarseSpike, index, spike, {}, pred, x});
      fused_inputs[(*fused_count)++] = spike;
      if (pred.mean < kMinDropTestMean) continue;
      const double drop = stats::CountDropMidP(x, pred.mean, pred.variance);
      tests_.push_back(Test{Test::kCoarseDrop, index, drop, {}, pred, x});
      fused_inputs[(*fused_count)++] = drop;
    }
  }
}

void EngineImpl::CloseEntityWindow(EntityState& e, int64_t window) {
  WindowAccumulator& acc = e.Slot(window);
  const bool has_events = window >= e.first_window && acc.window == window && acc.events > 0;
  // Most windows hold fewer events than the pending buffer, so their values
  // were never counted: only their n-grams are in the map. Counted in the
  // engine's scratch map instead, after a copy of those few keys, they give
  // the same map in the same order (first Add), without the cache misses
  // of the entity's own map, which then stays small. Windows whose values
  // did spill into their map are counted there.
  constexpr size_t kMaxCopiedKeys = 16;
  if (has_events && !acc.pending.empty() && acc.values.size() <= kMaxCopiedKeys) {
    close_values_.Clear();
    acc.values.ForEach([&](uint64_t key, uint32_t n) { close_values_.Add(key, n, SIZE_MAX); });
    std::swap(acc.values, close_values_);
    FlushPending(acc, e.group, /*counter_in_cache=*/true);
    ScoreAndLearnWindow(e, window);
    std::swap(acc.values, close_values_);
    return;
  }
  if (has_events) FlushPending(acc, e.group, /*counter_in_cache=*/false);
  ScoreAndLearnWindow(e, window);
}

void EngineImpl::ScoreAndLearnWindow(EntityState& e, int64_t window) {
  if (window < e.first_window) return;
  WindowAccumulator& acc = e.Slot(window);
  const bool has_events = acc.window == window && acc.events > 0;
  const int64_t age = window - e.first_window;
  const int hour = HourOf(window);
  const Mode mode = ModeFor(e, window);
  const bool learning = mode == Mode::kLearn;
  const int64_t start_ns = window * window_ns_;
  GroupState& own = *groups_[e.group];
  const unsigned coarse_done = AdvanceCoarse(e, window, has_events ? &acc.counts : nullptr);
  auto learn_coarse = [&](GroupState& group) {
    for (int level = 0; level < kCoarseLevels; ++level) {
      if ((coarse_done & (1u << level)) != 0 && !e.coarse[level].quarantined) {
        LearnCoarse(group, window, level, e.coarse[level].counts);
      }
    }
  };

  if (!has_events) {
    if (e.pending_empty < ttl_windows_) ++e.pending_empty;
    e.previous_window = window;
    e.previous_counts.fill(0);
    acc.window = -1;
    if (!learning) {
      if (!e.evidence.empty()) evidence_.Decay(&e.evidence);
      ++stats_.windows_scored;
      if (on_window_) on_window_(WindowScore{e.name, own.is_entity ? kNoSymbol : own.name,
                                             start_ns, start_ns + window_ns_, 0.0, 1.0, 0});
    }
    return;
  }
  LearnPendingEmpty(e, window);

  const SequenceUntracked* sequence_untracked =
      e.sequences ? e.sequences->UntrackedOf(window) : nullptr;
  if (learning) {
    if (e.metrics) CloseMetrics(e, window, mode, nullptr, nullptr);
    MultivariateVector vector{};
    if (options_.multivariate_model) vector = WindowVector(acc);
    Learn(own, acc, hour, age, window, /*pooled=*/true, sequence_untracked, nullptr, &vector);
    Learn(*groups_[0], acc, hour, age, window, /*pooled=*/false, sequence_untracked, nullptr,
          &vector);
    learn_coarse(own);
    learn_coarse(*groups_[0]);
    e.previous_window = window;
    e.previous_counts = acc.counts;
    acc.window = -1;
    if (e.sequences) ForgetSequenceWindow(e, window);
    return;
  }

  const bool use_fleet = own.new_after_learning && own.learned_windows < kMinOwnBaselineWindows;
  const GroupState& base = use_fleet ? *groups_[0] : own;
  const bool seasonal = options_.hour_of_day_seasonality;

  const bool startup = IsStartup(age);
  std::array<FeatureObservation, kFeatureCount> observations{};
  tests_.clear();
  // One documented rule: every test's p-value enters one Cauchy combination.
  double fused_inputs[kFeatureCount + (4 + 2 * kCoarseLevels) * kKindCount +
                      2 * kDistributionKinds + 2 +
                      kMixFeatureCount + kDistinctFeatureCount + EntityMetrics::kMaxSeries +
                      kSequenceFeatures + EvidenceAccumulator::kMaxTracks];
  size_t fused_count = 0;
  if (e.metrics) CloseMetrics(e, window, mode, fused_inputs, &fused_count);

  uint32_t tracked_subjects = 0;  // for the window vector, counted on the way
  if (track_values_) {
    GroupState& lookup = use_fleet ? *groups_[0] : own;
    scored_values_.clear();
    // The group's tables are out of cache by now (every other entity's
    // events came between): their slots are fetched a few values ahead.
    constexpr size_t kLookupAhead = 8;
    const size_t distinct = acc.values.size();
    auto prefetch = [&](size_t i) {
      const uint64_t key = acc.values.KeyAt(i);
      if (!IsSequenceKey(key)) {
        lookup.tables[static_cast<size_t>(key >> 32)].Prefetch(static_cast<Symbol>(key));
      }
    };
    for (size_t i = 0; i < std::min(distinct, kLookupAhead); ++i) prefetch(i);
    size_t next = kLookupAhead;
    acc.values.ForEach([&](uint64_t key, uint32_t n) {
      if (next < distinct) prefetch(next++);
      if (IsSequenceKey(key)) {
        // The sequence model's, listed for ScoreSequences and Learn: one
        // pass over the window's values serves both models.
        scored_values_.push_back(ScoredValue{key, n, nullptr});
        return;
      }
      const int feature = static_cast<int>(key >> 32);
      const auto value = static_cast<Symbol>(key);
      tracked_subjects += feature % 2 == 0 ? 1 : 0;
      uint32_t* learned = lookup.tables[feature].FindCount(value);
      const uint32_t steady = learned != nullptr ? *learned : 0;
      if (startup) {
        // Judged where the value is more typical: a boot executable every
        // replica runs once is rare among the steady state's execs, common
        // among start-up ones.
        const CategoricalTable& at_start = lookup.startup_tables[feature];
        const uint32_t count = at_start.Count(value);
        if (count > 0 && (steady == 0 || at_start.RareMass(count) >=
                                             lookup.tables[feature].RareMass(steady))) {
          observations[feature].ObserveStartup(value, n, count);
          scored_values_.push_back(ScoredValue{key, n, learned, true});
          return;
        }
      }
      observations[feature].Observe(value, n, steady);
      scored_values_.push_back(ScoredValue{key, n, learned});
    });
  }
  if (options_.categorical_model) {
    for (int f = 0; f < kFeatureCount; ++f) {
      FeatureObservation& o = observations[f];
      o.events += acc.untracked_events[f];
      o.new_values += acc.untracked_new[f];
      if (o.events == 0) continue;
      const FeatureScore fs = ScoreFeature(base, f, o, startup);
      tests_.push_back(Test{Test::kFeature, f, fs.p_value, fs, {}, 0});
      fused_inputs[fused_count++] = fs.p_value;
    }
  }
  if (options_.count_model) {
    for (int k = 0; k < kKindCount; ++k) {
      // Metric samples come at the scraper's pace: the metric model scores
      // them, and a window with more scrapes than usual is no spike.
      if (k == static_cast<int>(Kind::kMetric) && options_.metric_model) continue;
      const uint32_t x = acc.counts[k];
      // A kind the group never showed, absent again: nothing to test.
      if (x == 0 && !base.counts.Active(static_cast<Kind>(k))) continue;
      const CountPrediction pred = base.counts.Predict(static_cast<Kind>(k), hour, age, seasonal);
      const double p = stats::CountSpikeMidP(x, pred.mean, pred.variance);
      tests_.push_back(Test{Test::kSpike, k, p, {}, pred, x});
      fused_inputs[fused_count++] = p;
    }
    // A drop in the previous window counts only now that this window shows
    // the entity was alive after it: a removed container is not a drop.
    const int64_t previous = window - 1;
    if (e.previous_window == previous && previous - e.first_window >= 1 &&
        ModeFor(e, previous) != Mode::kLearn) {
      const int previous_hour = HourOf(previous);
      for (int k = 0; k < kKindCount; ++k) {
        if (!base.counts.Active(static_cast<Kind>(k))) continue;
        const CountPrediction pred =
            base.counts.Predict(static_cast<Kind>(k), previous_hour, age - 1, seasonal);
        if (pred.mean < kMinDropTestMean) continue;
        const uint32_t x = e.previous_counts[k];
        const double p = stats::CountDropMidP(x, pred.mean, pred.variance);
        tests_.push_back(Test{Test::kDrop, k, p, {}, pred, x});
        fused_inputs[fused_count++] = p;
      }
    }
    if (coarse_done != 0) ScoreCoarse(e, window, coarse_done, base, fused_inputs, &fused_count);
  }
  if (options_.value_model) {
    for (int k = 0; k < kKindCount; ++k) {
      const Kind kind = static_cast<Kind>(k);
      // Metric samples are signed and periodic: the metric model's job.
      if (kind == Kind::kMetric) continue;
      const ValueObservation& v = acc.value_obs[k];
      if (v.values > 0 && base.values.histogram(kind).total() >= ValueBaseline::kMinWindows) {
        const double p = base.values.ValuePValue(kind, v);
        tests_.push_back(Test{Test::kValue, k, p, {}, {}, 0});
        fused_inputs[fused_count++] = p;
      }
      if (v.errors > 0) {
        const double p = base.values.ErrorPValue(kind, v);
        if (p < 1) {
          tests_.push_back(Test{Test::kErrors, k, p, {}, {}, 0});
          fused_inputs[fused_count++] = p;
        }
      }
    }
  }
  if (options_.value_distribution) {
    for (int slot = 0; slot < kDistributionKinds; ++slot) {
      const WindowSample& sample = acc.samples[static_cast<size_t>(slot)];
      if (sample.empty()) continue;
      const DistributionScore ds = base.distributions.Score(slot, sample, window);
      if (ds.n == 0) continue;  // too few values learned
      distribution_scores_[static_cast<size_t>(slot)] = ds;
      // Like the error test: a window with nothing above the threshold
      // (p = 1) has nothing to say and does not dilute the others.
      if (ds.tail_p < 1) {
        tests_.push_back(Test{Test::kTail, slot, ds.tail_p, {}, {}, 0});
        fused_inputs[fused_count++] = ds.tail_p;
      }
      if (ds.shift_p < 1) {
        tests_.push_back(Test{Test::kShift, slot, ds.shift_p, {}, {}, 0});
        fused_inputs[fused_count++] = ds.shift_p;
      }
    }
  }
  if (options_.sequence_model) ScoreSequences(e, acc, window, base, fused_inputs, &fused_count);
  if (options_.mix_model) {
    mix_stats_ = WindowMix(base, acc, scored_values_);
    for (int m = 0; m < kMixFeatureCount; ++m) {
      const MixBaseline::Score s = base.mix.ScoreMix(m, mix_stats_);
      if (s.stratum < 0) continue;
      mix_scores_[static_cast<size_t>(m)] = s;
      tests_.push_back(Test{Test::kMix, kMixFeatureOf[static_cast<size_t>(m)], s.p_value, {}, {}, 0});
      fused_inputs[fused_count++] = s.p_value;
    }
    for (int d = 0; d < kDistinctFeatureCount; ++d) {
      const MixBaseline::Score s = base.mix.ScoreDistinct(d, mix_stats_);
      if (s.stratum < 0) continue;
      distinct_scores_[static_cast<size_t>(d)] = s;
      tests_.push_back(
          Test{Test::kDistinct, kDistinctFeatureOf[static_cast<size_t>(d)], s.p_value, {}, {}, 0});
      fused_inputs[fused_count++] = s.p_value;
    }
  }
  MultivariateVector vector{};
  if (options_.multivariate_model) {
    vector = track_values_ ? WindowVector(acc, tracked_subjects) : WindowVector(acc);
  }
  // Not against the fleet: its covariance mixes every group's, and a
  // window of a new group unlike the fleet's is the new-group finding's
  // news, not this model's.
  if (options_.multivariate_model && !use_fleet) {
    const MultivariateScore ms = base.multivariate.Score(vector);
    if (ms.tested) {
      multivariate_score_ = ms;
      // Indexed by the dimension that contributes most: the behaviour a
      // replica shares (see BehaviourKeys).
      tests_.push_back(Test{Test::kMultivariate, ms.top_count > 0 ? ms.top[0].dim : 0, ms.p_value,
                            {}, {}, 0});
      fused_inputs[fused_count++] = ms.p_value;
    }
  }
  const bool quarantined =
      options_.accumulate_evidence && AccumulateEvidence(e, window, fused_inputs, &fused_count);
  bool forced = false;
  if (options_.report_new_groups && own.new_after_learning && !own.new_group_reported) {
    own.new_group_reported = true;
    forced = true;
    const double p = group_arrivals_.WindowNoveltyRate(0.5, 1.0);
    tests_.push_back(Test{Test::kNewGroup, 0, p, {}, {}, 0});
    fused_inputs[fused_count++] = p;
  }

  double p_value = stats::CauchyCombine(absl::MakeConstSpan(fused_inputs, fused_count));
  double score = stats::PValueToScore(p_value);
  const bool is_finding = forced || score >= threshold_;
  if (forced && score < threshold_) {
    // A new group is a finding by policy: it is reported at the threshold.
    score = threshold_;
    p_value = std::pow(10.0, -threshold_);
  }
  ++stats_.windows_scored;
  if (on_window_) {
    on_window_(WindowScore{e.name, own.is_entity ? kNoSymbol : own.name, start_ns,
                           start_ns + window_ns_, score, p_value, acc.events});
  }
  const bool consensus = options_.group_consensus && !own.is_entity;
  if (consensus) own.consensus.CountActive(window);
  bool held = false;  // the finding waits for group consensus
  if (is_finding) {
    if (!on_finding_ && !consensus) ++stats_.findings;  // nothing to write or hold
    if (on_finding_ || consensus) {
      Finding finding;
      finding.entity = std::string(symbols_.Name(e.name));
      finding.group = own.is_entity ? std::string() : std::string(symbols_.Name(own.name));
      finding.window_start_ns = start_ns;
      finding.window_end_ns = start_ns + window_ns_;
      finding.score = score;
      finding.p_value = p_value;
      finding.severity = SeverityOf(score, threshold_);
      if (forced && finding.severity == Severity::kLow) finding.severity = Severity::kMedium;
      std::stable_sort(tests_.begin(), tests_.end(), [](const Test& a, const Test& b) {
        if (a.p_value != b.p_value) return a.p_value < b.p_value;
        if (a.type != b.type) return a.type < b.type;
        return a.index < b.index;
      });
      // Reason i is about tests_[i]: held findings rely on it.
      for (const Test& t : tests_) {
        if (finding.reasons.size() >= kMaxReasons) break;
        // Past the first, weak tests are left out, but a new group's test
        // always gets its reason, wherever its p-value sorts. (Skipping
        // rather than stopping keeps reason i about tests_[i] for every
        // finding that can be held: a new group's never is.)
        if (!finding.reasons.empty() && t.p_value > kReasonPValue && t.type != Test::kNewGroup) continue;
        finding.reasons.push_back(
            ExplainTest(t, ClosedWindow{e, own, base, acc, observations, window, hour, age}));
      }
      held = HoldOrReport(e, window, acc, observations, consensus && !forced, std::move(finding));
      if (held && coarse_done != 0) {
        HeldCoarse& c = own.held_coarse.emplace_back();
        c.entity = e.name;
        c.window = window;
        c.levels = coarse_done;
        for (int level = 0; level < kCoarseLevels; ++level) c.counts[level] = e.coarse[level].counts;
      }
    }
    // The finding reported what had accumulated, and its own tests started
    // the new levels: those runs stay quiet until they end, or a lasting
    // change would be a finding every few windows.
    for (EvidenceTrack& track : e.evidence) track.reported = true;
  } else if (consensus) {
    RecordBehaviours(e, window, acc, observations, nullptr);
  }
  // A finding reported its window, or an earlier one reported the change
  // this window continues (its evidence runs on, quiet): the coarse
  // windows holding it are neither scored again for it nor learned. A
  // quarantined window's are not learned (both as the window itself). A
  // finding held for consensus may be a change of the whole group, which
  // its replicas' coarse windows must go on showing together: those stay
  // scored.
  bool reported_run = false;
  for (const EvidenceTrack& t : e.evidence) reported_run |= t.reported && t.level > 0;
  for (CoarseAccumulator& c : e.coarse) {
    if ((is_finding && !held) || reported_run) c.full = false;
    if (quarantined) c.quarantined = true;
  }
  // The fleet baseline is what the fleet did while learning; after it only
  // the groups keep learning (half the work per window).
  if (!is_finding && !quarantined && mode == Mode::kMonitor) {
    const bool looked_up_in_own = track_values_ && !use_fleet;
    Learn(own, acc, hour, age, window, /*pooled=*/true, sequence_untracked,
          looked_up_in_own ? &scored_values_ : nullptr, &vector,
          options_.mix_model && !use_fleet ? &mix_stats_ : nullptr);
    learn_coarse(own);
  }
  e.previous_window = window;
  e.previous_counts = acc.counts;
  acc.window = -1;
  if (e.sequences) ForgetSequenceWindow(e, window);
}

bool EngineImpl::AccumulateEvidence(EntityState& e, int64_t window, double* fused_inputs,
                                    size_t* fused_count) {
  evidence_inputs_.clear();
  for (const Test& t : tests_) {
    // A metric's windows are serially dependent (a slow drift keeps its
    // p-values low for a while): the metric model scores runs itself,
    // against the series' own history. So is the multivariate distance:
    // its counts follow the load through the day.
    // Coarse tests already sum their span, and come once per span: a CUSUM
    // over them would fade between them.
    if (t.type == Test::kMetric || t.type == Test::kMultivariate ||
        t.type == Test::kCoarseSpike || t.type == Test::kCoarseDrop) {
      continue;
    }
    evidence_inputs_.push_back(
        TestPValue{static_cast<uint16_t>((t.type << 8) | static_cast<unsigned>(t.index)), t.p_value});
  }
  evidence_found_.clear();
  if (tests_.empty() && e.evidence.empty()) return false;
  evidence_.Update(evidence_inputs_, &e.evidence, &evidence_found_);
  const GroupConsensus& consensus = groups_[e.group]->consensus;
  if (options_.group_consensus && !evidence_found_.empty() && !consensus.empty()) {
    const int64_t since = window - consensus_memory_windows_;
    std::erase_if(evidence_found_, [&](const AccumulatedEvidence& found) {
      const uint32_t type = found.track.test >> 8;
      const uint32_t index = found.track.test & 0xff;
      const bool known = consensus.ReportedSince(BehaviourKey(type, index, kNoSymbol), since) ||
                         consensus.ReportedSince(
                             BehaviourKey(Test::kEvidence, found.track.test, kNoSymbol), since);
      if (known) {
        for (EvidenceTrack& t : e.evidence) t.reported |= t.test == found.track.test;
      }
      return known;
    });
  }
  bool quarantine = false;
  for (size_t i = 0; i < evidence_found_.size(); ++i) {
    const double p = evidence_found_[i].p_value;
    tests_.push_back(Test{Test::kEvidence, static_cast<int>(i), p, {}, {}, 0});
    fused_inputs[(*fused_count)++] = p;
    quarantine |= p <= kQuarantinePValue;
  }
  return quarantine;
}

bool EngineImpl::HoldOrReport(const EntityState& e, int64_t window, const WindowAccumulator& acc,
                              const std::array<FeatureObservation, kFeatureCount>& observations,
                              bool may_hold, Finding finding) {
  HeldFinding held;
  held.finding = std::move(finding);
  const bool consensus = options_.group_consensus && !groups_[e.group]->is_entity;
  if (!consensus || !RecordBehaviours(e, window, acc, observations, &held) || !may_hold) {
    Report(held.finding);
    return false;
  }
  held.group = e.group;
  held.entity = e.name;
  held.window = window;
  HeldWindow& w = held.learn;
  acc.values.ForEach([&](uint64_t key, uint32_t n) { w.values.emplace_back(key, n); });
  w.counts = acc.counts;
  w.value_obs = acc.value_obs;
  w.samples = acc.samples;
  w.untracked_events = acc.untracked_events;
  w.untracked_new = acc.untracked_new;
  if (e.sequences) {
    if (const SequenceUntracked* u = e.sequences->UntrackedOf(window)) w.sequence_untracked = *u;
  }
  w.hour = HourOf(window);
  w.age = window - e.first_window;
  held_.push_back(std::move(held));
  return true;
}

bool EngineImpl::BehaviourKeys(const Test& t, const WindowAccumulator& acc,
                               const std::array<FeatureObservation, kFeatureCount>& observations,
                               std::vector<uint64_t>* keys) const {
  switch (t.type) {
    case Test::kFeature: {
      if (!t.feature_score.novelty) {
        const FeatureObservation& o = observations[t.index];
        const Symbol rarest = t.feature_score.startup ? o.startup_rarest : o.rarest;
        if (rarest == kNoSymbol) return false;
        keys->push_back(BehaviourKey(kRareValueKeyType, t.index, rarest));
        return true;
      }
      if (acc.untracked_new[t.index] > 0) return false;
      const size_t before = keys->size();
      for (const ScoredValue& v : scored_values_) {
        if (v.learned != nullptr || v.startup_known || static_cast<int>(v.key >> 32) != t.index) {
          continue;
        }
        if (keys->size() - before == kMaxSharedValues) {
          keys->resize(before);
          return false;
        }
        keys->push_back(BehaviourKey(t.type, t.index, static_cast<Symbol>(v.key)));
      }
      return keys->size() > before;
    }
    case Test::kCoarseSpike:
    case Test::kCoarseDrop:
      // The same behaviour as the count test's: a deploy that changes
      // every replica's rate is one change, whichever span shows it first.
      keys->push_back(BehaviourKey(t.type == Test::kCoarseSpike ? Test::kSpike : Test::kDrop,
                                   t.index % kKindCount, kNoSymbol));
      return true;
    case Test::kSpike:
    case Test::kDrop:
    case Test::kValue:
    case Test::kErrors:
    case Test::kTail:
    case Test::kShift:
    case Test::kMix:       // a deploy changing every replica's mix
    case Test::kDistinct:  // or the set of actions each one calls
      keys->push_back(BehaviourKey(t.type, t.index, kNoSymbol));
      return true;
    case Test::kEvidence:
      // Replicas accumulating evidence on the same test (a deploy's
      // moderate shift on every replica) share it.
      keys->push_back(BehaviourKey(t.type, evidence_found_[static_cast<size_t>(t.index)].track.test,
                                   kNoSymbol));
      return true;
    case Test::kSequence: {
      const int f = t.index;
      if (!sequence_scores_[f].novelty) {
        if (sequence_observations_[f].distinct_known == 0) return false;
        keys->push_back(SequenceBehaviourKey(Test::kSequence, kSequenceFeatures + f,
                                           sequence_observations_[f].rarest));
        return true;
      }
      const std::vector<uint64_t>& ids = sequence_new_ids_[f];
      if (sequence_untracked_new_[f] > 0 || ids.empty() || ids.size() > kMaxSharedValues) {
        return false;
      }
      for (uint64_t id : ids) keys->push_back(SequenceBehaviourKey(Test::kSequence, f, id));
      return true;
    }
    case Test::kMultivariate:
      // The model itself needs no sharing between replicas (its state is
      // the group's). Its test is still a behaviour replicas can show
      // together, keyed by the dimension that contributes most: a deploy
      // that changes the mix of kinds in every replica is replaced by
      // consensus and learned, instead of a finding per replica forever.
      keys->push_back(BehaviourKey(t.type, t.index, kNoSymbol));
      return true;
    case Test::kMetric:  // a series of the entity's own, nothing to compare
    case Test::kNewGroup:
      return false;
  }
  return false;
}

bool EngineImpl::RecordBehaviours(const EntityState& e, int64_t window, const WindowAccumulator& acc,
                                  const std::array<FeatureObservation, kFeatureCount>& observations,
                                  HeldFinding* held) {
  GroupConsensus& consensus = groups_[e.group]->consensus;
  // The p-values of the tests no replica can share: if they alone reach
  // the threshold, the finding stands whatever the others show.
  std::vector<double>& unshared = unshared_p_values_;
  unshared.clear();
  for (size_t i = 0; i < tests_.size(); ++i) {
    const Test& t = tests_[i];
    shared_keys_.clear();
    const bool shared = t.p_value <= kSharedPValue && BehaviourKeys(t, acc, observations, &shared_keys_);
    if (shared) {
      for (uint64_t key : shared_keys_) consensus.AddSighting(key, e.name, window);
    } else {
      unshared.push_back(t.p_value);
    }
    if (held == nullptr) continue;
    const int reason = i < held->finding.reasons.size() ? static_cast<int>(i) : -1;
    held->tests.push_back(HeldFinding::HeldTest{t.p_value, static_cast<uint32_t>(held->keys.size()),
                                                shared ? static_cast<uint32_t>(shared_keys_.size()) : 0u,
                                                reason});
    if (shared) held->keys.insert(held->keys.end(), shared_keys_.begin(), shared_keys_.end());
  }
  if (held == nullptr) return false;
  return stats::PValueToScore(stats::CauchyCombine(unshared)) < threshold_;
}

void EngineImpl::DecideHeld(int64_t now, bool end_of_input) {
  if (!options_.group_consensus) return;
  const int64_t span = options_.consensus_span_windows;
  const int64_t wait = options_.consensus_wait_windows;
  // The group-level finding of each group that reached consensus on a
  // behaviour not reported before, in order of the first finding replaced.
  struct GroupReport {
    uint32_t group;
    Finding finding;
    std::vector<Symbol> replicas;  // that showed the newly reported behaviours
    uint32_t active = 0;           // the most replicas active in a replaced window
  };
  std::vector<GroupReport> reports;
  std::vector<double> residual;
  std::vector<char> covered;  // per test: 0 no, 1 shared, 2 shared and newly reported
  std::vector<Symbol> replicas;
  size_t kept = 0;
  for (HeldFinding& h : held_) {
    GroupState& group = *groups_[h.group];
    GroupConsensus& consensus = group.consensus;
    const uint32_t active = consensus.Active(h.window);
    const size_t quorum = std::max<size_t>(
        kMinConsensusReplicas,
        static_cast<size_t>(std::ceil(options_.consensus_quorum * active - 1e-9)));
    residual.clear();
    covered.assign(h.tests.size(), 0);
    for (size_t i = 0; i < h.tests.size(); ++i) {
      const HeldFinding::HeldTest& t = h.tests[i];
      bool shared = t.count > 0;
      for (uint32_t k = t.first; shared && k < t.first + t.count; ++k) {
        shared = consensus.Replicas(h.keys[k], h.window - span, now) >= quorum;
      }
      covered[i] = shared;
      if (!shared) residual.push_back(t.p_value);
    }
    if (stats::PValueToScore(stats::CauchyCombine(residual)) >= threshold_) {
      // Still a finding without what the replicas share: report it when
      // its wait is over (or no more windows will come).
      if (end_of_input || now >= h.window + wait) {
        Report(h.finding);
      } else {
        if (&held_[kept] != &h) held_[kept] = std::move(h);  // never a self-move
        ++kept;
      }
      continue;
    }
    // Consensus: the group changed. Learn the window (the other replicas'
    // windows below the threshold were learned at their close), and report
    // the behaviours the group has not reported within the memory.
    ++stats_.consensus_replaced;
    if (ModeForHeld(h) == Mode::kMonitor) {
      WindowAccumulator& acc = consensus_scratch_;
      acc.Reset(h.window);
      for (const auto& [key, n] : h.learn.values) {
        acc.values.Add(key, n, h.learn.values.size());
        acc.sequence_keys += IsSequenceKey(key) ? 1 : 0;
      }
      acc.counts = h.learn.counts;
      acc.value_obs = h.learn.value_obs;
      acc.samples = h.learn.samples;
      acc.untracked_events = h.learn.untracked_events;
      acc.untracked_new = h.learn.untracked_new;
      Learn(group, acc, h.learn.hour, h.learn.age, h.window, /*pooled=*/true,
            &h.learn.sequence_untracked);
      for (const HeldCoarse& c : group.held_coarse) {
        if (c.entity != h.entity || c.window != h.window) continue;
        for (int level = 0; level < kCoarseLevels; ++level) {
          if ((c.levels & (1u << level)) != 0) LearnCoarse(group, c.window, level, c.counts[level]);
        }
      }
      // Learned outside a round's closes: the next round's mix cells must
      // come from the table as it is now, as a restored engine's would.
      group.mix.Invalidate();
    }
    // Which shared behaviours are new to the group's reports: the findings
    // replaced in this step join the group's report if any are.
    bool any_new = false;
    for (size_t i = 0; i < h.tests.size(); ++i) {
      const HeldFinding::HeldTest& t = h.tests[i];
      for (uint32_t k = t.first; covered[i] && k < t.first + t.count; ++k) {
        const bool is_new = !consensus.ReportedSince(h.keys[k], now - consensus_memory_windows_);
        covered[i] = is_new ? 2 : covered[i];
        any_new |= is_new;
        consensus.MarkReported(h.keys[k], now);
      }
    }
    GroupReport* report = nullptr;
    for (GroupReport& r : reports) {
      if (r.group == h.group) report = &r;
    }
    // One rollout, one report: behaviours that reach consensus within the
    // span of the group's last report (a deploy's slower effects, such as
    // a connect rate that takes a few windows to stand out) join it.
    const bool recent_report =
        report == nullptr && consensus.ReportedSince(kGroupReportKey, now - span - wait);
    if (report == nullptr && (!any_new || recent_report)) continue;  // learned silently
    if (report == nullptr) consensus.MarkReported(kGroupReportKey, now);
    if (report == nullptr) {
      reports.push_back(GroupReport{h.group, {}, {}, 0});
      report = &reports.back();
      Finding& f = report->finding;
      f.group = h.finding.group;
      f.window_start_ns = h.finding.window_start_ns;
      f.window_end_ns = h.finding.window_end_ns;
      f.severity = Severity::kLow;
    }
    Finding& f = report->finding;
    f.window_start_ns = std::min(f.window_start_ns, h.finding.window_start_ns);
    f.window_end_ns = std::max(f.window_end_ns, h.finding.window_end_ns);
    if (h.finding.score > f.score) {
      f.score = h.finding.score;
      f.p_value = h.finding.p_value;
    }
    report->active = std::max(report->active, active);
    for (size_t i = 0; i < h.tests.size(); ++i) {
      if (!covered[i]) continue;
      const HeldFinding::HeldTest& t = h.tests[i];
      for (uint32_t k = t.first; k < t.first + t.count; ++k) {
        replicas.clear();
        consensus.Replicas(h.keys[k], h.window - span, now, &replicas);
        for (Symbol r : replicas) {
          if (std::find(report->replicas.begin(), report->replicas.end(), r) ==
              report->replicas.end()) {
            report->replicas.push_back(r);
          }
        }
      }
      // The replica's own reason for a newly reported behaviour, once per
      // feature (the first reason is the consensus one).
      if (covered[i] != 2 || t.reason < 0 || f.reasons.size() + 1 >= kMaxReasons) continue;
      const Reason& reason = h.finding.reasons[static_cast<size_t>(t.reason)];
      bool known = false;
      for (const Reason& r : f.reasons) known |= r.model == reason.model && r.feature == reason.feature;
      if (!known) f.reasons.push_back(reason);
    }
  }
  held_.resize(kept);
  // The coarse windows of findings decided now are learned or dropped.
  for (const auto& g : groups_) {
    if (g->held_coarse.empty()) continue;
    std::erase_if(g->held_coarse, [&](const HeldCoarse& c) {
      return std::none_of(held_.begin(), held_.end(), [&](const HeldFinding& h) {
        return h.entity == c.entity && h.window == c.window && groups_[h.group].get() == g.get();
      });
    });
  }

  for (GroupReport& report : reports) {
    Finding& f = report.finding;
    Reason why;
    why.model = "consensus";
    why.feature = "replicas";
    why.observed = absl::StrCat(report.replicas.size(), " of ", report.active,
                                " replicas showed it: ");
    for (size_t i = 0; i < report.replicas.size() && i < kMaxNamedReplicas; ++i) {
      absl::StrAppend(&why.observed, i > 0 ? ", " : "", ToAbsl(symbols_.Name(report.replicas[i])));
    }
    if (report.replicas.size() > kMaxNamedReplicas) {
      absl::StrAppend(&why.observed, " and ", report.replicas.size() - kMaxNamedReplicas, " more");
    }
    why.expected = absl::StrCat(
        "the behaviour of one replica alone; consensus: at least ", kMinConsensusReplicas,
        " replicas and ", options_.consensus_quorum * 100, "% of those active, within ",
        options_.consensus_span_windows, " windows before and ", options_.consensus_wait_windows,
        " after");
    why.p_value = f.p_value;
    f.reasons.insert(f.reasons.begin(), std::move(why));
    Report(f);
  }

  // Forget what no held or future finding can count.
  const int64_t forget_before = now - wait - span;
  const int64_t reported_before = now - consensus_memory_windows_;
  for (const auto& g : groups_) {
    if (!g->consensus.empty()) g->consensus.Forget(forget_before, reported_before);
  }
}

void EngineImpl::Report(const Finding& finding) {
  ++stats_.findings;
  if (finding.entity.empty()) ++stats_.group_findings;
  if (on_finding_) on_finding_(finding);
}

EngineStats EngineImpl::stats() const {
  EngineStats s = stats_;
  s.entities_live = live_.size();
  s.groups = groups_.size() - 1;
  s.watermark_ns = started_ ? next_close_ * window_ns_ : 0;
  s.learning_ends_ns = learning_ends_ns_;
  uint64_t overflowed = 0;
  for (const auto& g : groups_) {
    for (const CategoricalTable& t : g->tables) overflowed += t.overflow();
    for (const CategoricalTable& t : g->startup_tables) overflowed += t.overflow();
  }
  s.values_overflowed = overflowed;
  return s;
}

namespace {

absl::Status UnknownGroup(std::string_view group) {
  return absl::NotFoundError(
      absl::StrCat("no group or ungrouped entity named \"", ToAbsl(group), "\""));
}

}  // namespace

absl::StatusOr<const GroupState*> EngineImpl::FindGroup(std::string_view name) const {
  const std::optional<Symbol> symbol = symbols_.Find(name);
  if (!symbol) return UnknownGroup(name);
  auto it = group_index_.find(*symbol);
  if (it == group_index_.end()) it = group_index_.find(kEntityGroupBit | *symbol);
  if (it == group_index_.end()) {
    // The fleet's baseline answers to "*" unless a real group took the name.
    if (*symbol == groups_[0]->name) return groups_[0].get();
    return UnknownGroup(name);
  }
  return groups_[it->second].get();
}

absl::StatusOr<CountExpectation> EngineImpl::ExpectedCount(std::string_view group, Kind kind,
                                                           int hour_of_day) const {
  if (static_cast<unsigned>(kind) >= static_cast<unsigned>(kKindCount)) {
    return absl::InvalidArgumentError("kind: expected one of the nine event kinds");
  }
  if (hour_of_day < 0 || hour_of_day > 23) {
    return absl::InvalidArgumentError(absl::StrCat("hour_of_day is ", hour_of_day, "; expected 0..23"));
  }
  absl::StatusOr<const GroupState*> found = FindGroup(group);
  if (!found.ok()) return found.status();
  const CountPrediction p = (*found)->counts.Predict(
      kind, hour_of_day, CountBaseline::kStartupWindows, options_.hour_of_day_seasonality);
  CountExpectation out;
  out.mean = p.mean;
  out.lower = static_cast<double>(stats::NegBinomialQuantile(0.01, p.mean, p.variance));
  out.upper = static_cast<double>(stats::NegBinomialQuantile(0.99, p.mean, p.variance));
  out.windows = static_cast<uint64_t>(p.windows);
  return out;
}

absl::StatusOr<std::vector<KnownValue>> EngineImpl::KnownValues(std::string_view group, Kind kind,
                                                                Field field, size_t limit) const {
  if (static_cast<unsigned>(kind) >= static_cast<unsigned>(kKindCount) ||
      static_cast<unsigned>(field) > 1) {
    return absl::InvalidArgumentError("kind or field out of range");
  }
  absl::StatusOr<const GroupState*> found = FindGroup(group);
  if (!found.ok()) return found.status();
  const int feature = FeatureIndex(kind, field);
  const CategoricalTable& steady = (*found)->tables[feature];
  const CategoricalTable& startup = (*found)->startup_tables[feature];
  std::vector<std::pair<Symbol, uint64_t>> known;
  known.reserve(steady.distinct() + startup.distinct());
  steady.ForEachValue([&](Symbol value, uint32_t count) { known.emplace_back(value, count); });
  startup.ForEachValue([&](Symbol value, uint32_t count) {
    if (steady.Count(value) == 0) known.emplace_back(value, 0);
  });
  // Hash order in; the sums, most frequent first, ties by symbol (as
  // CategoricalTable::Top), out.
  for (auto& [value, count] : known) count += startup.Count(value);
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const size_t n = std::min(limit, known.size());
  std::partial_sort(known.begin(), known.begin() + static_cast<std::ptrdiff_t>(n), known.end(), better);
  std::vector<KnownValue> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(KnownValue{std::string(symbols_.Name(known[i].first)), known[i].second});
  }
  return out;
}

absl::StatusOr<std::string> EngineImpl::GroupOf(std::string_view entity) const {
  const std::optional<Symbol> symbol = symbols_.Find(entity);
  if (!symbol || *symbol >= entity_slot_.size() || entity_slot_[*symbol] == kNoSlot) {
    return absl::NotFoundError(absl::StrCat("no live entity named \"", ToAbsl(entity), "\""));
  }
  const GroupState& g = *groups_[entities_[entity_slot_[*symbol]].group];
  return g.is_entity ? std::string() : std::string(symbols_.Name(g.name));
}

std::vector<GroupSummary> EngineImpl::Groups() const {
  std::vector<uint64_t> live_per_group(groups_.size(), 0);
  for (uint32_t slot : live_) ++live_per_group[entities_[slot].group];
  std::vector<GroupSummary> out;
  out.reserve(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) {
    const GroupState& g = *groups_[i];
    out.push_back(GroupSummary{std::string(symbols_.Name(g.name)), g.is_entity,
                               g.new_after_learning, g.learned_windows, live_per_group[i]});
  }
  return out;
}

void EngineImpl::EndLearning() {
  if (!started_) return;
  const int64_t watermark_ns = next_close_ * window_ns_;
  if (watermark_ns < learning_ends_ns_) learning_ends_ns_ = watermark_ns;
}

void EngineImpl::SetMode(Mode mode) {
  if (mode != Mode::kLearn) EndLearning();
  engine_mode_ = static_cast<uint8_t>(mode);
}

absl::Status EngineImpl::SetMode(std::string_view name, std::optional<Mode> mode) {
  const uint8_t value = mode.has_value() ? static_cast<uint8_t>(*mode) : kNoMode;
  const std::optional<Symbol> symbol = symbols_.Find(name);
  if (symbol.has_value()) {
    if (auto it = group_index_.find(*symbol); it != group_index_.end()) {
      groups_[it->second]->mode = value;
      return absl::OkStatus();
    }
    if (*symbol < entity_slot_.size() && entity_slot_[*symbol] != kNoSlot) {
      entities_[entity_slot_[*symbol]].mode = value;
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat("no group or live entity named \"", ToAbsl(name), "\""));
}

absl::StatusOr<Mode> EngineImpl::ModeOf(std::string_view entity) const {
  const std::optional<Symbol> symbol = symbols_.Find(entity);
  if (!symbol || *symbol >= entity_slot_.size() || entity_slot_[*symbol] == kNoSlot) {
    return absl::NotFoundError(absl::StrCat("no live entity named \"", ToAbsl(entity), "\""));
  }
  return ModeFor(entities_[entity_slot_[*symbol]], next_close_);
}

absl::Status ValidateEngineOptions(const EngineOptions& options) {
  auto bad = [](std::string_view field, std::string_view value, std::string_view expected) {
    return absl::InvalidArgumentError(absl::StrCat("EngineOptions::", ToAbsl(field), " is ",
                                                   ToAbsl(value), "; expected ",
                                                   ToAbsl(expected)));
  };
  if (options.window < absl::Seconds(1) || options.window > absl::Hours(24)) {
    return bad("window", timescan::FormatCompactDuration(options.window), "1s..24h");
  }
  if (options.learning_period < absl::ZeroDuration() || options.learning_period > absl::Hours(24 * 366)) {
    return bad("learning_period", timescan::FormatCompactDuration(options.learning_period), "0..366d");
  }
  if (options.allowed_lateness < absl::ZeroDuration() ||
      options.allowed_lateness > 64 * options.window) {
    return bad("allowed_lateness", timescan::FormatCompactDuration(options.allowed_lateness),
               "0..64 windows (larger values hold too many windows open)");
  }
  if (options.idle_ttl < options.window || options.idle_ttl > absl::Hours(24 * 366)) {
    return bad("idle_ttl", timescan::FormatCompactDuration(options.idle_ttl), "one window..366d");
  }
  const double windows_per_day = absl::Hours(24) / options.window;
  if (!(options.false_findings_per_entity_day > 0) ||
      !(options.false_findings_per_entity_day < windows_per_day)) {
    return bad("false_findings_per_entity_day", absl::StrCat(options.false_findings_per_entity_day),
               "a rate above 0 and below the windows per day");
  }
  if (options.threshold.has_value() && !(std::isfinite(*options.threshold) && *options.threshold >= 0)) {
    return bad("threshold", absl::StrCat(*options.threshold), "a finite score >= 0");
  }
  if (!(options.consensus_quorum > 0 && options.consensus_quorum <= 1)) {
    return bad("consensus_quorum", absl::StrCat(options.consensus_quorum), "a share in (0, 1]");
  }
  if (options.consensus_wait_windows > 64) {
    return bad("consensus_wait_windows", absl::StrCat(options.consensus_wait_windows),
               "0..64 (findings are held this many windows)");
  }
  if (options.consensus_span_windows > 1440) {
    return bad("consensus_span_windows", absl::StrCat(options.consensus_span_windows), "0..1440");
  }
  if (options.metric_season < absl::ZeroDuration() ||
      options.metric_season % options.window != absl::ZeroDuration() ||
      options.metric_season > absl::Hours(24 * 7)) {
    return bad("metric_season", timescan::FormatCompactDuration(options.metric_season),
               "0 (detect) or a multiple of the window up to 7d");
  }
  if (options.baseline_half_life != absl::ZeroDuration() &&
      (options.baseline_half_life < 4 * options.window ||
       options.baseline_half_life > absl::Hours(24 * 366))) {
    return bad("baseline_half_life", timescan::FormatCompactDuration(options.baseline_half_life),
               "0 (off) or 4 windows..366d");
  }
  if (!(options.evidence_drift_p > 0 && options.evidence_drift_p <= 0.3)) {
    // Above 1/e the level would grow without bound under the null.
    return bad("evidence_drift_p", absl::StrCat(options.evidence_drift_p), "a p-value in (0, 0.3]");
  }
  if (options.max_values_per_feature < 1) {
    return bad("max_values_per_feature", "0", "at least 1");
  }
  if (options.max_values_per_window < 1 || options.max_values_per_window > 1'000'000) {
    return bad("max_values_per_window", absl::StrCat(options.max_values_per_window), "1..1000000");
  }
  if (options.sequence_length < static_cast<uint32_t>(kMinSequenceLength) ||
      options.sequence_length > static_cast<uint32_t>(kMaxSequenceLength)) {
    return bad("sequence_length", absl::StrCat(options.sequence_length), "2..6");
  }
  for (size_t level = 0; level < options.coarse_windows.size(); ++level) {
    const uint32_t multiple = options.coarse_windows[level];
    const std::string field = absl::StrCat("coarse_windows[", level, "]");
    if (multiple == 1 || multiple > 1440) {
      return bad(field, absl::StrCat(multiple), "0 (off) or 2..1440 windows");
    }
    // Bounded like the learning period: a longer span is never learned.
    if (static_cast<int64_t>(multiple) * options.window > absl::Hours(24 * 366)) {
      return bad(field, absl::StrCat(multiple), "a span (windows times the window) up to 366d");
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kLearn: return "learn";
    case Mode::kMonitor: return "monitor";
    case Mode::kFrozen: return "frozen";
  }
  return "unknown";
}

std::optional<Mode> ModeFromName(std::string_view name) {
  for (Mode mode : {Mode::kLearn, Mode::kMonitor, Mode::kFrozen}) {
    if (name == ModeName(mode)) return mode;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (absl::Status status = internal::ValidateEngineOptions(options); !status.ok()) return status;
  return std::unique_ptr<Engine>(new internal::EngineImpl(options));
}

}  // namespace timescan
