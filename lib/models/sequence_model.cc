#include "models/sequence_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "stats/distributions.h"

namespace timescan::internal {
namespace {

uint64_t Mix64(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint32_t CountOf(uint64_t slot) { return static_cast<uint32_t>(slot & 0xffff); }
uint64_t IdOf(uint64_t slot) { return slot >> 16; }

}  // namespace

uint64_t SequenceNameHash(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix64(h);
}

uint64_t NGramId(const uint64_t* hashes, int n) {
  // The length is mixed in first, so that a bigram and a trigram never
  // share an id by construction.
  uint64_t h = Mix64(0x5eb1e9c3a7d2f001ULL + static_cast<uint64_t>(n));
  for (int i = 0; i < n; ++i) h = Mix64(h ^ hashes[i]) + 0x9E3779B97F4A7C15ULL;
  const uint64_t id = Mix64(h) >> (64 - kNGramIdBits);
  return id != 0 ? id : 1;
}

std::string_view SequenceFeatureName(int feature) {
  return feature == kExecSequence ? "exec.sequence" : "syscall.sequence";
}

void SequenceObservation::Observe(uint64_t id, uint32_t n, uint32_t learned,
                                  bool rare_eligible) {
  grams += n;
  if (learned == 0) {
    ++new_grams;
    return;
  }
  if (!rare_eligible) return;
  ++distinct_known;
  if (learned < rarest_count || (learned == rarest_count && id < rarest)) {
    rarest_count = learned;
    rarest = id;
  }
}

SequenceTable::SequenceTable(const SequenceTable& other) { *this = other; }

SequenceTable& SequenceTable::operator=(const SequenceTable& other) {
  if (this == &other) return *this;
  slots_.reset();
  if (other.capacity_ > 0) {
    slots_ = std::make_unique<uint64_t[]>(other.capacity_);
    std::memcpy(slots_.get(), other.slots_.get(), other.capacity_ * sizeof(uint64_t));
  }
  capacity_ = other.capacity_;
  size_ = other.size_;
  shift_ = other.shift_;
  total_ = other.total_;
  windows_ = other.windows_;
  novel_windows_ = other.novel_windows_;
  overflow_ = other.overflow_;
  count_of_counts_ = other.count_of_counts_;
  return *this;
}

size_t SequenceTable::Find(uint64_t id) const {
  for (size_t i = SlotOf(id);; i = (i + 1) & (capacity_ - 1)) {
    if (slots_[i] == 0 || IdOf(slots_[i]) == id) return i;
  }
}

uint32_t SequenceTable::Count(uint64_t id) const {
  if (size_ == 0) return 0;
  const uint64_t slot = slots_[Find(id)];
  return slot == 0 ? 0 : CountOf(slot);
}

void SequenceTable::Grow() {
  const uint32_t capacity = capacity_ == 0 ? 16 : 2 * capacity_;
  std::unique_ptr<uint64_t[]> old = std::move(slots_);
  const uint32_t old_capacity = capacity_;
  slots_ = std::make_unique<uint64_t[]>(capacity);  // zeroed: all empty
  capacity_ = capacity;
  shift_ = 64 - __builtin_ctz(capacity);
  for (uint32_t i = 0; i < old_capacity; ++i) {
    if (old[i] != 0) slots_[Find(IdOf(old[i]))] = old[i];
  }
}

void SequenceTable::CountChanged(uint32_t before, uint32_t after) {
  if (before >= 1 && before <= kSequenceRareLimit) --count_of_counts_[before];
  if (after >= 1 && after <= kSequenceRareLimit) ++count_of_counts_[after];
}

bool SequenceTable::Add(uint64_t id, uint32_t n, uint32_t max_grams) {
  if (n == 0) return false;
  total_ += n;
  size_t i = size_ > 0 ? Find(id) : 0;
  if (size_ == 0 || slots_[i] == 0) {
    if (size_ >= max_grams) {
      overflow_ += n;
      return true;
    }
    if (4 * (uint64_t{size_} + 1) > 3 * uint64_t{capacity_}) {
      Grow();
    }
    i = Find(id);
    const uint32_t after = std::min(n, kMaxCount);
    slots_[i] = (id << 16) | after;
    ++size_;
    CountChanged(0, after);
    return true;
  }
  const uint32_t before = CountOf(slots_[i]);
  const uint32_t after = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{before} + n, kMaxCount));
  slots_[i] = (id << 16) | after;
  CountChanged(before, after);
  return false;
}

double SequenceTable::WindowNoveltyRate(double prior_rate, double prior_windows) const {
  return (static_cast<double>(novel_windows_) + prior_windows * prior_rate) /
         (static_cast<double>(windows_) + prior_windows);
}

double SequenceTable::EventNoveltyRate() const {
  // Overflowed n-grams were all new ones not remembered: count them as
  // singletons, which keeps the rate high for a saturated table.
  const double singletons = static_cast<double>(count_of_counts_[1] + overflow_);
  return std::min(1.0, (singletons + 0.5) / (static_cast<double>(total_) + 1.0));
}

double SequenceTable::RareMass(uint32_t count) const {
  if (total_ == 0 || count > kSequenceRareLimit) return 1.0;
  double mass = 0;
  for (uint32_t j = 1; j <= count; ++j) mass += static_cast<double>(j) * count_of_counts_[j];
  return std::min(1.0, mass / static_cast<double>(total_));
}

SequenceScore SequenceTable::Score(const SequenceObservation& o, double prior_rate,
                                   double prior_windows, int length) const {
  SequenceScore score;
  score.window_rate = WindowNoveltyRate(prior_rate, prior_windows);
  if (o.grams == 0) return score;
  double p_new = 1;
  if (o.new_grams > 0) {
    // A hurdle, as the categorical model's, over episodes of novelty (see
    // the banner): the first at the windowed rate, the others at the
    // Good-Turing rate per n-gram over the n-grams of an episode, in
    // bursts (geometric).
    const uint32_t burst = static_cast<uint32_t>(std::max(1, length - 1));
    const uint32_t episodes = (o.new_grams + burst - 1) / burst;
    const double extras_mean = static_cast<double>(o.grams) * EventNoveltyRate() / burst;
    p_new = score.window_rate *
            stats::NegBinomialUpperTail(episodes - 1, extras_mean,
                                        extras_mean + extras_mean * extras_mean);
  }
  double p_rare = 1;
  const bool rare = o.distinct_known > 0 && o.rarest_count <= kSequenceRareLimit;
  if (rare) {
    const double t = RareMass(o.rarest_count);
    // At least one of the window's known n-grams is this rare.
    p_rare = t >= 1 ? 1 : -std::expm1(static_cast<double>(o.distinct_known) * std::log1p(-t));
  }
  if (o.new_grams > 0 && rare) {
    // Two looks at the same feature: Bonferroni.
    score.novelty = p_new <= p_rare;
    score.p_value = stats::ClampPValue(2 * std::min(p_new, p_rare));
  } else if (o.new_grams > 0) {
    score.novelty = true;
    score.p_value = stats::ClampPValue(p_new);
  } else {
    score.p_value = stats::ClampPValue(p_rare);
  }
  return score;
}

void SequenceTable::Merge(const SequenceTable& other, uint32_t max_grams) {
  if (&other == this) return;
  // Which ids fit under the cap must not depend on slot order.
  const std::vector<std::pair<uint64_t, uint32_t>> incoming = other.Sorted();
  uint64_t incoming_total = 0;
  for (const auto& [id, count] : incoming) {
    Add(id, count, max_grams);
    incoming_total += count;
  }
  // Add() counted the remembered n-grams; the rest of other's total is its
  // overflow (and counts that saturated).
  total_ += other.total_ - incoming_total;
  overflow_ += other.overflow_;
  windows_ += other.windows_;
  novel_windows_ += other.novel_windows_;
}

void SequenceTable::Decay(const CountScaler& scaler) {
  // Keys of the counters lie above every id (ids have 48 bits).
  constexpr uint64_t kCounters = uint64_t{1} << 48;
  uint64_t kept = 0;
  count_of_counts_.fill(0);
  // In place: ids keep their slots, only the counts change.
  for (uint32_t i = 0; i < capacity_; ++i) {
    if (slots_[i] == 0) continue;
    const uint64_t id = IdOf(slots_[i]);
    const auto count = static_cast<uint32_t>(std::max<uint64_t>(1, scaler.Scale(CountOf(slots_[i]), id)));
    slots_[i] = (id << 16) | count;
    kept += count;
    CountChanged(0, count);
  }
  overflow_ = scaler.Scale(overflow_, kCounters);
  // The total also holds saturated counts' excess: it decays on its own,
  // never below what the ids and the overflow hold.
  total_ = std::max(kept + overflow_, scaler.Scale(total_, kCounters + 3));
  windows_ = scaler.Scale(windows_, kCounters + 1);
  novel_windows_ = std::min(windows_, scaler.Scale(novel_windows_, kCounters + 2));
}

void SequenceTable::Reset() { *this = SequenceTable(); }

std::vector<std::pair<uint64_t, uint32_t>> SequenceTable::Sorted() const {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  out.reserve(size_);
  for (uint32_t i = 0; i < capacity_; ++i) {
    if (slots_[i] != 0) out.emplace_back(IdOf(slots_[i]), CountOf(slots_[i]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool SequenceTable::Restore(const std::vector<std::pair<uint64_t, uint32_t>>& grams,
                            uint64_t total, uint64_t windows, uint64_t novel_windows,
                            uint64_t overflow, uint32_t max_grams) {
  Reset();
  uint64_t sum = 0;
  bool ok = grams.size() <= max_grams && novel_windows <= windows;
  for (size_t i = 0; ok && i < grams.size(); ++i) {
    const auto [id, count] = grams[i];
    ok = id != 0 && id <= kNGramIdMask && (i == 0 || id > grams[i - 1].first) && count >= 1 &&
         count <= kMaxCount;
    if (ok) {
      Add(id, count, max_grams);
      sum += count;
    }
  }
  ok = ok && sum + overflow >= sum && sum + overflow <= total;
  if (!ok) {
    Reset();
    return false;
  }
  total_ = total;
  windows_ = windows;
  novel_windows_ = novel_windows;
  overflow_ = overflow;
  return true;
}

}  // namespace timescan::internal
