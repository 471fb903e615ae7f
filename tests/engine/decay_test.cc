// Exponential forgetting (EngineOptions::baseline_half_life): unbiased,
// reproducible rounding of counts, and each model's Decay keeping its own
// invariants.

#include "models/decay.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "models/categorical_model.h"
#include "models/count_model.h"
#include "models/mix_model.h"
#include "models/multivariate_model.h"
#include "models/quantile_sketch.h"
#include "models/sequence_model.h"
#include "models/value_model.h"

namespace timescan::internal {
namespace {

TEST(CountScaler, IsUnbiasedAndReproducible) {
  const CountScaler scaler(0.3, 42);
  for (uint64_t count : {1u, 2u, 7u, 1000u}) {
    double sum = 0;
    const int kKeys = 200'000;
    for (int key = 0; key < kKeys; ++key) {
      const uint64_t scaled = scaler.Scale(count, static_cast<uint64_t>(key));
      // Only the two integers around count * factor.
      EXPECT_GE(scaled, static_cast<uint64_t>(std::floor(count * 0.3)));
      EXPECT_LE(scaled, static_cast<uint64_t>(std::ceil(count * 0.3)));
      sum += static_cast<double>(scaled);
    }
    EXPECT_NEAR(sum / kKeys, count * 0.3, 0.005 * std::max(1.0, count * 0.3)) << count;
  }
  EXPECT_EQ(scaler.Scale(17, 5), CountScaler(0.3, 42).Scale(17, 5));
  EXPECT_EQ(CountScaler(1.0, 1).Scale(17, 5), 17u);
  EXPECT_EQ(scaler.Scale(0, 5), 0u);
}

TEST(Decay, MomentsKeepTheirMeanAndVariance) {
  CountBaseline counts;
  for (int i = 0; i < 100; ++i) counts.Add(Kind::kRequest, 3, 10, static_cast<uint32_t>(i % 7));
  const CountPrediction before = counts.Predict(Kind::kRequest, 3, 10, /*seasonal=*/false);
  counts.Decay(0.25);
  const CountPrediction after = counts.Predict(Kind::kRequest, 3, 10, /*seasonal=*/false);
  EXPECT_NEAR(after.windows, before.windows * 0.25, 1e-9);
  EXPECT_NEAR(after.mean, before.mean, 0.05);  // only the prior's weight grows
}

TEST(Decay, CategoricalValuesStayKnownAndTotalsStayConsistent) {
  CategoricalTable table;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) table.Add(static_cast<Symbol>(1 + rng() % 50), 1, 1000);
  table.Add(999, 1, 1000);  // a value seen once
  for (int i = 0; i < 100; ++i) table.AddWindow(i % 10 == 0);
  const uint64_t total = table.total();
  table.Decay(CountScaler(0.5, 7));
  EXPECT_EQ(table.distinct(), 51u);
  EXPECT_EQ(table.Count(999), 1u);  // never below 1: forgotten how often, not that
  uint64_t sum = 0;
  for (const auto& [value, count] : table.Top(100)) sum += count;
  EXPECT_GE(table.total(), sum);
  EXPECT_NEAR(static_cast<double>(table.total()), total * 0.5, total * 0.05);
  EXPECT_NEAR(static_cast<double>(table.windows()), 50, 3);
  EXPECT_LE(table.novel_windows(), table.windows());
  // The count-of-counts agree with the counts: the rare mass of the value
  // seen once is what a fresh table with the same counts gives.
  CategoricalTable fresh;
  for (const auto& [value, count] : table.Top(100)) fresh.Add(value, count, 1000);
  EXPECT_DOUBLE_EQ(table.RareMass(1), fresh.RareMass(1) * fresh.total() / table.total());
}

TEST(Decay, SketchKeepsItsQuantilesAndDrainsToEmpty) {
  QuantileSketch sketch;
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> values(3, 1);
  for (int i = 0; i < 100'000; ++i) sketch.Add(values(rng));
  sketch.Add(0);
  const double median = sketch.Quantile(0.5);
  const double p99 = sketch.Quantile(0.99);
  sketch.Decay(CountScaler(0.5, 1));
  EXPECT_NEAR(static_cast<double>(sketch.count()), 50'000, 500);
  EXPECT_NEAR(sketch.Quantile(0.5), median, 0.03 * median);
  EXPECT_NEAR(sketch.Quantile(0.99), p99, 0.05 * p99);
  // No empty bucket at either end, as FromBuckets demands.
  ASSERT_FALSE(sketch.counts().empty());
  EXPECT_GT(sketch.counts().front(), 0u);
  EXPECT_GT(sketch.counts().back(), 0u);
  for (uint64_t step = 0; step < 200 && sketch.count() > 0; ++step) {
    sketch.Decay(CountScaler(0.5, step));
  }
  EXPECT_EQ(sketch.count(), 0u);
  EXPECT_TRUE(sketch.counts().empty());
}

TEST(Decay, HistogramTotalIsTheSumOfItsBins) {
  ValueBaseline values;
  for (int i = 0; i < 1000; ++i) {
    values.Add(Kind::kConnect, ValueObservation{static_cast<double>(i * 37 % 5000), 1, 4, 1});
  }
  values.Decay(CountScaler(0.5, 11));
  const LogHistogram& h = values.histogram(Kind::kConnect);
  EXPECT_NEAR(static_cast<double>(h.total()), 500, 40);
  EXPECT_LE(values.ErrorRate(Kind::kConnect), 1.0);
}

TEST(Decay, SequenceNGramsStayKnownAndTotalsStayConsistent) {
  SequenceTable table;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) table.Add(1 + rng() % 40, 1, 1000);
  table.Add(777, 1, 1000);                       // an n-gram seen once
  table.Add(778, SequenceTable::kMaxCount + 10, 1000);  // saturated
  table.AddUntracked(30);
  for (int i = 0; i < 100; ++i) table.AddWindow(i % 10 == 0);
  const uint64_t total = table.total();
  SequenceTable copy = table;
  table.Decay(CountScaler(0.5, 7));
  copy.Decay(CountScaler(0.5, 7));
  EXPECT_EQ(table.Sorted(), copy.Sorted());  // the same state decays the same way
  EXPECT_EQ(table.total(), copy.total());
  EXPECT_EQ(table.distinct(), 42u);
  EXPECT_EQ(table.Count(777), 1u);  // a known n-gram stays known
  EXPECT_NEAR(table.Count(778), SequenceTable::kMaxCount / 2.0, 1);
  EXPECT_NEAR(static_cast<double>(table.total()), total * 0.5, total * 0.05);
  EXPECT_NEAR(static_cast<double>(table.overflow()), 15, 1);
  EXPECT_NEAR(static_cast<double>(table.windows()), 50, 3);
  EXPECT_LE(table.novel_windows(), table.windows());
  // What a snapshot demands of it: counts 1..65535 whose sum plus the
  // overflow stays within the total.
  SequenceTable restored;
  ASSERT_TRUE(restored.Restore(table.Sorted(), table.total(), table.windows(),
                               table.novel_windows(), table.overflow(), 1000));
  // The count-of-counts agree with the counts.
  EXPECT_DOUBLE_EQ(table.RareMass(1), restored.RareMass(1));
  EXPECT_DOUBLE_EQ(table.RareMass(16), restored.RareMass(16));
  // Many half-lives on, every n-gram is still known, once.
  for (uint64_t step = 0; step < 40; ++step) table.Decay(CountScaler(0.5, step));
  EXPECT_EQ(table.distinct(), 42u);
  for (const auto& [id, count] : table.Sorted()) EXPECT_EQ(count, 1u) << id;
  EXPECT_GE(table.total(), 42u);
}

TEST(Decay, MixTailsHalveAndKeepAscendingPositiveCells) {
  StratifiedTail tail;
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> statistic(0.2);
  for (int i = 0; i < 4000; ++i) tail.Add(static_cast<int>(rng() % 5), statistic(rng));
  const uint64_t before = tail.Windows(3);
  const double p_before = tail.UpperTail(3, 12);
  StratifiedTail copy = tail;
  tail.Decay(CountScaler(0.5, 3));
  copy.Decay(CountScaler(0.5, 3));
  ASSERT_EQ(tail.cells().size(), copy.cells().size());
  for (size_t i = 0; i < tail.cells().size(); ++i) {
    EXPECT_EQ(tail.cells()[i].key, copy.cells()[i].key);
    EXPECT_EQ(tail.cells()[i].count, copy.cells()[i].count);
  }
  EXPECT_NEAR(static_cast<double>(tail.Windows(3)), before * 0.5, before * 0.05);
  // Ranks are shares: about the same p-value.
  EXPECT_NEAR(tail.UpperTail(3, 12), p_before, 0.02);
  // What a snapshot demands: ascending keys, counts above 0.
  StratifiedTail restored;
  EXPECT_TRUE(restored.Restore(tail.cells()));
  for (uint64_t step = 0; step < 40; ++step) tail.Decay(CountScaler(0.5, step));
  EXPECT_TRUE(tail.cells().empty());
  EXPECT_EQ(tail.StratumFor(8, 1), -1);

  // The baseline decays every tail.
  MixBaseline mix;
  MixWindowStats window;
  window.mix_events = {20, 0, 0};
  window.mix_statistic = {3, 0, 0};
  window.events = {20, 0, 0, 20, 0};
  window.distinct = {4, 0, 0, 7, 0};
  for (int i = 0; i < 400; ++i) mix.Learn(window);
  const int stratum = StratifiedTail::StratumOf(20);
  mix.Decay(CountScaler(0.25, 1));
  EXPECT_EQ(mix.mix(0).Windows(stratum), 100u);  // one cell of 400: a quarter, exactly
  EXPECT_EQ(mix.distinct(3).Windows(stratum), 100u);
  EXPECT_EQ(mix.ScoreMix(0, window).stratum, stratum);  // still tested: 100 windows
}

TEST(Decay, MultivariateKeepsItsEstimateHalvesItsWeightAndDistances) {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> noise(0, 1);
  auto window = [&] {
    std::array<uint32_t, kKindCount> counts{};
    const double load = std::exp(0.3 * noise(rng));
    counts[static_cast<size_t>(Kind::kRequest)] = static_cast<uint32_t>(100 * load + 5 * noise(rng));
    counts[static_cast<size_t>(Kind::kConnect)] = static_cast<uint32_t>(50 * load + 4 * noise(rng));
    return MultivariateVectorOf(counts, {}, 0);
  };
  MultivariateBaseline b;
  for (int i = 0; i < 1000; ++i) b.Learn(window());
  ASSERT_TRUE(b.has_estimate());
  const double weight = b.weight();
  const uint64_t distances = b.distances();
  const std::vector<double> mean = b.estimate_mean();
  const MultivariateVector probe = window();
  const double d2 = b.Distance2(probe);
  MultivariateBaseline copy = b;
  b.Decay(CountScaler(0.5, 4));
  copy.Decay(CountScaler(0.5, 4));
  EXPECT_EQ(b.weight(), copy.weight());  // deterministic
  EXPECT_EQ(b.distances(), copy.distances());
  EXPECT_DOUBLE_EQ(b.weight(), weight * 0.5);
  EXPECT_NEAR(static_cast<double>(b.distances()), distances * 0.5, distances * 0.05);
  EXPECT_EQ(b.estimate_mean(), mean);  // the estimate stays until its refresh
  EXPECT_DOUBLE_EQ(b.Distance2(probe), d2);
  // The refresh after decay: the sums still give the same mean.
  for (uint64_t i = 0; i < MultivariateBaseline::kRefreshWindows; ++i) {
    const MultivariateVector x = window();
    b.Learn(x);
    copy.Learn(x);
  }
  ASSERT_EQ(b.estimate_mean().size(), mean.size());
  for (size_t i = 0; i < mean.size(); ++i) EXPECT_NEAR(b.estimate_mean()[i], mean[i], 0.3) << i;
  // Forgetting stops at one window's weight, and the distances drain.
  for (uint64_t step = 0; step < 80; ++step) b.Decay(CountScaler(0.5, step));
  EXPECT_DOUBLE_EQ(b.weight(), 1.0);
  EXPECT_EQ(b.distances(), 0u);
  EXPECT_EQ(b.PValueOfDistance2(d2), 1.0);
  EXPECT_TRUE(b.has_estimate());
}

}  // namespace
}  // namespace timescan::internal
