// _timescan._Engine: the C++ Engine behind timescan.Engine.
//
// The Python layer turns DataFrames into columns of symbols and codes; this
// file builds Events from those columns and ingests them with the GIL
// released, and keeps, for the Python layer, what the engine reports through
// its callbacks (window scores as columns, findings) and, optionally, the
// event count of every (entity, kind, window) so that baseline() can show
// observed values beside the expected band.
//
// Thread-safety: a _Engine may be called from several Python threads; each
// call holds the engine's mutex (taken after the GIL is released, so a call
// that waits never holds the GIL against the one that works).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "bindings.h"
#include "columns.h"
#include "timescan/engine.h"
#include "timescan/event.h"
#include "timescan/finding.h"
#include "timescan/reader.h"
#include "timescan/timestamps.h"

namespace timescan::python {
namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Events are built and ingested in chunks of this many: large enough to
// amortise the virtual call, small enough to stay in L1/L2.
constexpr size_t kChunk = 2048;

// Returns a new 1-d numpy array holding a copy of `values`.
template <typename T>
py::array_t<T> ToNumpy(const std::vector<T>& values) {
  py::array_t<T> out(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(T));
  return out;
}

absl::Status OptionError(const std::string& name, const std::string& what) {
  return absl::InvalidArgumentError("option '" + name + "': " + what);
}

// The EngineOptions fields, their Python-facing types and defaults.
enum class OptionType { kDuration, kFloat, kOptionalFloat, kBool, kUint32, kUint32Pair };

struct OptionSpec {
  const char* name;
  OptionType type;
};

constexpr OptionSpec kOptionSpecs[] = {
    {"window", OptionType::kDuration},
    {"learning_period", OptionType::kDuration},
    {"allowed_lateness", OptionType::kDuration},
    {"idle_ttl", OptionType::kDuration},
    {"false_findings_per_entity_day", OptionType::kFloat},
    {"threshold", OptionType::kOptionalFloat},
    {"categorical_model", OptionType::kBool},
    {"count_model", OptionType::kBool},
    {"value_model", OptionType::kBool},
    {"hour_of_day_seasonality", OptionType::kBool},
    {"report_new_groups", OptionType::kBool},
    {"learn_after_learning_period", OptionType::kBool},
    {"max_values_per_feature", OptionType::kUint32},
    {"max_values_per_window", OptionType::kUint32},
    {"group_consensus", OptionType::kBool},
    {"consensus_quorum", OptionType::kFloat},
    {"consensus_wait_windows", OptionType::kUint32},
    {"consensus_span_windows", OptionType::kUint32},
    {"metric_model", OptionType::kBool},
    {"value_distribution", OptionType::kBool},
    {"accumulate_evidence", OptionType::kBool},
    {"evidence_drift_p", OptionType::kFloat},
    {"sequence_model", OptionType::kBool},
    {"sequence_length", OptionType::kUint32},
    {"multivariate_model", OptionType::kBool},
    {"mix_model", OptionType::kBool},
    {"lifecycle_phase", OptionType::kBool},
    {"metric_season", OptionType::kDuration},
    {"baseline_half_life", OptionType::kDuration},
    {"coarse_windows", OptionType::kUint32Pair},
};

const char* TypeTag(OptionType type) {
  switch (type) {
    case OptionType::kDuration: return "duration";
    case OptionType::kFloat: return "float";
    case OptionType::kOptionalFloat: return "optional_float";
    case OptionType::kBool: return "bool";
    case OptionType::kUint32: return "uint32";
    case OptionType::kUint32Pair: return "uint32_pair";
  }
  return "?";
}

std::string KnownOptionNames() {
  std::string names;
  for (const OptionSpec& spec : kOptionSpecs) {
    if (!names.empty()) names += ", ";
    names += spec.name;
  }
  return names;
}

// Returns the value of option `name` of `options` as Python sees it
// (durations in nanoseconds).
py::object OptionValue(const EngineOptions& options, const std::string& name) {
  if (name == "window") return py::int_(absl::ToInt64Nanoseconds(options.window));
  if (name == "learning_period") return py::int_(absl::ToInt64Nanoseconds(options.learning_period));
  if (name == "allowed_lateness") return py::int_(absl::ToInt64Nanoseconds(options.allowed_lateness));
  if (name == "idle_ttl") return py::int_(absl::ToInt64Nanoseconds(options.idle_ttl));
  if (name == "false_findings_per_entity_day") return py::float_(options.false_findings_per_entity_day);
  if (name == "threshold") return options.threshold ? py::object(py::float_(*options.threshold)) : py::none();
  if (name == "categorical_model") return py::bool_(options.categorical_model);
  if (name == "count_model") return py::bool_(options.count_model);
  if (name == "value_model") return py::bool_(options.value_model);
  if (name == "hour_of_day_seasonality") return py::bool_(options.hour_of_day_seasonality);
  if (name == "report_new_groups") return py::bool_(options.report_new_groups);
  if (name == "learn_after_learning_period") return py::bool_(options.learn_after_learning_period);
  if (name == "max_values_per_feature") return py::int_(options.max_values_per_feature);
  if (name == "max_values_per_window") return py::int_(options.max_values_per_window);
  if (name == "group_consensus") return py::bool_(options.group_consensus);
  if (name == "consensus_quorum") return py::float_(options.consensus_quorum);
  if (name == "consensus_wait_windows") return py::int_(options.consensus_wait_windows);
  if (name == "consensus_span_windows") return py::int_(options.consensus_span_windows);
  if (name == "metric_model") return py::bool_(options.metric_model);
  if (name == "value_distribution") return py::bool_(options.value_distribution);
  if (name == "accumulate_evidence") return py::bool_(options.accumulate_evidence);
  if (name == "evidence_drift_p") return py::float_(options.evidence_drift_p);
  if (name == "sequence_model") return py::bool_(options.sequence_model);
  if (name == "sequence_length") return py::int_(options.sequence_length);
  if (name == "coarse_windows") {
    return py::make_tuple(options.coarse_windows[0], options.coarse_windows[1]);
  }
  if (name == "multivariate_model") return py::bool_(options.multivariate_model);
  if (name == "mix_model") return py::bool_(options.mix_model);
  if (name == "lifecycle_phase") return py::bool_(options.lifecycle_phase);
  if (name == "metric_season") return py::int_(absl::ToInt64Nanoseconds(options.metric_season));
  if (name == "baseline_half_life") {
    return py::int_(absl::ToInt64Nanoseconds(options.baseline_half_life));
  }
  return py::none();
}

py::dict OptionsToDict(const EngineOptions& options) {
  py::dict out;
  for (const OptionSpec& spec : kOptionSpecs) out[spec.name] = OptionValue(options, spec.name);
  return out;
}

// Sets the field `name` of `options` from a Python value: durations are
// integer nanoseconds (the Python layer parses strings and timedeltas).
void SetOption(EngineOptions& options, const std::string& name, const py::handle value) {
  const OptionSpec* spec = nullptr;
  for (const OptionSpec& s : kOptionSpecs) {
    if (name == s.name) spec = &s;
  }
  if (spec == nullptr) {
    throw StatusError(OptionError(name, "unknown option; expected one of " + KnownOptionNames()));
  }
  try {
    switch (spec->type) {
      case OptionType::kDuration: {
        const auto ns = absl::Nanoseconds(value.cast<int64_t>());
        if (name == "window") options.window = ns;
        if (name == "learning_period") options.learning_period = ns;
        if (name == "allowed_lateness") options.allowed_lateness = ns;
        if (name == "idle_ttl") options.idle_ttl = ns;
        if (name == "metric_season") options.metric_season = ns;
        if (name == "baseline_half_life") options.baseline_half_life = ns;
        break;
      }
      case OptionType::kFloat:
        if (name == "false_findings_per_entity_day") options.false_findings_per_entity_day = value.cast<double>();
        if (name == "consensus_quorum") options.consensus_quorum = value.cast<double>();
        if (name == "evidence_drift_p") options.evidence_drift_p = value.cast<double>();
        break;
      case OptionType::kOptionalFloat:
        if (value.is_none()) {
          options.threshold.reset();
        } else {
          options.threshold = value.cast<double>();
        }
        break;
      case OptionType::kBool: {
        if (!py::isinstance<py::bool_>(value)) throw py::cast_error("not a bool");
        const bool b = value.cast<bool>();
        if (name == "categorical_model") options.categorical_model = b;
        if (name == "count_model") options.count_model = b;
        if (name == "value_model") options.value_model = b;
        if (name == "hour_of_day_seasonality") options.hour_of_day_seasonality = b;
        if (name == "report_new_groups") options.report_new_groups = b;
        if (name == "learn_after_learning_period") options.learn_after_learning_period = b;
        if (name == "group_consensus") options.group_consensus = b;
        if (name == "metric_model") options.metric_model = b;
        if (name == "value_distribution") options.value_distribution = b;
        if (name == "accumulate_evidence") options.accumulate_evidence = b;
        if (name == "sequence_model") options.sequence_model = b;
        if (name == "multivariate_model") options.multivariate_model = b;
        if (name == "mix_model") options.mix_model = b;
        if (name == "lifecycle_phase") options.lifecycle_phase = b;
        break;
      }
      case OptionType::kUint32: {
        const auto v = value.cast<int64_t>();
        if (v < 0 || v > std::numeric_limits<uint32_t>::max()) {
          throw StatusError(OptionError(name, "expected an integer in 0..4294967295, got " +
                                                  std::to_string(v)));
        }
        if (name == "max_values_per_feature") options.max_values_per_feature = static_cast<uint32_t>(v);
        if (name == "max_values_per_window") options.max_values_per_window = static_cast<uint32_t>(v);
        if (name == "consensus_wait_windows") options.consensus_wait_windows = static_cast<uint32_t>(v);
        if (name == "consensus_span_windows") options.consensus_span_windows = static_cast<uint32_t>(v);
        if (name == "sequence_length") options.sequence_length = static_cast<uint32_t>(v);
        break;
      }
      case OptionType::kUint32Pair: {
        // Ranges are the engine's to check; here only the shape.
        const auto pair = value.cast<std::vector<int64_t>>();
        if (pair.size() != 2 || pair[0] < 0 || pair[1] < 0 ||
            pair[0] > std::numeric_limits<uint32_t>::max() ||
            pair[1] > std::numeric_limits<uint32_t>::max()) {
          throw StatusError(OptionError(name, "expected two integers in 0..4294967295"));
        }
        if (name == "coarse_windows") {
          options.coarse_windows = {static_cast<uint32_t>(pair[0]), static_cast<uint32_t>(pair[1])};
        }
        break;
      }
    }
  } catch (const py::cast_error&) {
    throw StatusError(OptionError(
        name, std::string("expected ") + TypeTag(spec->type) + ", got " +
                  std::string(py::str(py::type::of(value).attr("__name__")))));
  }
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Counts events per (entity, kind, window), for the observed values of
// baseline(). Events arrive mostly in time order, so the counts of the
// current window live in a dense array indexed by (entity slot, kind) and
// move to each (entity, kind) series when time reaches a later window: an
// event costs two array look-ups. An event of an earlier window (late or
// out of order) goes straight into its series.
class WindowCounter {
 public:
  // The windows of one (entity, kind) with events, in window order.
  struct Series {
    std::vector<int64_t> windows;  // window index: start / window width
    std::vector<uint32_t> counts;
  };
  struct EntityCounts {
    Symbol entity = kNoSymbol;
    Symbol group = kNoSymbol;  // the first non-empty group seen
    std::array<Series, kKindCount> kinds;
  };

  explicit WindowCounter(int64_t window_ns) : window_ns_(window_ns) {}

  void Add(const Event& e) {
    const auto kind = static_cast<size_t>(e.kind);
    if (kind >= kKindCount || e.entity == kNoSymbol) return;
    const uint32_t slot = SlotOf(e);
    const int64_t w = FloorDiv(e.time_ns, window_ns_);
    if (w != current_window_) {
      if (w < current_window_) {
        AddTo(entities_[slot].kinds[kind], w, 1);
        return;
      }
      FlushCurrent();
      current_window_ = w;
    }
    const size_t index = static_cast<size_t>(slot) * kKindCount + kind;
    if (current_[index]++ == 0) touched_.push_back(static_cast<uint32_t>(index));
  }

  // Moves the current window's counts into the series (safe at any time:
  // later events of the same window add to the same entries).
  void FlushCurrent() {
    for (uint32_t index : touched_) {
      AddTo(entities_[index / kKindCount].kinds[index % kKindCount], current_window_,
            current_[index]);
      current_[index] = 0;
    }
    touched_.clear();
  }

  const std::vector<EntityCounts>& entities() const { return entities_; }
  int64_t window_ns() const { return window_ns_; }

  size_t series() const {
    size_t n = 0;
    for (const EntityCounts& e : entities_) {
      for (const Series& s : e.kinds) n += s.windows.empty() ? 0 : 1;
    }
    return n;
  }

 private:
  uint32_t SlotOf(const Event& e) {
    if (e.entity >= slot_of_symbol_.size()) slot_of_symbol_.resize(e.entity + size_t{1}, 0);
    uint32_t& slot_plus_one = slot_of_symbol_[e.entity];
    if (slot_plus_one == 0) {
      entities_.emplace_back().entity = e.entity;
      current_.resize(entities_.size() * kKindCount, 0);
      slot_plus_one = static_cast<uint32_t>(entities_.size());
    }
    EntityCounts& counts = entities_[slot_plus_one - 1];
    if (counts.group == kNoSymbol) counts.group = e.group;
    return slot_plus_one - 1;
  }

  static void AddTo(Series& s, int64_t w, uint32_t count) {
    if (s.windows.empty() || s.windows.back() < w) {
      s.windows.push_back(w);
      s.counts.push_back(count);
    } else if (s.windows.back() == w) {
      s.counts.back() += count;
    } else {
      auto pos = std::lower_bound(s.windows.begin(), s.windows.end(), w);
      const auto offset = pos - s.windows.begin();
      if (*pos == w) {
        s.counts[offset] += count;
      } else {
        s.windows.insert(pos, w);
        s.counts.insert(s.counts.begin() + offset, count);
      }
    }
  }

  const int64_t window_ns_;
  std::vector<uint32_t> slot_of_symbol_;  // entity symbol -> slot + 1 (0: none)
  std::vector<EntityCounts> entities_;    // by slot, in first-seen order
  std::vector<uint32_t> current_;         // slot * kKindCount + kind -> count
  std::vector<uint32_t> touched_;         // indices of current_ that are non-zero
  int64_t current_window_ = std::numeric_limits<int64_t>::min();
};

class PyEngine {
 public:
  PyEngine(const py::dict& options, bool record_window_scores, bool record_counts)
      : PyEngine(CreateEngine(options), record_window_scores, record_counts) {}

  // An engine restored from snapshot bytes (Engine::FromSnapshot).
  static std::unique_ptr<PyEngine> FromSnapshot(const py::bytes& bytes, bool record_window_scores,
                                                bool record_counts) {
    const std::string_view view(PyBytes_AS_STRING(bytes.ptr()),
                                static_cast<size_t>(PyBytes_GET_SIZE(bytes.ptr())));
    absl::StatusOr<std::unique_ptr<Engine>> engine;
    {
      py::gil_scoped_release release;
      engine = Engine::FromSnapshot(view);
    }
    return std::make_unique<PyEngine>(ValueOrThrow(std::move(engine)), record_window_scores,
                                      record_counts);
  }

  static std::unique_ptr<PyEngine> LoadSnapshot(const std::string& path, bool record_window_scores,
                                                bool record_counts) {
    absl::StatusOr<std::unique_ptr<Engine>> engine;
    {
      py::gil_scoped_release release;
      engine = Engine::LoadSnapshot(path);
    }
    return std::make_unique<PyEngine>(ValueOrThrow(std::move(engine)), record_window_scores,
                                      record_counts);
  }

  PyEngine(std::unique_ptr<Engine> engine, bool record_window_scores, bool record_counts)
      : record_window_scores_(record_window_scores), record_counts_(record_counts) {
    engine_ = std::move(engine);
    window_ns_ = absl::ToInt64Nanoseconds(engine_->options().window);
    if (window_ns_ <= 0) window_ns_ = 1;
    counter_ = std::make_unique<WindowCounter>(window_ns_);
    engine_->SetWindowScoreCallback([this](const WindowScore& w) {
      if (!record_window_scores_) return;
      ws_entity_.push_back(w.entity);
      ws_group_.push_back(w.group);
      ws_start_.push_back(w.window_start_ns);
      ws_end_.push_back(w.window_end_ns);
      ws_score_.push_back(w.score);
      ws_p_value_.push_back(w.p_value);
      ws_events_.push_back(w.events);
    });
    engine_->SetFindingCallback([this](const Finding& f) { findings_.push_back(f); });
  }

  py::bytes Snapshot() {
    absl::StatusOr<std::string> bytes;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      bytes = engine_->Snapshot();
    }
    return py::bytes(ValueOrThrow(std::move(bytes)));
  }

  void SaveSnapshot(const std::string& path) {
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      status = engine_->SaveSnapshot(path);
    }
    ThrowIfError(status);
  }

  void Merge(PyEngine& other) {
    if (&other == this) {
      throw StatusError(absl::InvalidArgumentError("merge: an engine cannot merge with itself"));
    }
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::scoped_lock lock(mu_, other.mu_);
      status = engine_->Merge(*other.engine_);
    }
    ThrowIfError(status);
  }

  void EndLearning() {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    engine_->EndLearning();
  }

  // `mode`: "learn", "monitor", "frozen", or None (only with a name: clears).
  void SetMode(std::optional<std::string> mode, std::optional<std::string> name) {
    std::optional<Mode> parsed;
    if (mode.has_value()) {
      parsed = ModeFromName(*mode);
      if (!parsed) {
        ThrowIfError(absl::InvalidArgumentError(
            absl::StrCat("mode: expected learn, monitor or frozen, got '", *mode, "'")));
      }
    } else if (!name.has_value()) {
      ThrowIfError(absl::InvalidArgumentError("mode: None clears a group's or entity's mode; "
                                              "the engine's needs learn, monitor or frozen"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (name.has_value()) {
      ThrowIfError(engine_->SetMode(*name, parsed));
    } else {
      engine_->SetMode(*parsed);
    }
  }

  std::string ModeOf(const std::string& entity) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::string(ModeName(ValueOrThrow(engine_->ModeOf(entity))));
  }

  // Returns every baseline as (name, ungrouped_entity, new_after_learning,
  // learned_windows, live_entities) tuples, the fleet's first.
  py::list Groups() {
    std::vector<GroupSummary> groups;
    {
      std::lock_guard<std::mutex> lock(mu_);
      groups = engine_->Groups();
    }
    py::list out;
    for (const GroupSummary& g : groups) {
      out.append(py::make_tuple(ToPyStr(g.name), g.ungrouped_entity, g.new_after_learning,
                                g.learned_windows, g.live_entities));
    }
    return out;
  }

  // Returns the symbols of `values` (str, bytes, or anything str() converts),
  // adding new ones; missing values (IsMissing) give kNoSymbol.
  py::array_t<uint32_t> Intern(const py::iterable& values) {
    std::vector<uint32_t> out;
    std::string storage;
    std::lock_guard<std::mutex> lock(mu_);
    for (py::handle item : values) out.push_back(SymbolOf(item.ptr(), &storage));
    return ToNumpy(out);
  }

  // Returns the symbols of a 1-d object array, row by row: Intern() for a
  // column of Python objects without factorizing it first. A column repeats
  // a few objects, so each distinct object is looked up once (by address):
  // in `memo` when given, which keeps them across the calls for the chunks
  // of one input, else in a memo of this call.
  py::array_t<uint32_t> InternColumn(const py::array& values, ObjectSymbols* memo) {
    ObjectColumn column(values);
    py::array_t<uint32_t> out(column.size());
    uint32_t* o = out.mutable_data();
    std::unique_ptr<ObjectSymbols> local;
    if (memo == nullptr) {
      local = std::make_unique<ObjectSymbols>();
      memo = local.get();
    }
    if (!memo->BindTo(py::cast(this))) {
      throw StatusError(absl::InvalidArgumentError(
          "intern_column(): the memo holds the symbols of another engine"));
    }
    std::string storage;
    std::lock_guard<std::mutex> lock(mu_);
    internal::InternCache& texts = memo->texts();
    auto symbol_of = [&](PyObject* x) -> uint32_t {
      if (IsMissing(x)) return kNoSymbol;
      return texts.Intern(engine_->symbols(), ToUtf8(py::handle(x), &storage));
    };
    memo->GetAll(column.data(), static_cast<size_t>(column.size()), o, symbol_of);
    return out;
  }

  // Returns the symbol of `name` if interned, else None.
  py::object FindSymbol(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Symbol> s = engine_->symbols().Find(name);
    return s ? py::object(py::int_(*s)) : py::object(py::none());
  }

  // Returns the strings of `symbols`.
  py::list Names(const Array<uint32_t>& symbols) {
    std::lock_guard<std::mutex> lock(mu_);
    py::list out;
    const uint32_t* data = symbols.data();
    for (py::ssize_t i = 0; i < symbols.size(); ++i) {
      out.append(ToPyStr(engine_->symbols().Name(data[i])));
    }
    return out;
  }

  // Builds events from columns and ingests them in order.
  // REQUIRES: every array has the length of `time_ns`; kinds < kKindCount
  // and symbols from Intern() (others are counted as invalid by the engine).
  void IngestArrays(const Array<int64_t>& time_ns, const Array<uint8_t>& kind,
                    const Array<uint32_t>& entity, const std::optional<Array<uint32_t>>& group,
                    const std::optional<Array<uint32_t>>& subject,
                    const std::optional<Array<uint32_t>>& actor,
                    const std::optional<Array<double>>& value,
                    const std::optional<Array<int32_t>>& status,
                    const std::optional<Array<bool>>& status_present) {
    const py::ssize_t n = time_ns.size();
    auto check = [n](py::ssize_t size, const char* name) {
      if (size != n) {
        throw StatusError(absl::InvalidArgumentError(
            std::string("column '") + name + "' has " + std::to_string(size) +
            " rows; expected " + std::to_string(n)));
      }
    };
    check(kind.size(), "kind");
    check(entity.size(), "entity");
    if (group) check(group->size(), "group");
    if (subject) check(subject->size(), "subject");
    if (actor) check(actor->size(), "actor");
    if (value) check(value->size(), "value");
    if (status) check(status->size(), "status");
    if (status_present) check(status_present->size(), "status");

    const int64_t* t = time_ns.data();
    const uint8_t* k = kind.data();
    const uint32_t* e = entity.data();
    const uint32_t* g = group ? group->data() : nullptr;
    const uint32_t* s = subject ? subject->data() : nullptr;
    const uint32_t* a = actor ? actor->data() : nullptr;
    const double* v = value ? value->data() : nullptr;
    const int32_t* st = status ? status->data() : nullptr;
    const bool* sp = status_present ? status_present->data() : nullptr;

    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Event> chunk(kChunk);
    for (py::ssize_t begin = 0; begin < n; begin += kChunk) {
      const size_t m = static_cast<size_t>(std::min<py::ssize_t>(kChunk, n - begin));
      for (size_t j = 0; j < m; ++j) {
        const size_t i = static_cast<size_t>(begin) + j;
        Event& ev = chunk[j];
        ev.time_ns = t[i];
        ev.entity = e[i];
        ev.group = g ? g[i] : kNoSymbol;
        ev.kind = static_cast<Kind>(k[i]);
        ev.subject = s ? s[i] : kNoSymbol;
        ev.actor = a ? a[i] : kNoSymbol;
        ev.has_value = v != nullptr && !std::isnan(v[i]);
        ev.value = ev.has_value ? v[i] : 0.0;
        ev.has_status = st != nullptr && (sp == nullptr || sp[i]);
        ev.status = ev.has_status ? st[i] : 0;
      }
      IngestLocked(absl::MakeConstSpan(chunk.data(), m));
    }
  }

  // Reads `path` with an EventReader and ingests every event. Bad records
  // are counted and the first `max_messages` kept; with `strict`, the first
  // bad record stops reading (events before it stay ingested) and raises.
  py::dict IngestJsonl(const std::string& path, const std::string& format, bool strict,
                       size_t max_messages, std::optional<bool> decode_thread,
                       py::object progress, double progress_seconds) {
    std::optional<Format> fmt = FormatFromName(format);
    if (!fmt) {
      throw StatusError(absl::InvalidArgumentError(
          "format '" + format +
          "' unknown; expected one of auto, native, proto, falco, tetragon, cloudtrail, csv"));
    }
    // A stream (stdin, a pipe, a device) may wait for its writer for hours.
    // Meanwhile the engine stays unlocked, for other threads, and Ctrl-C
    // stops the read: it is decoded on this thread, into symbols of its own
    // (translated when an event is handed over), and the reader checks for
    // signals while it waits. A regular file is decoded into the engine's
    // symbols, with the engine locked. Both check for signals every 65,536
    // records.
    const bool stream = IsStream(path);
    SymbolTable stream_symbols;
    std::vector<Symbol> to_engine;  // stream symbol -> engine symbol
    std::optional<py::error_already_set> interrupt;
    auto signalled = [&interrupt] {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() == 0) return false;
      interrupt.emplace();  // KeyboardInterrupt, or what a handler raised
      return true;
    };
    ReaderOptions reader_options;
    reader_options.format = *fmt;
    reader_options.decode_thread = !stream && decode_thread.value_or(DecodeThreadPays(path));
    if (stream) reader_options.keep_waiting = [&] { return !signalled(); };
    std::vector<std::string> messages;
    absl::Status first_error;
    absl::Status open_error;
    absl::Status cut_short;  // the input could not be read to its end
    ReaderStats reader_stats;
    Format detected = *fmt;
    std::optional<py::error_already_set> progress_error;
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
      // Opening a FIFO waits for its writer: not with the engine locked.
      if (!stream) lock.lock();
      absl::StatusOr<std::unique_ptr<EventReader>> opened = EventReader::Open(
          path, stream ? stream_symbols : engine_->symbols(), reader_options);
      if (stream) lock.lock();
      if (!opened.ok()) {
        // Cancelled by Ctrl-C while a FIFO waited for its writer: raised
        // below as the KeyboardInterrupt it is, not as an error.
        if (!(interrupt && absl::IsCancelled(opened.status()))) open_error = opened.status();
      } else {
        EventReader& reader = **opened;
        // A stream's events go to the engine one by one, and its progress
        // is checked at each: a live sensor's event must not wait for the
        // next 2,047, nor its report for the next 65,535.
        const size_t chunk_size = stream ? 1 : kChunk;
        const uint64_t check_every = stream ? 1 : 65536;
        uint64_t since_signal_check = 0;
        std::vector<Event> chunk;
        chunk.reserve(chunk_size);
        Event event;
        const auto started = std::chrono::steady_clock::now();
        auto last_progress = started;
        uint64_t since_check = 0;
        uint64_t handed = 0;  // events given to the engine
        while (true) {
          if (!progress.is_none() && ++since_check >= check_every) {
            since_check = 0;
            const auto now = std::chrono::steady_clock::now();
            if (std::chrono::duration<double>(now - last_progress).count() >= progress_seconds) {
              last_progress = now;
              IngestLocked(chunk);
              chunk.clear();
              const ReaderStats read = reader.stats();
              const int64_t watermark = engine_->stats().watermark_ns;
              // Unlocked: the callback may ask the engine for its stats.
              lock.unlock();
              {
                py::gil_scoped_acquire acquire;
                try {
                  progress(read.records, handed, read.bad_records, watermark,
                           std::chrono::duration<double>(now - started).count());
                } catch (py::error_already_set& e) {
                  progress_error = std::move(e);
                }
              }
              lock.lock();
              if (progress_error) break;
            }
          }
          // A busy stream never waits, so keep_waiting is not asked: it is
          // checked here like a file.
          if (++since_signal_check == 65536) {
            since_signal_check = 0;
            // Unlocked: a signal handler may call the engine.
            lock.unlock();
            const bool stop = signalled();
            lock.lock();
            if (stop) break;
          }
          absl::StatusOr<bool> got;
          if (stream) {
            lock.unlock();
            got = reader.Next(&event);
            lock.lock();
          } else {
            got = reader.Next(&event);
          }
          if (absl::IsCancelled(got.status())) break;  // interrupted while waiting
          if (!got.ok()) {
            if (first_error.ok()) first_error = got.status();
            if (absl::IsDataLoss(got.status()) && cut_short.ok()) cut_short = got.status();
            if (messages.size() < max_messages) messages.emplace_back(got.status().message());
            if (strict) break;
            continue;
          }
          if (!*got) break;
          if (stream) TranslateSymbols(stream_symbols, &to_engine, &event);
          chunk.push_back(event);
          ++handed;
          if (chunk.size() == chunk_size) {
            IngestLocked(chunk);
            chunk.clear();
          }
        }
        IngestLocked(chunk);
        reader_stats = reader.stats();
        detected = reader.format();
        // Names cut in a table other than the engine's.
        if (stream || reader_options.decode_thread) {
          truncated_by_readers_ += reader_stats.symbols_truncated;
        }
      }
    }
    ThrowIfError(open_error);  // the file could not be opened
    if (progress_error) throw std::move(*progress_error);
    if (interrupt) throw std::move(*interrupt);  // after ingesting what was read
    if (strict && !first_error.ok()) throw StatusError(first_error);
    if (!cut_short.ok()) {
      throw StatusError(absl::DataLossError(absl::StrCat(
          cut_short.message(), " (the events read before it were ingested)")));
    }
    py::dict out;
    out["records"] = reader_stats.records;
    out["events"] = reader_stats.events;
    out["bad_records"] = reader_stats.bad_records;
    py::dict skipped;
    for (const auto& [reason, count] : reader_stats.skipped) skipped[ToPyStr(reason)] = count;
    out["skipped"] = skipped;
    py::list errors;
    for (const std::string& m : messages) errors.append(ToPyStr(m));
    out["errors"] = errors;
    out["format"] = std::string(FormatName(detected));
    return out;
  }

  // Gives `event` the engine's symbols for those of `from`, interning
  // names the engine has not seen. Holds mu_.
  void TranslateSymbols(const SymbolTable& from, std::vector<Symbol>* to_engine, Event* event) {
    for (Symbol* symbol : {&event->entity, &event->group, &event->subject, &event->actor}) {
      if (*symbol == kNoSymbol) continue;
      while (to_engine->size() <= *symbol) {
        to_engine->push_back(engine_->symbols().Intern(
            from.Name(static_cast<Symbol>(to_engine->size()))));
      }
      *symbol = (*to_engine)[*symbol];
    }
  }

  void AdvanceTo(int64_t time_ns) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    engine_->AdvanceTo(time_ns);
  }

  void Flush() {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    engine_->Flush();
  }

  // Returns the window scores recorded so far as columns (entity and group
  // as symbols); with `clear`, forgets them.
  py::dict WindowScores(bool clear) {
    std::lock_guard<std::mutex> lock(mu_);
    py::dict out;
    out["entity"] = ToNumpy(ws_entity_);
    out["group"] = ToNumpy(ws_group_);
    out["window_start"] = ToNumpy(ws_start_);
    out["window_end"] = ToNumpy(ws_end_);
    out["score"] = ToNumpy(ws_score_);
    out["p_value"] = ToNumpy(ws_p_value_);
    out["events"] = ToNumpy(ws_events_);
    if (clear) {
      for (auto* v : {&ws_entity_, &ws_group_, &ws_events_}) std::vector<uint32_t>().swap(*v);
      for (auto* v : {&ws_start_, &ws_end_}) std::vector<int64_t>().swap(*v);
      for (auto* v : {&ws_score_, &ws_p_value_}) std::vector<double>().swap(*v);
    }
    return out;
  }

  // Returns the findings reported so far as tuples (entity, group,
  // window_start_ns, window_end_ns, score, p_value, severity, reasons);
  // with `clear`, forgets them.
  py::list Findings(bool clear) {
    std::lock_guard<std::mutex> lock(mu_);
    py::list out;
    for (const Finding& f : findings_) {
      py::list reasons;
      for (const Reason& r : f.reasons) {
        py::dict d;
        d["model"] = ToPyStr(r.model);
        d["feature"] = ToPyStr(r.feature);
        d["observed"] = ToPyStr(r.observed);
        d["expected"] = ToPyStr(r.expected);
        d["p_value"] = r.p_value;
        reasons.append(d);
      }
      out.append(py::make_tuple(ToPyStr(f.entity), ToPyStr(f.group), f.window_start_ns,
                                f.window_end_ns, f.score, f.p_value,
                                std::string(SeverityName(f.severity)), reasons,
                                ToPyStr(FindingToJson(f))));
    }
    if (clear) std::vector<Finding>().swap(findings_);
    return out;
  }

  py::dict Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    const EngineStats s = engine_->stats();
    py::dict out;
    out["events"] = s.events;
    out["late_events"] = s.late_events;
    out["invalid_events"] = s.invalid_events;
    out["bad_lines"] = s.bad_lines;
    out["entities_seen"] = s.entities_seen;
    out["entities_live"] = s.entities_live;
    out["entities_retired"] = s.entities_retired;
    out["groups"] = s.groups;
    out["windows_scored"] = s.windows_scored;
    out["findings"] = s.findings;
    out["group_findings"] = s.group_findings;
    out["consensus_replaced"] = s.consensus_replaced;
    out["values_overflowed"] = s.values_overflowed;
    out["watermark_ns"] = s.watermark_ns;
    out["learning_ends_ns"] = s.learning_ends_ns;
    out["symbols"] = engine_->symbols().size();
    out["symbols_truncated"] = engine_->symbols().truncated() + truncated_by_readers_;
    out["window_scores_recorded"] = ws_entity_.size();
    out["findings_recorded"] = findings_.size();
    out["count_series"] = counter_->series();
    return out;
  }

  double Threshold() {
    std::lock_guard<std::mutex> lock(mu_);
    return engine_->threshold();
  }

  py::dict Options() {
    std::lock_guard<std::mutex> lock(mu_);
    return OptionsToDict(engine_->options());
  }

  int64_t WindowNs() const { return window_ns_; }

  py::tuple ExpectedCount(const std::string& group, int kind, int hour_of_day) {
    CheckKind(kind);
    if (hour_of_day < 0 || hour_of_day > 23) {
      throw StatusError(absl::InvalidArgumentError("hour_of_day " + std::to_string(hour_of_day) +
                                                   " out of range; expected 0..23"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    const CountExpectation c =
        ValueOrThrow(engine_->ExpectedCount(group, static_cast<Kind>(kind), hour_of_day));
    return py::make_tuple(c.mean, c.lower, c.upper, c.windows);
  }

  py::list KnownValues(const std::string& group, int kind, const std::string& field,
                       size_t limit) {
    CheckKind(kind);
    Field f;
    if (field == "subject") {
      f = Field::kSubject;
    } else if (field == "actor") {
      f = Field::kActor;
    } else {
      throw StatusError(absl::InvalidArgumentError("field '" + field +
                                                   "' unknown; expected subject or actor"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<KnownValue> values =
        ValueOrThrow(engine_->KnownValues(group, static_cast<Kind>(kind), f, limit));
    py::list out;
    for (const KnownValue& v : values) out.append(py::make_tuple(ToPyStr(v.value), v.count));
    return out;
  }

  std::string GroupOf(const std::string& entity) {
    std::lock_guard<std::mutex> lock(mu_);
    return ValueOrThrow(engine_->GroupOf(entity));
  }

  // Returns the recorded event counts as columns (entity, group, kind,
  // window_start, count), only of `entity` and/or `group` when >= 0.
  py::dict CountSeriesColumns(int64_t entity, int64_t group) {
    std::lock_guard<std::mutex> lock(mu_);
    counter_->FlushCurrent();
    std::vector<uint32_t> out_entity, out_group, out_count;
    std::vector<uint8_t> out_kind;
    std::vector<int64_t> out_start;
    for (const WindowCounter::EntityCounts& e : counter_->entities()) {
      if (entity >= 0 && e.entity != static_cast<Symbol>(entity)) continue;
      if (group >= 0 && e.group != static_cast<Symbol>(group)) continue;
      for (int k = 0; k < kKindCount; ++k) {
        const WindowCounter::Series& s = e.kinds[k];
        for (size_t i = 0; i < s.windows.size(); ++i) {
          out_entity.push_back(e.entity);
          out_group.push_back(e.group);
          out_kind.push_back(static_cast<uint8_t>(k));
          out_start.push_back(s.windows[i] * window_ns_);
          out_count.push_back(s.counts[i]);
        }
      }
    }
    py::dict out;
    out["entity"] = ToNumpy(out_entity);
    out["group"] = ToNumpy(out_group);
    out["kind"] = ToNumpy(out_kind);
    out["window_start"] = ToNumpy(out_start);
    out["count"] = ToNumpy(out_count);
    return out;
  }

  // Returns (entity symbols, group symbols) of every entity with recorded
  // counts, in first-seen order.
  py::tuple Entities() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<uint32_t> entities, groups;
    for (const WindowCounter::EntityCounts& e : counter_->entities()) {
      entities.push_back(e.entity);
      groups.push_back(e.group);
    }
    return py::make_tuple(ToNumpy(entities), ToNumpy(groups));
  }

 private:
  static std::unique_ptr<Engine> CreateEngine(const py::dict& options) {
    EngineOptions engine_options;
    for (const auto& [key, value] : options) {
      SetOption(engine_options, std::string(py::str(key)), value);
    }
    return ValueOrThrow(Engine::Create(engine_options));
  }

  // REQUIRES: mu_ held.
  Symbol SymbolOf(PyObject* item, std::string* storage) {
    if (IsMissing(item)) return kNoSymbol;
    return engine_->Intern(ToUtf8(py::handle(item), storage));
  }

  static void CheckKind(int kind) {
    if (kind < 0 || kind >= kKindCount) {
      throw StatusError(absl::InvalidArgumentError("kind code " + std::to_string(kind) +
                                                   " out of range"));
    }
  }

  // REQUIRES: mu_ held.
  void IngestLocked(absl::Span<const Event> events) {
    if (events.empty()) return;
    if (record_counts_) Count(events);
    engine_->Ingest(events);
  }

  // Adds `events` to the per-(entity, kind, window) counts. REQUIRES: mu_.
  void Count(absl::Span<const Event> events) {
    for (const Event& ev : events) counter_->Add(ev);
  }

  std::mutex mu_;
  // Names cut while IngestJsonl decoded into a table of the reader's own
  // (a stream's, a decode thread's): the engine's table saw them cut.
  uint64_t truncated_by_readers_ = 0;
  std::unique_ptr<Engine> engine_;
  int64_t window_ns_ = 1;
  const bool record_window_scores_;
  const bool record_counts_;

  std::vector<uint32_t> ws_entity_, ws_group_, ws_events_;
  std::vector<int64_t> ws_start_, ws_end_;
  std::vector<double> ws_score_, ws_p_value_;
  std::vector<Finding> findings_;

  std::unique_ptr<WindowCounter> counter_;
};

}  // namespace

void register_engine(py::module_& m) {
  m.def(
      "option_specs",
      [] {
        const EngineOptions defaults;
        py::dict out;
        for (const OptionSpec& spec : kOptionSpecs) {
          out[spec.name] = py::make_tuple(TypeTag(spec.type), OptionValue(defaults, spec.name));
        }
        return out;
      },
      "Returns {option name: (type tag, default)} for every EngineOptions field; durations "
      "in nanoseconds.");

  py::class_<PyEngine>(m, "_Engine",
                       "The C++ engine with the bindings' collectors. Use timescan.Engine.")
      .def(py::init<const py::dict&, bool, bool>(), py::arg("options"),
           py::arg("record_window_scores") = true, py::arg("record_counts") = true)
      .def("intern", &PyEngine::Intern, py::arg("values"))
      .def("intern_column", &PyEngine::InternColumn, py::arg("values"),
           py::arg("memo") = py::none())
      .def("find_symbol", &PyEngine::FindSymbol, py::arg("name"))
      .def("names", &PyEngine::Names, py::arg("symbols"))
      .def("ingest_arrays", &PyEngine::IngestArrays, py::arg("time_ns"), py::arg("kind"),
           py::arg("entity"), py::arg("group") = py::none(), py::arg("subject") = py::none(),
           py::arg("actor") = py::none(), py::arg("value") = py::none(),
           py::arg("status") = py::none(), py::arg("status_present") = py::none())
      .def("ingest_jsonl", &PyEngine::IngestJsonl, py::arg("path"), py::arg("format") = "auto",
           py::arg("strict") = false, py::arg("max_messages") = 10,
           py::arg("decode_thread") = py::none(), py::arg("progress") = py::none(),
           py::arg("progress_seconds") = 2.0)
      .def("advance_to", &PyEngine::AdvanceTo, py::arg("time_ns"))
      .def("flush", &PyEngine::Flush)
      .def("window_scores", &PyEngine::WindowScores, py::arg("clear") = false)
      .def("findings", &PyEngine::Findings, py::arg("clear") = false)
      .def("stats", &PyEngine::Stats)
      .def("threshold", &PyEngine::Threshold)
      .def("options", &PyEngine::Options)
      .def_property_readonly("window_ns", &PyEngine::WindowNs)
      .def("expected_count", &PyEngine::ExpectedCount, py::arg("group"), py::arg("kind"),
           py::arg("hour_of_day"))
      .def("known_values", &PyEngine::KnownValues, py::arg("group"), py::arg("kind"),
           py::arg("field"), py::arg("limit"))
      .def("group_of", &PyEngine::GroupOf, py::arg("entity"))
      .def("count_series", &PyEngine::CountSeriesColumns, py::arg("entity") = -1,
           py::arg("group") = -1)
      .def("entities", &PyEngine::Entities)
      .def_static("from_snapshot", &PyEngine::FromSnapshot, py::arg("data"),
                  py::arg("record_window_scores") = true, py::arg("record_counts") = true)
      .def_static("load_snapshot", &PyEngine::LoadSnapshot, py::arg("path"),
                  py::arg("record_window_scores") = true, py::arg("record_counts") = true)
      .def("snapshot", &PyEngine::Snapshot)
      .def("save_snapshot", &PyEngine::SaveSnapshot, py::arg("path"))
      .def("merge", &PyEngine::Merge, py::arg("other"))
      .def("end_learning", &PyEngine::EndLearning)
      .def("set_mode", &PyEngine::SetMode, py::arg("mode"), py::arg("name") = py::none())
      .def("mode_of", &PyEngine::ModeOf, py::arg("entity"))
      .def("groups", &PyEngine::Groups);
}

}  // namespace timescan::python
