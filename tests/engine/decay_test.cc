// Exponential forgetting (EngineOptions::baseline_half_life): unbiased,
// reproducible rounding of counts, and each model's Decay keeping its own
// invariants.

#include "models/decay.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "models/categorical_model.h"
#include "models/count_model.h"
#include "models/quantile_sketch.h"
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

}  // namespace
}  // namespace timescan::internal
