#include "sim/sources.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace timescan::sim_internal {

DailyCurve::DailyCurve(double amplitude, double peak_hour) {
  for (int minute = 0; minute <= 1440; ++minute) {
    const double turns = minute / 1440.0 - peak_hour / 24.0;
    table_[minute] = 1 + amplitude * CosTurns(turns);
    max_ = std::max(max_, table_[minute]);
  }
}

double DailyCurve::Factor(int64_t time_ns) const {
  const int64_t of_day = NsOfDay(time_ns);
  const int64_t minute = of_day / kMinuteNs;
  const double frac = static_cast<double>(of_day - minute * kMinuteNs) * (1.0 / kMinuteNs);
  return table_[minute] + (table_[minute + 1] - table_[minute]) * frac;
}

double ValueSpec::Sample(Rng& rng, const DailyCurve& curve, int64_t time_ns,
                         double multiplier) const {
  double x = 0;
  if (mode == Mode::kLogNormal) {
    x = rng.LogNormal(center, spread);
  } else if (mode == Mode::kDaily) {
    x = center + amplitude * (curve.Factor(time_ns) - 1) + spread * rng.Normal();
  }
  x *= multiplier;
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return Quantize(x, scale);
}

IdSpace::IdSpace(Format format, std::string prefix, std::string suffix, uint32_t first,
                 uint32_t count, bool squared)
    : format_(format),
      prefix_(std::move(prefix)),
      suffix_(std::move(suffix)),
      first_(first),
      count_(count),
      squared_(squared),
      cache_(count, kNoSymbol) {}

std::string IdSpace::Text(uint32_t index) const {
  switch (format_) {
    case Format::kDecimal:
      return absl::StrCat(prefix_, first_ + index, suffix_);
    case Format::kSku:
      return absl::StrFormat("%s%05u%s", prefix_, first_ + index, suffix_);
    case Format::kIpv4:
      return absl::StrCat(prefix_, index / 254, ".", index % 254 + 1, suffix_);
  }
  return {};
}

Symbol IdSpace::Draw(Rng& rng, SymbolTable& symbols) {
  uint32_t index;
  if (squared_) {
    const double u = rng.Uniform();
    index = std::min(count_ - 1, static_cast<uint32_t>(u * u * count_));
  } else {
    index = static_cast<uint32_t>(rng.Below(count_));
  }
  Symbol& symbol = cache_[index];
  if (symbol == kNoSymbol) symbol = symbols.Intern(Text(index));
  return symbol;
}

Picker& Picker::Add(double weight, Symbol symbol) {
  total_ += weight;
  choices_.push_back({total_, symbol, nullptr});
  return *this;
}

Picker& Picker::Add(double weight, IdSpace* space) {
  total_ += weight;
  choices_.push_back({total_, kNoSymbol, space});
  return *this;
}

StatusPicker& StatusPicker::Add(double weight, int32_t status) {
  total_ += weight;
  choices_.emplace_back(total_, status);
  return *this;
}

// --- TrafficSource -----------------------------------------------------------

TrafficSource::TrafficSource(const TrafficSpec& spec, const World& world, Symbol entity,
                             Symbol group, int64_t start_ns, int64_t end_ns, uint64_t seed,
                             std::vector<Impairment> impairments)
    : Source(entity, group, end_ns),
      spec_(spec),
      world_(world),
      rng_(seed),
      base_per_minute_(spec.per_minute * world.load),
      impairments_(std::move(impairments)) {
  errors_.Add(0.4, 500).Add(0.2, 502).Add(0.3, 503).Add(0.1, 504);
  Advance(start_ns);
}

void TrafficSource::Advance(int64_t from_ns) {
  double per_minute = base_per_minute_;
  if (spec_.daily) per_minute *= world_.curve->Factor(from_ns);
  if (spec_.web_share) per_minute *= world_.WebShare(from_ns);
  // Evaluating the rate at the last event approximates the inhomogeneous
  // Poisson process closely: the rate changes over hours, gaps last seconds.
  const double gap = rng_.Exponential() * (static_cast<double>(kMinuteNs) / per_minute);
  const double room = static_cast<double>(end_ns_ - from_ns);
  next_ns_ = gap < room ? from_ns + static_cast<int64_t>(gap) : end_ns_;
}

bool TrafficSource::Fire(Event* event) {
  const int64_t now = next_ns_;
  bool silent = false, slow = false;
  for (const Impairment& impairment : impairments_) {
    if (now >= impairment.begin_ns && now < impairment.end_ns) {
      if (impairment.type == Impairment::Type::kSilent) silent = true;
      else slow = true;
    }
  }
  if (!silent) {
    SymbolTable& symbols = *world_.symbols;
    const Symbol subject = spec_.subject->Pick(rng_, symbols);
    const Symbol actor = spec_.actor != nullptr ? spec_.actor->Pick(rng_, symbols) : kNoSymbol;
    Begin(event, spec_.kind, subject, actor);
    if (spec_.value.present()) {
      event->has_value = true;
      event->value = spec_.value.Sample(rng_, *world_.curve, now, slow ? 5 : 1);
    }
    if (spec_.status != nullptr) {
      int32_t status = spec_.status->Pick(rng_);
      if (slow && rng_.Uniform() < 0.3) status = errors_.Pick(rng_);
      event->has_status = true;
      event->status = status;
    }
  }
  Advance(now);
  return !silent;
}

// --- PeriodicSource ----------------------------------------------------------

PeriodicSource::PeriodicSource(const PeriodicSpec& spec, const World& world, Symbol entity,
                               Symbol group, int64_t first_ns, int64_t end_ns, uint64_t seed)
    : Source(entity, group, end_ns), spec_(spec), world_(world), rng_(seed) {
  period_ns_ = world.load >= 1
                   ? spec.period_ns
                   : static_cast<int64_t>(static_cast<double>(spec.period_ns) / world.load);
  next_ns_ = std::min(first_ns, end_ns);
}

bool PeriodicSource::Fire(Event* event) {
  const PeriodicItem& item = spec_.items[item_];
  Begin(event, spec_.kind, item.subject, item.actor);
  if (item.value.present()) {
    event->has_value = true;
    event->value = item.value.Sample(rng_, *world_.curve, next_ns_);
  }
  if (item.has_status) {
    event->has_status = true;
    event->status = item.status;
  }
  if (++item_ == spec_.items.size()) {
    item_ = 0;
    next_ns_ = end_ns_ - next_ns_ > period_ns_ ? next_ns_ + period_ns_ : end_ns_;
  }
  return true;
}

// --- ScriptSource ------------------------------------------------------------

ScriptSource::ScriptSource(Symbol entity, Symbol group, std::vector<ScriptItem> items,
                           int64_t end_ns)
    : Source(entity, group, end_ns), items_(std::move(items)) {
  std::stable_sort(items_.begin(), items_.end(),
                   [](const ScriptItem& a, const ScriptItem& b) { return a.time_ns < b.time_ns; });
  while (!items_.empty() && items_.back().time_ns >= end_ns) items_.pop_back();
  next_ns_ = items_.empty() ? end_ns : items_.front().time_ns;
}

bool ScriptSource::Fire(Event* event) {
  const ScriptItem& item = items_[next_];
  Begin(event, item.kind, item.subject, item.actor);
  event->has_value = item.has_value;
  event->value = item.has_value ? item.value : 0;
  event->has_status = item.has_status;
  event->status = item.has_status ? item.status : 0;
  ++next_;
  next_ns_ = next_ < items_.size() ? items_[next_].time_ns : end_ns_;
  return true;
}

// --- SourceHeap --------------------------------------------------------------

void SourceHeap::Push(Item item) {
  size_t i = items_.size();
  items_.push_back(item);
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Before(items_[i], items_[parent])) break;
    std::swap(items_[i], items_[parent]);
    i = parent;
  }
}

void SourceHeap::Pop() {
  items_.front() = items_.back();
  items_.pop_back();
  if (!items_.empty()) SiftDown(0);
}

void SourceHeap::ReplaceTop(Item item) {
  items_.front() = item;
  SiftDown(0);
}

void SourceHeap::SiftDown(size_t i) {
  const size_t n = items_.size();
  const Item moving = items_[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(items_[child + 1], items_[child])) ++child;
    if (!Before(items_[child], moving)) break;
    items_[i] = items_[child];
    i = child;
  }
  items_[i] = moving;
}

}  // namespace timescan::sim_internal
