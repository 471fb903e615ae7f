// Accumulated evidence: the CUSUM's null tail against its closed form and a
// simulation, validity of the p-values it reports, power for a repeated weak
// signal, and bounded, fading state.

#include "models/evidence_model.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

constexpr uint16_t kTest = (1 << 8) | 3;  // spike test of kind 3

double Uniform(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
}

TEST(EvidenceAccumulator, SigmaIsTheRootOfTheDM1Equation) {
  // Reference roots by bisection of sigma = exp(-k (1 - sigma)) in Python.
  const struct {
    double drift_p, sigma;
  } cases[] = {{0.05, 0.05981181305233624}, {0.01, 0.010495191898071715}, {0.2, 0.3529843829051552}};
  for (const auto& c : cases) {
    const EvidenceAccumulator acc(c.drift_p);
    EXPECT_NEAR(acc.drift(), -std::log(c.drift_p), 1e-12);
    EXPECT_NEAR(acc.sigma(), c.sigma, 1e-12) << c.drift_p;
  }
}

TEST(EvidenceAccumulator, TailMatchesASimulatedNullStream) {
  // x = -ln U is exactly Exp(1): the stationary law of S is the D/M/1 one.
  for (double drift_p : {0.05, 0.2}) {
    const EvidenceAccumulator acc(drift_p);
    std::mt19937_64 rng(5);
    const int kSteps = 2'000'000;
    const std::vector<double> levels = {0.25, 1, 3, 6};
    std::vector<int> at_least(levels.size(), 0);
    double s = 0;
    for (int i = 0; i < kSteps; ++i) {
      s = std::max(0.0, s - std::log(Uniform(rng)) - acc.drift());
      for (size_t j = 0; j < levels.size(); ++j) at_least[j] += s >= levels[j];
    }
    for (size_t j = 0; j < levels.size(); ++j) {
      const double expected = acc.TailPValue(levels[j]);
      const double observed = static_cast<double>(at_least[j]) / kSteps;
      // Consecutive levels are correlated: allow 10% plus a small floor.
      EXPECT_NEAR(observed, expected, 0.1 * expected + 2e-5)
          << "drift_p " << drift_p << " level " << levels[j];
    }
    EXPECT_NEAR(acc.TailPValue(acc.LevelExceededWith(0.01)), 0.01, 1e-12);
  }
}

TEST(EvidenceAccumulator, ReportedPValuesAreValidUnderTheNull) {
  const EvidenceAccumulator acc(0.05);
  std::mt19937_64 rng(11);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  const int kWindows = 1'000'000;
  int reported = 0, below_05 = 0, below_01 = 0, below_001 = 0;
  for (int i = 0; i < kWindows; ++i) {
    const TestPValue test{kTest, Uniform(rng)};
    out.clear();
    acc.Update({&test, 1}, &tracks, &out);
    ASSERT_LE(out.size(), 1u);
    if (out.empty()) continue;
    ++reported;
    below_05 += out[0].p_value <= 0.05;
    below_01 += out[0].p_value <= 0.01;
    below_001 += out[0].p_value <= 0.001;
  }
  // P(p <= a) <= a per window, and not far below: the test is alive.
  EXPECT_LE(below_05, 1.1 * 0.05 * kWindows);
  EXPECT_LE(below_01, 1.1 * 0.01 * kWindows);
  EXPECT_LE(below_001, 1.2 * 0.001 * kWindows);
  EXPECT_GE(below_01, 0.2 * 0.01 * kWindows);
  EXPECT_GE(below_001, 0.2 * 0.001 * kWindows);
  // Levels exist in few windows: under the null a track is rare and short.
  EXPECT_LT(reported, 0.06 * kWindows);
}

TEST(EvidenceAccumulator, ARepeatedWeakSignalAccumulates) {
  const EvidenceAccumulator acc(0.05);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  double previous = 1;
  for (int w = 1; w <= 10; ++w) {
    const TestPValue test{kTest, 0.01};  // alone, never near a threshold of 1e-4
    out.clear();
    acc.Update({&test, 1}, &tracks, &out);
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].windows, w);
    if (w == 1) {
      EXPECT_TRUE(out.empty()) << "one window's level is its own test";
      continue;
    }
    ASSERT_EQ(out.size(), 1u);
    EXPECT_LT(out[0].p_value, previous);
    previous = out[0].p_value;
  }
  // Ten windows at 0.01: S = 10 (ln 100 - ln 20) = 16.1, p = sigma e^{-(1-sigma) S}.
  EXPECT_NEAR(tracks[0].level, 10 * std::log(5.0), 1e-4);
  EXPECT_LT(previous, 1e-7);
  EXPECT_NEAR(previous, acc.sigma() * std::exp(-(1 - acc.sigma()) * 10 * std::log(5.0)), 1e-12);
}

TEST(EvidenceAccumulator, LevelsFadeAndTracksAreFreed) {
  const EvidenceAccumulator acc(0.05);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  for (int w = 0; w < 3; ++w) {
    const TestPValue test{kTest, 1e-3};
    acc.Update({&test, 1}, &tracks, &out);
  }
  ASSERT_EQ(tracks.size(), 1u);
  const double level = tracks[0].level;
  // Windows without the test, then without events: each takes the drift.
  acc.Update({}, &tracks, &out);
  EXPECT_NEAR(tracks[0].level, level - acc.drift(), 1e-5);
  while (!tracks.empty()) acc.Decay(&tracks);
  // An unremarkable p-value starts nothing.
  const TestPValue calm{kTest, 0.3};
  acc.Update({&calm, 1}, &tracks, &out);
  EXPECT_TRUE(tracks.empty());
}

TEST(EvidenceAccumulator, TracksAreBoundedAndATestCountsOncePerWindow) {
  const EvidenceAccumulator acc(0.05);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  std::vector<TestPValue> many;
  for (uint16_t t = 0; t < 100; ++t) many.push_back({t, 1e-3});
  acc.Update(many, &tracks, &out);
  EXPECT_EQ(tracks.size(), EvidenceAccumulator::kMaxTracks);
  for (size_t i = 1; i < tracks.size(); ++i) EXPECT_LT(tracks[i - 1].test, tracks[i].test);

  tracks.clear();
  const TestPValue twice[] = {{kTest, 0.5}, {kTest, 1e-3}, {kTest, 1e-3}};
  acc.Update(twice, &tracks, &out);
  ASSERT_EQ(tracks.size(), 1u);
  EXPECT_NEAR(tracks[0].level, -std::log(1e-3) - acc.drift(), 1e-5);
}

// Update against the recursion S <- max(0, S - ln p - k) kept by hand, for
// a stream of many tests where most p-values are too weak to start a track
// (Update skips those without a logarithm) but do move the tracks that run.
TEST(EvidenceAccumulator, UpdateFollowsTheRecursionForEveryTestWeakOrStrong) {
  const EvidenceAccumulator acc(0.05);
  std::mt19937_64 rng(17);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  std::vector<double> expected(12, 0.0);  // by test id
  int continued_by_weak = 0;
  for (int w = 0; w < 2000; ++w) {
    std::vector<TestPValue> window;
    for (uint16_t t = 0; t < expected.size(); ++t) {
      if (rng() % 4 == 0) continue;  // absent: the level only drifts down
      // Mostly unremarkable, sometimes strong, sometimes just at exp(-k).
      const uint64_t r = rng() % 10;
      const double p = r == 0 ? 1e-3 : r == 1 ? std::exp(-acc.drift()) : 0.05 + 0.9 * Uniform(rng);
      window.push_back({t, p});
    }
    for (uint16_t t = 0; t < expected.size(); ++t) {
      double x = 0;
      for (const TestPValue& test : window) x = test.test == t ? -std::log(test.p_value) : x;
      if (expected[t] > 0 && x > 0 && x < acc.drift()) ++continued_by_weak;
      // A new track starts only above the drift; a running one takes any x.
      if (expected[t] > 0 || x > acc.drift()) expected[t] = std::max(0.0, expected[t] + x - acc.drift());
    }
    out.clear();
    acc.Update(window, &tracks, &out);
    std::vector<double> got(expected.size(), 0.0);
    for (const EvidenceTrack& track : tracks) got[track.test] = track.level;
    for (size_t t = 0; t < expected.size(); ++t) {
      // Levels are floats: a relative tolerance, and a track whose level
      // rounds to zero may end on either side.
      ASSERT_NEAR(got[t], expected[t], 1e-4 * (1 + expected[t])) << "window " << w << " test " << t;
      expected[t] = got[t];  // follow the float levels, as the tracks do
    }
  }
  EXPECT_GT(continued_by_weak, 1000) << "weak tests must have moved running tracks";
}

TEST(EvidenceAccumulator, AReportedRunStaysQuietUntilItEnds) {
  const EvidenceAccumulator acc(0.05);
  std::vector<EvidenceTrack> tracks;
  std::vector<AccumulatedEvidence> out;
  const TestPValue weak{kTest, 0.01};
  acc.Update({&weak, 1}, &tracks, &out);
  acc.Update({&weak, 1}, &tracks, &out);
  ASSERT_EQ(out.size(), 1u);
  tracks[0].reported = true;  // what the engine does on a finding
  for (int w = 0; w < 20; ++w) {
    out.clear();
    acc.Update({&weak, 1}, &tracks, &out);
    EXPECT_TRUE(out.empty());
  }
  while (!tracks.empty()) acc.Update({}, &tracks, &out);
  out.clear();
  acc.Update({&weak, 1}, &tracks, &out);
  acc.Update({&weak, 1}, &tracks, &out);
  EXPECT_EQ(out.size(), 1u) << "a new run reports again";
}

}  // namespace
}  // namespace timescan::internal
