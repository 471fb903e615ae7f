// Evidence that accumulates: a one-sided CUSUM on the p-value stream of each
// test of an entity (a feature's novelty, a kind's count, a metric...), so
// that a weak signal repeated over many windows becomes a finding: a foreign
// principal calling once a minute, a service half silent for half an hour.
//
// Each window adds x = -ln p of the test (Exp(1) under the null, smaller for
// the conservative discrete tests) less a drift k = -ln(drift_p):
//   S <- max(0, S + x - k)
// so windows with p below drift_p raise S and the others lower it. Under the
// null, S follows the Lindley recursion of a D/M/1 queue's waiting time,
// whose stationary law is exact:
//   P(S >= s) = sigma * exp(-(1 - sigma) * s)   for s > 0,
// where sigma in (0, 1) solves sigma = exp(-k (1 - sigma)) (needs k > 1, so
// drift_p < 1/e). That tail is the p-value of an accumulated level: at the
// default drift_p 0.05, ten windows at p 0.01 each reach S 16 and p 2e-8.
//
// Memory is bounded: an entity keeps a track only while its level is
// positive (under the null a test starts one in 1 window of 20 and it decays
// within a window or two), at most kMaxTracks of them.

#ifndef TIMESCAN_LIB_MODELS_EVIDENCE_MODEL_H_
#define TIMESCAN_LIB_MODELS_EVIDENCE_MODEL_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace timescan::internal {

// One test's accumulated evidence. `test` packs the engine's test type and
// index (type << 8 | index): the same key every window.
struct EvidenceTrack {
  uint16_t test = 0;
  uint16_t windows = 0;  // windows since the level became positive (saturating)
  float level = 0;       // S, in nats
  // A finding has reported this run: it keeps accumulating (and so stays
  // quiet) until the level falls back to zero, so that a lasting change is
  // one finding, not one every few windows.
  bool reported = false;
};

// A test's p-value in the window being closed.
struct TestPValue {
  uint16_t test;
  double p_value;
};

// An accumulated level worth reporting: the track as it stands after this
// window, and the p-value of its level.
struct AccumulatedEvidence {
  EvidenceTrack track;
  double p_value;
};

class EvidenceAccumulator {
 public:
  // Tracks per entity; a test starting a track past this is not tracked
  // (its window still scores it).
  static constexpr size_t kMaxTracks = 16;

  // REQUIRES: 0 < drift_p < 1/e.
  explicit EvidenceAccumulator(double drift_p);

  double drift() const { return drift_; }
  double sigma() const { return sigma_; }

  // P(S >= level) under the null; 1 for level <= 0.
  double TailPValue(double level) const;

  // Adds one window's tests to `tracks` (sorted by test; tests absent from
  // the window add nothing, so their level falls by the drift), drops the
  // tracks whose level falls to zero, and appends to `*out` the tracks not
  // reported yet that were already positive before this window: a level
  // resting on one window alone is that window's own test, already scored.
  // `tests` need not be
  // sorted; a test listed twice counts once, at its smallest p-value.
  // `*tracks` must be sorted by test and hold distinct tests.
  void Update(absl::Span<const TestPValue> tests, std::vector<EvidenceTrack>* tracks,
              std::vector<AccumulatedEvidence>* out) const;

  // The level under which S stays in all but `share` of windows under the null.
  double LevelExceededWith(double share) const;

  // Lowers every level by the drift: a window without events has no test.
  void Decay(std::vector<EvidenceTrack>* tracks) const;

 private:
  double drift_;  // k, nats per window
  // Above this p-value a test cannot start a track (-ln p < k with room to
  // spare for the logarithm's rounding): weak tests are skipped without one.
  double weak_p_;
  double sigma_;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_EVIDENCE_MODEL_H_
