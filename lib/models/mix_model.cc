#include "models/mix_model.h"

#include <algorithm>
#include <cmath>

#include "stats/distributions.h"

namespace timescan::internal {

// --- StratifiedTail -----------------------------------------------------------

int StratifiedTail::StratumOf(uint32_t events) {
  const int log2 = 31 - __builtin_clz(std::max<uint32_t>(events, 1));
  return std::min(log2, kStrata - 1);
}

int StratifiedTail::BinOf(double x) {
  if (!(x > 0)) return 0;
  const double bin = std::floor(kBinsPerDoubling * std::log2(1 + x));
  return static_cast<int>(std::clamp(bin, 0.0, static_cast<double>(kBins - 1)));
}

double StratifiedTail::BinFloor(int bin) {
  return std::exp2(static_cast<double>(bin) / kBinsPerDoubling) - 1;
}

std::pair<size_t, size_t> StratifiedTail::Range(int stratum) const {
  const auto lower = static_cast<uint16_t>(stratum * kBins);
  auto by_key = [](const Cell& c, uint16_t key) { return c.key < key; };
  const auto first = std::lower_bound(cells_.begin(), cells_.end(), lower, by_key);
  const auto last = std::lower_bound(first, cells_.end(), static_cast<uint16_t>(lower + kBins), by_key);
  return {static_cast<size_t>(first - cells_.begin()), static_cast<size_t>(last - cells_.begin())};
}

void StratifiedTail::Add(int stratum, double x) {
  const auto key = static_cast<uint16_t>(stratum * kBins + BinOf(x));
  auto it = std::lower_bound(cells_.begin(), cells_.end(), key,
                             [](const Cell& c, uint16_t k) { return c.key < k; });
  if (it != cells_.end() && it->key == key) {
    if (it->count < UINT32_MAX) ++it->count;
    return;
  }
  // A new (stratum, bin): rare once a group has learned a while.
  cells_.insert(it, Cell{key, 1});
}

uint64_t StratifiedTail::Windows(int stratum) const {
  const auto [first, last] = Range(stratum);
  uint64_t n = 0;
  for (size_t i = first; i < last; ++i) n += cells_[i].count;
  return n;
}

int StratifiedTail::StratumFor(uint32_t events, uint64_t min_windows) const {
  for (int s = StratumOf(events); s < kStrata; ++s) {
    if (Windows(s) >= min_windows) return s;
  }
  return -1;
}

StratifiedTail::Ranked StratifiedTail::Score(uint32_t events, double x, uint64_t min_windows) const {
  const int bin = BinOf(x);
  for (int s = StratumOf(events); s < kStrata; ++s) {
    // One pass: the stratum's windows and the ranks of x among them.
    const auto [first, last] = Range(s);
    uint64_t n = 0, above = 0, at = 0;
    for (size_t i = first; i < last; ++i) {
      const int b = cells_[i].key % kBins;
      n += cells_[i].count;
      above += b > bin ? cells_[i].count : 0;
      at += b == bin ? cells_[i].count : 0;
    }
    if (n >= min_windows) return Ranked{TailFromRanks(s, x, n, above, at), s};
  }
  return Ranked{1, -1};
}

double StratifiedTail::UpperTail(int stratum, double x) const {
  const auto [first, last] = Range(stratum);
  if (first == last) return 1;
  const int bin = BinOf(x);
  uint64_t n = 0, above = 0, at = 0;
  for (size_t i = first; i < last; ++i) {
    const int b = cells_[i].key % kBins;
    n += cells_[i].count;
    if (b > bin) above += cells_[i].count;
    if (b == bin) at += cells_[i].count;
  }
  return TailFromRanks(stratum, x, n, above, at);
}

double StratifiedTail::TailFromRanks(int stratum, double x, uint64_t n, uint64_t above,
                                     uint64_t at) const {
  if (n == 0) return 1;
  const double windows = static_cast<double>(n);
  if (above > 0 || at > 0) {
    return std::min(1.0, (static_cast<double>(above) + 0.5 * static_cast<double>(at) + 0.5) /
                             (windows + 1));
  }
  const size_t last = Range(stratum).second;
  // Beyond every learned window: an exponential tail whose scale puts the
  // learned maximum where N/2 exponential excesses over the median would.
  const double learned_max = BinFloor(cells_[last - 1].key % kBins + 1);
  const double median = BinFloor(QuantileBin(stratum, 0.5));
  const double spread = (learned_max - median) / std::log(std::max(windows / 2, 2.0));
  // A floor, so that a statistic learned constant (one window size, one
  // value) still has room to vary: a quarter of its level, at least 1.
  const double scale = std::max({spread, 0.25 * (1 + median), 1.0});
  const double excess = std::max(0.0, x - learned_max);
  return stats::ClampPValue(0.5 / (windows + 1) * std::exp(-excess / scale));
}

int StratifiedTail::QuantileBin(int stratum, double q) const {
  const auto [first, last] = Range(stratum);
  if (first == last) return -1;
  uint64_t n = 0;
  for (size_t i = first; i < last; ++i) n += cells_[i].count;
  const double target = q * static_cast<double>(n);
  double seen = 0;
  for (size_t i = first; i < last; ++i) {
    seen += cells_[i].count;
    if (seen >= target) return cells_[i].key % kBins;
  }
  return cells_[last - 1].key % kBins;
}

void StratifiedTail::Merge(const StratifiedTail& other) {
  std::vector<Cell> merged;
  merged.reserve(cells_.size() + other.cells_.size());
  size_t i = 0, j = 0;
  while (i < cells_.size() || j < other.cells_.size()) {
    if (j == other.cells_.size() || (i < cells_.size() && cells_[i].key < other.cells_[j].key)) {
      merged.push_back(cells_[i++]);
    } else if (i == cells_.size() || other.cells_[j].key < cells_[i].key) {
      merged.push_back(other.cells_[j++]);
    } else {
      const uint64_t sum = static_cast<uint64_t>(cells_[i].count) + other.cells_[j].count;
      merged.push_back(Cell{cells_[i].key, static_cast<uint32_t>(std::min<uint64_t>(sum, UINT32_MAX))});
      ++i;
      ++j;
    }
  }
  cells_ = std::move(merged);
}

void StratifiedTail::Decay(const CountScaler& scaler) {
  size_t kept = 0;
  for (const Cell& c : cells_) {
    const auto count = static_cast<uint32_t>(scaler.Scale(c.count, c.key));
    if (count > 0) cells_[kept++] = Cell{c.key, count};
  }
  cells_.resize(kept);
}

bool StratifiedTail::Restore(std::vector<Cell> cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].key >= kStrata * kBins || cells[i].count == 0) return false;
    if (i > 0 && cells[i].key <= cells[i - 1].key) return false;
  }
  cells_ = std::move(cells);
  return true;
}

// --- MixCells and the window builder ----------------------------------------

int64_t MixCells::CellCount(Symbol value) const {
  auto it = std::lower_bound(major.begin(), major.end(), value,
                             [](const std::pair<Symbol, uint32_t>& c, Symbol v) { return c.first < v; });
  return it != major.end() && it->first == value ? static_cast<int64_t>(it->second) : -1;
}

void MixWindowBuilder::Reset(const std::array<const MixCells*, kMixFeatureCount>& cells) {
  cells_ = cells;
  for (size_t m = 0; m < kMixFeatureCount; ++m) {
    // Only the cells in use: a window close stays O(its values).
    if (cells[m] != nullptr) std::fill_n(observed_[m].begin(), cells[m]->major.size(), 0u);
  }
  other_.fill(0);
  stats_ = MixWindowStats{};
}

void MixWindowBuilder::ObserveInCells(size_t m, Symbol value, uint32_t n) {
  const MixCells& cells = *cells_[m];
  auto it = std::lower_bound(cells.major.begin(), cells.major.end(), value,
                             [](const std::pair<Symbol, uint32_t>& c, Symbol v) { return c.first < v; });
  if (it != cells.major.end() && it->first == value) {
    observed_[m][static_cast<size_t>(it - cells.major.begin())] += n;
  } else {
    other_[m] += n;
  }
}

void MixWindowBuilder::Untracked(int feature, uint32_t events, uint32_t new_events) {
  if (events == 0) return;
  if (const int d = DistinctSlot(feature); d >= 0) {
    stats_.events[static_cast<size_t>(d)] += events;
    stats_.distinct[static_cast<size_t>(d)] += events - std::min(events, new_events);
  }
  if (const int m = MixSlot(feature); m >= 0) {
    other_[static_cast<size_t>(m)] += events - std::min(events, new_events);
  }
}

MixWindowStats MixWindowBuilder::Finish() const {
  MixWindowStats out = stats_;
  for (size_t m = 0; m < kMixFeatureCount; ++m) {
    const MixCells* cells = cells_[m];
    if (cells == nullptr || !cells->Testable()) continue;
    uint64_t n = other_[m];
    for (size_t i = 0; i < cells->major.size(); ++i) n += observed_[m][i];
    if (n == 0) continue;
    const double events = static_cast<double>(n);
    // Bhattacharyya coefficient; H^2 = 1 - BC.
    double bc = std::sqrt(cells->other_share * (other_[m] / events));
    for (size_t i = 0; i < cells->major.size(); ++i) {
      bc += std::sqrt((cells->major[i].second / cells->known_events) * (observed_[m][i] / events));
    }
    const double h2 = std::max(0.0, 1 - bc);
    out.mix_events[m] = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
    out.mix_statistic[m] = 8 * events * h2;
  }
  return out;
}

// --- MixBaseline ---------------------------------------------------------------

const MixCells& MixBaseline::Cells(int slot, const CategoricalTable& table, int64_t round) const {
  MixCells& cells = cells_[static_cast<size_t>(slot)];
  if (cells.round == round && round >= 0) return cells;
  cells.round = round;
  cells.min_count = UINT32_MAX;
  cells.known_events = 0;
  cells.major.clear();
  cells.other_share = 0;
  const double total = static_cast<double>(table.total());
  if (total == 0) return cells;
  const double min_count = kMinCellShare * total;
  cells.min_count = static_cast<uint32_t>(std::min(std::ceil(min_count), 4294967295.0));
  // Hash order in, (count, symbol) order out: deterministic.
  table.ForEachValue([&](Symbol value, uint32_t count) {
    if (static_cast<double>(count) >= min_count) cells.major.emplace_back(value, count);
  });
  if (cells.major.size() > kMaxCells) {
    std::sort(cells.major.begin(), cells.major.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    cells.major.resize(kMaxCells);
  }
  std::sort(cells.major.begin(), cells.major.end());
  double in_cells = 0;
  for (const auto& [value, count] : cells.major) in_cells += count;
  // The other known values' events, less those of values seen once (and
  // past the cap): Good-Turing's mass of values a window will not know.
  const double unseen = table.EventNoveltyRate() * total;
  const double other = std::max(0.0, total - in_cells - unseen);
  cells.known_events = in_cells + other;
  if (cells.known_events <= 0) {
    cells.major.clear();
    return cells;
  }
  cells.other_share = other / cells.known_events;
  return cells;
}

void MixBaseline::Learn(const MixWindowStats& s) {
  for (size_t m = 0; m < kMixFeatureCount; ++m) {
    if (s.mix_events[m] > 0) {
      mix_[m].Add(StratifiedTail::StratumOf(s.mix_events[m]), s.mix_statistic[m]);
    }
  }
  for (size_t d = 0; d < kDistinctFeatureCount; ++d) {
    if (s.events[d] > 0) distinct_[d].Add(StratifiedTail::StratumOf(s.events[d]), s.distinct[d]);
  }
}

MixBaseline::Score MixBaseline::ScoreMix(int slot, const MixWindowStats& s) const {
  const uint32_t n = s.mix_events[static_cast<size_t>(slot)];
  if (n == 0) return Score{};
  const StratifiedTail::Ranked r =
      mix_[static_cast<size_t>(slot)].Score(n, s.mix_statistic[static_cast<size_t>(slot)], kMinWindows);
  return Score{r.p_value, r.stratum};
}

MixBaseline::Score MixBaseline::ScoreDistinct(int slot, const MixWindowStats& s) const {
  const uint32_t n = s.events[static_cast<size_t>(slot)];
  if (n == 0) return Score{};
  const StratifiedTail::Ranked r =
      distinct_[static_cast<size_t>(slot)].Score(n, s.distinct[static_cast<size_t>(slot)], kMinWindows);
  return Score{r.p_value, r.stratum};
}

void MixBaseline::Merge(const MixBaseline& other) {
  for (size_t m = 0; m < kMixFeatureCount; ++m) mix_[m].Merge(other.mix_[m]);
  for (size_t d = 0; d < kDistinctFeatureCount; ++d) distinct_[d].Merge(other.distinct_[d]);
  Invalidate();
}

void MixBaseline::Decay(const CountScaler& scaler) {
  for (size_t m = 0; m < kMixFeatureCount; ++m) mix_[m].Decay(scaler.Part(m));
  for (size_t d = 0; d < kDistinctFeatureCount; ++d) {
    distinct_[d].Decay(scaler.Part(kMixFeatureCount + d));
  }
  Invalidate();
}

}  // namespace timescan::internal
