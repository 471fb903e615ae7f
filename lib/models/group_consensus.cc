#include "models/group_consensus.h"

#include <algorithm>

namespace timescan::internal {

void GroupConsensus::CountActive(int64_t window) {
  if (active_.empty() || active_.back().first != window) {
    active_.emplace_back(window, 0);
  }
  ++active_.back().second;
}

uint32_t GroupConsensus::Active(int64_t window) const {
  auto it = std::lower_bound(active_.begin(), active_.end(), window,
                             [](const auto& a, int64_t w) { return a.first < w; });
  return it != active_.end() && it->first == window ? it->second : 0;
}

void GroupConsensus::AddSighting(uint64_t key, Symbol entity, int64_t window) {
  sightings_.push_back(Sighting{key, entity, window});
}

size_t GroupConsensus::Replicas(uint64_t key, int64_t from, int64_t to,
                                std::vector<Symbol>* out) const {
  // Few sightings per group (significant tests only, over a few windows):
  // a scan, and a small list of the entities found so far.
  std::vector<Symbol> found;
  for (const Sighting& s : sightings_) {
    if (s.window < from || s.window > to || s.key != key) continue;
    if (std::find(found.begin(), found.end(), s.entity) == found.end()) found.push_back(s.entity);
  }
  if (out != nullptr) out->insert(out->end(), found.begin(), found.end());
  return found.size();
}

bool GroupConsensus::ReportedSince(uint64_t key, int64_t since) const {
  for (const auto& [k, last] : reported_) {
    if (k == key) return last >= since;
  }
  return false;
}

void GroupConsensus::MarkReported(uint64_t key, int64_t window) {
  for (auto& [k, last] : reported_) {
    if (k == key) {
      last = std::max(last, window);
      return;
    }
  }
  reported_.emplace_back(key, window);
}

void GroupConsensus::Forget(int64_t window, int64_t reported_before) {
  auto old_sighting = std::find_if(sightings_.begin(), sightings_.end(),
                                   [&](const Sighting& s) { return s.window >= window; });
  sightings_.erase(sightings_.begin(), old_sighting);
  auto old_active = std::find_if(active_.begin(), active_.end(),
                                 [&](const auto& a) { return a.first >= window; });
  active_.erase(active_.begin(), old_active);
  std::erase_if(reported_, [&](const auto& r) { return r.second < reported_before; });
  // Vectors that emptied give their memory back: most groups are quiet.
  if (sightings_.empty()) sightings_.shrink_to_fit();
  if (reported_.empty()) reported_.shrink_to_fit();
}

}  // namespace timescan::internal
