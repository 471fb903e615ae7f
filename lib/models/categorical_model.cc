#include "models/categorical_model.h"

#include <algorithm>
#include <cmath>

#include "stats/distributions.h"

namespace timescan::internal {

void FeatureObservation::ObserveNew(Symbol value) {
  // Keep the lowest symbols so the examples do not depend on the order in
  // which a hash map hands the values over.
  const uint32_t slot = std::min<uint32_t>(new_values, new_examples.size());
  ++new_values;
  if (slot < new_examples.size()) {
    new_examples[slot] = value;
    for (uint32_t i = slot; i > 0 && new_examples[i] < new_examples[i - 1]; --i)
      std::swap(new_examples[i], new_examples[i - 1]);
  } else if (value < new_examples.back()) {
    new_examples.back() = value;
    for (size_t i = new_examples.size() - 1; i > 0 && new_examples[i] < new_examples[i - 1]; --i)
      std::swap(new_examples[i], new_examples[i - 1]);
  }
}

void FeatureObservation::ObserveStartup(Symbol value, uint32_t n, uint32_t learned) {
  events += n;
  ++startup_known;
  if (learned < startup_rarest_count || (learned == startup_rarest_count && value < startup_rarest)) {
    startup_rarest_count = learned;
    startup_rarest = value;
  }
}

bool CategoricalTable::Add(Symbol value, uint32_t n, uint32_t max_values) {
  if (n == 0) return false;
  uint32_t* count = nullptr;
  if (counts_.size() < max_values) {
    bool inserted;
    count = &counts_.FindOrInsert(value, &inserted);
  } else {
    count = counts_.Find(value);
    if (count == nullptr) {
      total_ += n;
      overflow_ += n;
      return true;
    }
  }
  const bool new_value = *count == 0;
  AddKnown(count, n);
  return new_value;
}

double CategoricalTable::WindowNoveltyRate(double prior_rate, double prior_windows) const {
  return (static_cast<double>(novel_windows_) + prior_windows * prior_rate) /
         (static_cast<double>(windows_) + prior_windows);
}

double CategoricalTable::EventNoveltyRate() const {
  // Overflowed events were all of values not remembered: count them as
  // singletons, which keeps the rate high for a saturated feature.
  const double singletons = static_cast<double>(count_of_counts_[1] + overflow_);
  return std::min(1.0, (singletons + 0.5) / (static_cast<double>(total_) + 1.0));
}

double CategoricalTable::RareMass(uint32_t count) const {
  if (total_ == 0) return 1.0;
  double mass = 0;
  const uint32_t limit = std::min(count, kRareCountLimit);
  for (uint32_t j = 1; j <= limit; ++j) mass += static_cast<double>(j) * count_of_counts_[j];
  if (count > kRareCountLimit) return 1.0;
  return std::min(1.0, mass / static_cast<double>(total_));
}

namespace {

// The chance that at least one of `distinct` known values is as rare as a
// value seen `count` times in `table`: 1 when there is none.
double RarePValue(const CategoricalTable& table, uint32_t distinct, uint32_t count) {
  if (distinct == 0 || count > kRareCountLimit) return 1;
  const double t = table.RareMass(count);
  return t >= 1 ? 1 : -std::expm1(static_cast<double>(distinct) * std::log1p(-t));
}

}  // namespace

FeatureScore CategoricalTable::Score(const FeatureObservation& o, double prior_rate,
                                     double prior_windows, const CategoricalTable* startup) const {
  FeatureScore score;
  score.window_rate = WindowNoveltyRate(prior_rate, prior_windows);
  if (startup != nullptr) {
    score.window_rate = startup->WindowNoveltyRate(score.window_rate, kStartupPriorWindows);
  }
  if (o.events == 0) return score;
  double p_new = 1;
  if (o.new_values > 0) {
    // A hurdle: the first new value has the windowed rate; the others come
    // at the Good-Turing rate per event, in bursts (a geometric count, the
    // negative binomial of size 1, not a Poisson).
    const double extras_mean = static_cast<double>(o.events) * EventNoveltyRate();
    p_new = score.window_rate *
            stats::NegBinomialUpperTail(o.new_values - 1, extras_mean,
                                        extras_mean + extras_mean * extras_mean);
  }
  // At least one of the window's known values is this rare.
  double p_rare = RarePValue(*this, o.distinct_known, o.rarest_count);
  bool rare = o.distinct_known > 0 && o.rarest_count <= kRareCountLimit;
  if (startup != nullptr && o.startup_known > 0 && o.startup_rarest_count <= kRareCountLimit) {
    // Or one of those judged at start-up: one look per table, Bonferroni
    // when both have a rare value.
    const double p_startup = RarePValue(*startup, o.startup_known, o.startup_rarest_count);
    score.startup = !rare || p_startup < p_rare;
    p_rare = rare ? std::min(1.0, 2 * std::min(p_rare, p_startup)) : p_startup;
    rare = true;
  }
  if (o.new_values > 0 && rare) {
    // Two looks at the same feature: Bonferroni.
    score.novelty = p_new <= p_rare;
    score.p_value = stats::ClampPValue(2 * std::min(p_new, p_rare));
  } else if (o.new_values > 0) {
    score.novelty = true;
    score.p_value = stats::ClampPValue(p_new);
  } else {
    score.p_value = stats::ClampPValue(p_rare);
  }
  return score;
}

void CategoricalTable::Merge(const CategoricalTable& other,
                             absl::FunctionRef<Symbol(Symbol)> translate, uint32_t max_values) {
  std::vector<std::pair<Symbol, uint32_t>> incoming;
  incoming.reserve(other.counts_.size());
  uint64_t incoming_events = 0;
  other.counts_.ForEach([&](Symbol value, uint32_t count) {
    incoming.emplace_back(translate(value), count);
    incoming_events += count;
  });
  // Which values fit under the cap must not depend on hash order.
  std::sort(incoming.begin(), incoming.end());
  for (const auto& [value, count] : incoming) Add(value, count, max_values);
  // Add() counted the remembered events; the rest of other's total is its
  // overflow (and counts that saturated).
  total_ += other.total_ - incoming_events;
  overflow_ += other.overflow_;
  windows_ += other.windows_;
  novel_windows_ += other.novel_windows_;
}

std::vector<std::pair<Symbol, uint32_t>> CategoricalTable::Top(size_t k) const {
  std::vector<std::pair<Symbol, uint32_t>> all;
  all.reserve(counts_.size());
  counts_.ForEach([&](Symbol value, uint32_t count) { all.emplace_back(value, count); });
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  if (all.size() > k) {
    std::partial_sort(all.begin(), all.begin() + k, all.end(), better);
    all.resize(k);
  } else {
    std::sort(all.begin(), all.end(), better);
  }
  return all;
}

void CategoricalTable::Decay(const CountScaler& scaler) {
  // Keys of the counters lie above every symbol.
  constexpr uint64_t kCounters = uint64_t{1} << 32;
  uint64_t kept = 0;
  count_of_counts_.fill(0);
  counts_.ForEach([&](Symbol value, uint32_t& count) {
    count = static_cast<uint32_t>(std::max<uint64_t>(1, scaler.Scale(count, value)));
    kept += count;
    if (count <= kRareCountLimit) ++count_of_counts_[count];
  });
  overflow_ = scaler.Scale(overflow_, kCounters);
  // The total also holds events not tracked by value: it decays on its own,
  // never below what the values and the overflow hold.
  total_ = std::max(kept + overflow_, scaler.Scale(total_, kCounters + 3));
  windows_ = scaler.Scale(windows_, kCounters + 1);
  novel_windows_ = std::min(windows_, scaler.Scale(novel_windows_, kCounters + 2));
}

}  // namespace timescan::internal
