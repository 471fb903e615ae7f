// The value-distribution model: window samples stay bounded and
// systematic, p-values are calibrated under the null and powerful when the
// tail grows while the mean barely moves, merges are exact.
#include "models/distribution_model.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

constexpr int kRequests = 0;  // DistributionSlot(Kind::kRequest)

WindowSample SampleOf(const std::vector<double>& values) {
  WindowSample s;
  for (double v : values) s.Add(DistributionBaseline::IndexOf(v));
  return s;
}

std::vector<double> Latencies(std::mt19937_64& rng, int n, double median = 35, double sigma = 0.6) {
  std::lognormal_distribution<double> d(std::log(median), sigma);
  std::vector<double> out(n);
  for (double& x : out) x = std::round(d(rng) * 1000) / 1000;  // quantised, as the simulator's
  return out;
}

DistributionBaseline Learned(std::mt19937_64& rng, int windows, int per_window) {
  DistributionBaseline b;
  for (int w = 0; w < windows; ++w) b.Learn(kRequests, SampleOf(Latencies(rng, per_window)));
  return b;
}

TEST(WindowSample, KeepsEveryValueThenASystematicSample) {
  WindowSample s;
  for (int i = 0; i < 256; ++i) s.Add(i);
  EXPECT_EQ(s.stride(), 1u);
  EXPECT_EQ(s.indices().size(), 256u);
  s.Add(256);  // full: every other value kept, stride 2
  EXPECT_EQ(s.stride(), 2u);
  EXPECT_EQ(s.indices().size(), 129u);
  for (int i = 257; i < 10000; ++i) s.Add(i);
  EXPECT_EQ(s.seen(), 10000u);
  EXPECT_LE(s.indices().size(), WindowSample::kCapacity);
  // Kept values are 0, stride, 2 stride, ...: spread over the whole window.
  for (size_t i = 0; i < s.indices().size(); ++i) {
    EXPECT_EQ(static_cast<uint32_t>(s.indices()[i]), i * s.stride());
  }
  WindowSample restored;
  EXPECT_TRUE(restored.Restore(s.indices(), s.seen(), s.stride()));
  EXPECT_FALSE(restored.Restore(s.indices(), s.seen(), 3));
  EXPECT_FALSE(restored.Restore(s.indices(), s.seen() + 5 * s.stride(), s.stride()));
  EXPECT_FALSE(restored.Restore({1, 2}, 2, 2));  // stride 2 without ever filling
  s.Clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.stride(), 1u);
}

TEST(DistributionBaseline, UntestedUntilEnoughValuesLearned) {
  std::mt19937_64 rng(1);
  DistributionBaseline b;
  b.Learn(kRequests, SampleOf(Latencies(rng, 1000)));
  EXPECT_EQ(b.Score(kRequests, SampleOf({1e6, 1e6}), 0).n, 0u);
  b.Learn(kRequests, SampleOf(Latencies(rng, 1000)));
  EXPECT_EQ(b.Score(kRequests, SampleOf({1e6, 1e6}), 1).n, 2u);
  EXPECT_EQ(b.Score(kRequests, WindowSample(), 1).n, 0u);
}

TEST(DistributionBaseline, PValuesCalibratedUnderTheNull) {
  std::mt19937_64 rng(2);
  const DistributionBaseline b = Learned(rng, 500, 40);
  int tail_small = 0, shift_small = 0, tail_tiny = 0, shift_tiny = 0;
  const int windows = 20000;
  for (int w = 0; w < windows; ++w) {
    const DistributionScore s = b.Score(kRequests, SampleOf(Latencies(rng, 40)), 0);
    ASSERT_EQ(s.n, 40u);
    tail_small += s.tail_p <= 0.01;
    shift_small += s.shift_p <= 0.01;
    tail_tiny += s.tail_p <= 0.001;
    shift_tiny += s.shift_p <= 0.001;
  }
  // Valid (never much above the nominal rate); the design effect makes
  // them conservative for independent values.
  EXPECT_LE(tail_small, 2 * 0.01 * windows);
  EXPECT_LE(shift_small, 2 * 0.01 * windows);
  EXPECT_LE(tail_tiny, 2 * 0.001 * windows + 3);
  EXPECT_LE(shift_tiny, 2 * 0.001 * windows + 3);
}

TEST(DistributionBaseline, FindsAGrowingTailWhoseMeanStaysInRange) {
  std::mt19937_64 rng(3);
  const DistributionBaseline b = Learned(rng, 500, 40);
  // 8 of 60 requests 20x slower: 8 above the p99 where 0.6 are expected
  // (a p-value near 4e-4 once the design effect has shrunk 60 values to
  // 27.5 effective ones; 1e-7 for independent values).
  std::vector<double> window = Latencies(rng, 60);
  for (int i = 0; i < 8; ++i) window[static_cast<size_t>(i)] *= 20;
  const DistributionScore s = b.Score(kRequests, SampleOf(window), 0);
  EXPECT_GE(s.above_tail, 7u);
  EXPECT_LT(s.tail_p, 1e-3);
  EXPECT_NEAR(s.tail_rate, 0.01, 0.004);
  EXPECT_NEAR(s.median_rate, 0.5, 0.03);
  // A whole-window shift to 3x the median moves the median test.
  const DistributionScore shifted = b.Score(kRequests, SampleOf(Latencies(rng, 40, 105)), 0);
  EXPECT_LT(shifted.shift_p, 1e-4);
}

TEST(DistributionBaseline, ConstantValuesKeepAFiniteRate) {
  DistributionBaseline b;
  WindowSample constant = SampleOf(std::vector<double>(3000, 12.5));
  b.Learn(kRequests, constant);
  const DistributionScore same = b.Score(kRequests, SampleOf(std::vector<double>(40, 12.5)), 0);
  EXPECT_EQ(same.above_tail, 0u);
  EXPECT_EQ(same.tail_p, 1);
  EXPECT_EQ(same.shift_p, 1);
  const DistributionScore one = b.Score(kRequests, SampleOf({12.5, 12.5, 13.5}), 0);
  EXPECT_EQ(one.above_tail, 1u);
  EXPECT_LT(one.tail_p, 0.01);
}

TEST(DistributionBaseline, ThresholdsHoldForARoundAndFollowTheSketchAfter) {
  std::mt19937_64 rng(5);
  DistributionBaseline b = Learned(rng, 100, 40);
  const WindowSample probe = SampleOf({200, 200, 200});
  const DistributionScore first = b.Score(kRequests, probe, 7);
  // Learning a slower distribution within round 7 leaves its thresholds...
  for (int w = 0; w < 400; ++w) b.Learn(kRequests, SampleOf(Latencies(rng, 40, 150)));
  EXPECT_EQ(b.Score(kRequests, probe, 7).tail_value, first.tail_value);
  // ...and the next round sees it.
  EXPECT_GT(b.Score(kRequests, probe, 8).tail_value, first.tail_value);
}

TEST(DistributionBaseline, MergeOfPartsEqualsLearningTheWhole) {
  std::mt19937_64 rng(4);
  DistributionBaseline whole, a, b;
  for (int w = 0; w < 200; ++w) {
    const WindowSample s = SampleOf(Latencies(rng, 30 + w % 7));
    whole.Learn(kRequests, s);
    (w % 3 == 0 ? a : b).Learn(kRequests, s);
  }
  a.Merge(b);
  EXPECT_TRUE(a.sketch(kRequests) == whole.sketch(kRequests));
  const WindowSample probe = SampleOf(Latencies(rng, 40, 60));
  EXPECT_EQ(a.Score(kRequests, probe, 0).shift_p, whole.Score(kRequests, probe, 0).shift_p);
  a.Reset();
  EXPECT_EQ(a.sketch(kRequests).count(), 0u);
}

}  // namespace
}  // namespace timescan::internal
