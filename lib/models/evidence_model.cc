#include "models/evidence_model.h"

#include <algorithm>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "stats/distributions.h"

namespace timescan::internal {

EvidenceAccumulator::EvidenceAccumulator(double drift_p) : drift_(-std::log(drift_p)) {
  // The fixed-point iteration from 0 rises monotonically to the root below
  // 1 (the map's slope there, k * sigma, is under 1).
  double sigma = 0;
  for (int i = 0; i < 10'000; ++i) {
    const double next = std::exp(-drift_ * (1 - sigma));
    if (std::abs(next - sigma) < 1e-15) {
      sigma = next;
      break;
    }
    sigma = next;
  }
  sigma_ = sigma;
  weak_p_ = std::exp(-drift_) * (1 + 1e-9);
}

double EvidenceAccumulator::TailPValue(double level) const {
  if (!(level > 0)) return 1;
  return stats::ClampPValue(sigma_ * std::exp(-(1 - sigma_) * level));
}

double EvidenceAccumulator::LevelExceededWith(double share) const {
  if (share >= sigma_) return 0;
  return std::log(sigma_ / share) / (1 - sigma_);
}

void EvidenceAccumulator::Decay(std::vector<EvidenceTrack>* tracks) const {
  for (EvidenceTrack& t : *tracks) {
    t.level = static_cast<float>(t.level - drift_);
    if (t.windows < UINT16_MAX) ++t.windows;
  }
  std::erase_if(*tracks, [](const EvidenceTrack& t) { return !(t.level > 0); });
}

void EvidenceAccumulator::Update(absl::Span<const TestPValue> tests,
                                 std::vector<EvidenceTrack>* tracks,
                                 std::vector<AccumulatedEvidence>* out) const {
  // Only the tests that can change a track: those that have one, and
  // those strong enough to start one. Most of a window's are neither.
  absl::InlinedVector<TestPValue, 96> window;
  for (const TestPValue& test : tests) {
    if (stats::ClampPValue(test.p_value) <= weak_p_ ||
        std::any_of(tracks->begin(), tracks->end(),
                    [&](const EvidenceTrack& t) { return t.test == test.test; })) {
      window.push_back(test);
    }
  }
  std::sort(window.begin(), window.end(), [](const TestPValue& a, const TestPValue& b) {
    return a.test != b.test ? a.test < b.test : a.p_value < b.p_value;
  });
  for (EvidenceTrack& t : *tracks) {
    t.level = static_cast<float>(t.level - drift_);
    if (t.windows < UINT16_MAX) ++t.windows;
  }
  // Both lists are sorted by test: one merge pass. New tracks go to the end
  // and the list is sorted again after.
  const size_t existing = tracks->size();
  size_t i = 0;
  for (size_t w = 0; w < window.size(); ++w) {
    if (w > 0 && window[w].test == window[w - 1].test) continue;  // smallest p first
    const double x = -std::log(stats::ClampPValue(window[w].p_value));
    while (i < existing && (*tracks)[i].test < window[w].test) ++i;
    if (i < existing && (*tracks)[i].test == window[w].test) {
      (*tracks)[i].level = static_cast<float>((*tracks)[i].level + x);
    } else if (x > drift_ && tracks->size() < kMaxTracks) {
      tracks->push_back(EvidenceTrack{window[w].test, 1, static_cast<float>(x - drift_), false});
    }
  }
  std::erase_if(*tracks, [](const EvidenceTrack& t) { return !(t.level > 0); });
  std::sort(tracks->begin(), tracks->end(),
            [](const EvidenceTrack& a, const EvidenceTrack& b) { return a.test < b.test; });
  for (const EvidenceTrack& t : *tracks) {
    if (t.windows >= 2 && !t.reported) out->push_back(AccumulatedEvidence{t, TailPValue(t.level)});
  }
}

}  // namespace timescan::internal
