// The building blocks of the fleet simulator: value spaces, categorical
// pickers, and the three kinds of event streams (Poisson traffic around the
// daily curve, strictly periodic activity, and fixed scripts) that the
// simulator merges by time. Arithmetic that adds a product lives in
// sources.cc, compiled with -ffp-contract=off (see random.h).

#ifndef TIMESCAN_LIB_SIM_SOURCES_H_
#define TIMESCAN_LIB_SIM_SOURCES_H_

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sim/random.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan::sim_internal {

inline constexpr int64_t kSecondNs = 1'000'000'000;
inline constexpr int64_t kMinuteNs = 60 * kSecondNs;
inline constexpr int64_t kHourNs = 60 * kMinuteNs;
inline constexpr int64_t kDayNs = 24 * kHourNs;

// Returns the nanoseconds since UTC midnight of `time_ns` (>= 0).
inline int64_t NsOfDay(int64_t time_ns) { return time_ns % kDayNs; }

// The smooth daily traffic curve: 1 + amplitude * cos(2 pi (hour - peak) / 24),
// mean 1 over a day. Tabulated per minute and linearly interpolated.
class DailyCurve {
 public:
  DailyCurve(double amplitude, double peak_hour);

  // Returns the curve at `time_ns`.
  double Factor(int64_t time_ns) const;

  double max() const { return max_; }

 private:
  std::array<double, 1441> table_;
  double max_ = 0;
};

// What every stream shares: the symbol table, the daily curve, the load and
// the web autoscaling schedule.
struct World {
  SymbolTable* symbols = nullptr;
  const DailyCurve* curve = nullptr;
  double load = 1;
  int replicas = 3;
  bool autoscaling = true;

  // Returns the extra web replicas live at `time_ns`: +1 in [22:00, 06:00)
  // and +1 more in [01:00, 04:00) UTC, when autoscaling.
  int WebExtras(int64_t time_ns) const {
    if (!autoscaling) return 0;
    const int64_t hour = NsOfDay(time_ns) / kHourNs;
    return (hour >= 22 || hour < 6 ? 1 : 0) + (hour >= 1 && hour < 4 ? 1 : 0);
  }

  // Returns the share of the web group's traffic one web replica serves,
  // relative to the share it serves without autoscaling.
  double WebShare(int64_t time_ns) const {
    return static_cast<double>(replicas) / (replicas + WebExtras(time_ns));
  }
};

// A bounded space of generated strings (the designed high-cardinality
// fields): "/products/" + number, "52.216.a.b:443", ... Each string is
// interned on first use and its symbol cached, so the symbol table and this
// cache stay bounded however long the run.
class IdSpace {
 public:
  enum class Format {
    kDecimal,  // prefix + (first + index) + suffix
    kSku,      // prefix + five-digit zero-padded (first + index) + suffix
    kIpv4,     // prefix + (index / 254) + "." + (index % 254 + 1) + suffix
  };

  // `squared`: index = floor(count * u^2), so low indices are popular.
  IdSpace(Format format, std::string prefix, std::string suffix, uint32_t first,
          uint32_t count, bool squared);

  // Returns the symbol of a random member of the space.
  Symbol Draw(Rng& rng, SymbolTable& symbols);

  // Returns the string of member `index`.
  std::string Text(uint32_t index) const;

 private:
  Format format_;
  std::string prefix_, suffix_;
  uint32_t first_, count_;
  bool squared_;
  std::vector<Symbol> cache_;  // kNoSymbol: not interned yet
};

// A categorical choice among fixed symbols and id spaces, with fixed
// probabilities.
class Picker {
 public:
  Picker() = default;
  // Adds a fixed value with weight `weight`.
  Picker& Add(double weight, Symbol symbol);
  // Adds a draw from `space` (not owned; must outlive the picker).
  Picker& Add(double weight, IdSpace* space);

  Symbol Pick(Rng& rng, SymbolTable& symbols) const {
    if (choices_.size() == 1) return Resolve(choices_[0], rng, symbols);
    const double u = rng.Uniform() * total_;
    for (const Choice& c : choices_) {
      if (u < c.cumulative) return Resolve(c, rng, symbols);
    }
    return Resolve(choices_.back(), rng, symbols);
  }

  bool empty() const { return choices_.empty(); }

 private:
  struct Choice {
    double cumulative;
    Symbol symbol;
    IdSpace* space;
  };
  static Symbol Resolve(const Choice& c, Rng& rng, SymbolTable& symbols) {
    return c.space != nullptr ? c.space->Draw(rng, symbols) : c.symbol;
  }
  std::vector<Choice> choices_;
  double total_ = 0;
};

// A categorical choice of status codes.
class StatusPicker {
 public:
  StatusPicker& Add(double weight, int32_t status);
  int32_t Pick(Rng& rng) const {
    const double u = rng.Uniform() * total_;
    for (const auto& [cumulative, status] : choices_) {
      if (u < cumulative) return status;
    }
    return choices_.back().second;
  }
  bool empty() const { return choices_.empty(); }

 private:
  std::vector<std::pair<double, int32_t>> choices_;
  double total_ = 0;
};

// How the `value` of an event is drawn.
struct ValueSpec {
  enum class Mode { kNone, kLogNormal, kDaily };
  Mode mode = Mode::kNone;
  double center = 0;     // log-normal median, or the daily mean
  double spread = 0;     // log-normal sigma, or the sd of normal noise
  double amplitude = 0;  // kDaily: + amplitude * (daily factor - 1)
  double scale = 1;      // values are multiples of 1/scale (1 or 1000: exact in JSON)
  double lo = 0, hi = std::numeric_limits<double>::infinity();

  static ValueSpec None() { return {}; }
  static ValueSpec LogNormal(double median, double sigma, double scale) {
    ValueSpec v;
    v.mode = Mode::kLogNormal;
    v.center = median;
    v.spread = sigma;
    v.scale = scale;
    return v;
  }
  static ValueSpec Daily(double mean, double amplitude, double noise_sd, double scale,
                         double hi = std::numeric_limits<double>::infinity()) {
    ValueSpec v;
    v.mode = Mode::kDaily;
    v.center = mean;
    v.amplitude = amplitude;
    v.spread = noise_sd;
    v.scale = scale;
    v.hi = hi;
    return v;
  }

  bool present() const { return mode != Mode::kNone; }

  // Returns a value for an event at `time_ns`, times `multiplier`.
  double Sample(Rng& rng, const DailyCurve& curve, int64_t time_ns, double multiplier = 1) const;
};

// A window during which a traffic stream misbehaves (an injected attack).
struct Impairment {
  enum class Type {
    kSilent,  // the stream emits nothing
    kSlow,    // values x5 and 30% of statuses become 5xx
  };
  Type type;
  int64_t begin_ns;
  int64_t end_ns;
};

// A stream of events of one entity. Sources are merged by next_ns().
class Source {
 public:
  Source(Symbol entity, Symbol group, int64_t end_ns)
      : entity_(entity), group_(group), end_ns_(end_ns) {}
  virtual ~Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Writes the event due at next_ns() into `*event` and returns true, or
  // returns false for a suppressed one; then advances next_ns() (never
  // backwards). The source is finished when next_ns() >= end_ns().
  // REQUIRES: next_ns() < end_ns().
  virtual bool Fire(Event* event) = 0;

  int64_t next_ns() const { return next_ns_; }
  int64_t end_ns() const { return end_ns_; }

 protected:
  void Begin(Event* event, Kind kind, Symbol subject, Symbol actor) const {
    event->time_ns = next_ns_;
    event->entity = entity_;
    event->group = group_;
    event->kind = kind;
    event->subject = subject;
    event->actor = actor;
    event->has_value = false;
    event->value = 0;
    event->has_status = false;
    event->status = 0;
  }

  Symbol entity_;
  Symbol group_;
  int64_t next_ns_ = 0;
  int64_t end_ns_;
};

// A Poisson stream whose rate follows the daily curve.
struct TrafficSpec {
  Kind kind = Kind::kRequest;
  double per_minute = 0;       // mean rate at load 1, daily factor 1, full share
  bool daily = true;           // the rate follows the daily curve
  bool web_share = false;      // the rate is divided among live web replicas
  const Picker* subject = nullptr;
  const Picker* actor = nullptr;  // null: no actor
  ValueSpec value;
  const StatusPicker* status = nullptr;  // null: no status
};

class TrafficSource : public Source {
 public:
  // The first event is at `start_ns` plus an exponential gap.
  TrafficSource(const TrafficSpec& spec, const World& world, Symbol entity, Symbol group,
                int64_t start_ns, int64_t end_ns, uint64_t seed,
                std::vector<Impairment> impairments);

  bool Fire(Event* event) override;

 private:
  void Advance(int64_t from_ns);

  const TrafficSpec& spec_;
  const World& world_;
  Rng rng_;
  double base_per_minute_;
  std::vector<Impairment> impairments_;
  StatusPicker errors_;  // statuses while slowed
};

// One or more events every `period_ns` exactly (probes, scrapes, cron).
struct PeriodicItem {
  Symbol subject = kNoSymbol;
  Symbol actor = kNoSymbol;
  ValueSpec value;
  bool has_status = false;
  int32_t status = 0;
};

struct PeriodicSpec {
  Kind kind = Kind::kRequest;
  int64_t period_ns = 10 * kSecondNs;  // at load >= 1; divided by load below 1
  std::vector<PeriodicItem> items;     // all emitted at each tick, in order
};

class PeriodicSource : public Source {
 public:
  PeriodicSource(const PeriodicSpec& spec, const World& world, Symbol entity, Symbol group,
                 int64_t first_ns, int64_t end_ns, uint64_t seed);

  bool Fire(Event* event) override;

 private:
  const PeriodicSpec& spec_;
  const World& world_;
  Rng rng_;
  int64_t period_ns_;
  size_t item_ = 0;
};

// A fixed list of events (boot, exit, job runs, attacks).
struct ScriptItem {
  int64_t time_ns = 0;
  Kind kind = Kind::kExec;
  Symbol subject = kNoSymbol;
  Symbol actor = kNoSymbol;
  bool has_value = false;
  double value = 0;
  bool has_status = false;
  int32_t status = 0;
};

class ScriptSource : public Source {
 public:
  // Sorts `items` by time (stable). Items at or after `end_ns` are dropped.
  ScriptSource(Symbol entity, Symbol group, std::vector<ScriptItem> items, int64_t end_ns);

  bool Fire(Event* event) override;

 private:
  std::vector<ScriptItem> items_;
  size_t next_ = 0;
};

// A binary min-heap of (time, sequence) keys naming source slots; ties in
// time go to the lower sequence, so the merge order is deterministic.
class SourceHeap {
 public:
  struct Item {
    int64_t time_ns;
    uint64_t seq;
    uint32_t slot;
  };

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Item& top() const { return items_.front(); }
  void Push(Item item);
  void Pop();
  // Replaces the top with `item` (cheaper than Pop then Push).
  void ReplaceTop(Item item);

 private:
  static bool Before(const Item& a, const Item& b) {
    return a.time_ns < b.time_ns || (a.time_ns == b.time_ns && a.seq < b.seq);
  }
  void SiftDown(size_t i);
  std::vector<Item> items_;
};

}  // namespace timescan::sim_internal

#endif  // TIMESCAN_LIB_SIM_SOURCES_H_
