#include <random>

#include "gtest/gtest.h"
#include "models/categorical_model.h"
#include "models/count_model.h"

namespace timescan::internal {
namespace {

TEST(CategoricalTable, TracksCountsOfCountsAndTheGoodTuringRate) {
  CategoricalTable t;
  t.Add(1, 10, 100);
  t.Add(2, 1, 100);
  t.Add(3, 1, 100);
  EXPECT_EQ(t.total(), 12u);
  EXPECT_EQ(t.Count(1), 10u);
  // Two singletons of twelve events: (2 + 0.5) / 13.
  EXPECT_DOUBLE_EQ(t.EventNoveltyRate(), 2.5 / 13);
  EXPECT_DOUBLE_EQ(t.RareMass(1), 2.0 / 12);
  t.Add(2, 1, 100);  // 2 is no longer a singleton
  EXPECT_DOUBLE_EQ(t.EventNoveltyRate(), 1.5 / 14);
  EXPECT_DOUBLE_EQ(t.RareMass(2), 3.0 / 13);
}

TEST(CategoricalTable, CapsDistinctValuesAndCountsTheOverflow) {
  CategoricalTable t;
  for (Symbol s = 1; s <= 10; ++s) t.Add(s, 1, 5);
  EXPECT_EQ(t.distinct(), 5u);
  EXPECT_EQ(t.overflow(), 5u);
  EXPECT_EQ(t.total(), 10u);
}

TEST(CategoricalTable, NoveltyPValueIsTheLearnedWindowRate) {
  CategoricalTable rarely_new, often_new;
  for (int i = 0; i < 999; ++i) rarely_new.AddWindow(false);
  for (int i = 0; i < 999; ++i) often_new.AddWindow(i % 2 == 0);
  rarely_new.Add(1, 5000, 100);
  FeatureObservation o;
  o.Observe(/*value=*/42, /*n=*/1, /*learned=*/0);
  // With a Jeffreys prior of one window: (0 + 0.5) / (999 + 1).
  EXPECT_DOUBLE_EQ(rarely_new.Score(o, 0.5, 1).p_value, 0.5 / 1000);
  EXPECT_TRUE(rarely_new.Score(o, 0.5, 1).novelty);
  EXPECT_GT(often_new.Score(o, 0.5, 1).p_value, 0.4);
  // A fleet that rarely sees new values pulls a thin group's rate down.
  CategoricalTable thin;
  for (int i = 0; i < 10; ++i) thin.AddWindow(false);
  EXPECT_NEAR(thin.Score(o, 1e-4, 1440).p_value, 1440 * 1e-4 / 1450, 1e-12);
}

// Under the null the novelty p-value is calibrated: a window brings a new
// value with the learned rate, so P(p <= rate) ~ rate.
TEST(CategoricalTable, NoveltyIsCalibratedUnderTheNull) {
  std::mt19937_64 rng(5);
  const double true_rate = 0.02;
  CategoricalTable t;
  Symbol next = 1;
  for (int w = 0; w < 20000; ++w) {
    const bool fresh = std::uniform_real_distribution<double>(0, 1)(rng) < true_rate;
    t.Add(fresh ? next++ : 0, 1, 1'000'000);
    t.AddWindow(fresh);
  }
  EXPECT_NEAR(t.WindowNoveltyRate(0.5, 1), true_rate, 0.004);
}

TEST(FeatureObservation, KeepsTheLowestSymbolsAsExamples) {
  FeatureObservation o;
  for (Symbol s : {9u, 3u, 7u, 5u, 1u, 8u}) o.Observe(s, 1, 0);
  EXPECT_EQ(o.new_values, 6u);
  EXPECT_EQ(o.new_examples, (std::array<Symbol, 4>{1, 3, 5, 7}));
  o.Observe(20, 2, 4);
  o.Observe(21, 1, 2);
  EXPECT_EQ(o.rarest, 21u);
  EXPECT_EQ(o.events, 9u);
}

TEST(CountBaseline, PredictsTheSlotMeanAndShrinksThinHours) {
  CountBaseline b;
  // The engine adds every kind to every window, zeros included.
  for (int i = 0; i < 600; ++i) {
    b.Add(Kind::kRequest, 14, /*age=*/5, 100);
    b.Add(Kind::kExec, 14, 5, 0);
    b.Add(Kind::kRequest, 3, 5, 10);
    b.Add(Kind::kExec, 3, 5, 0);
  }
  const CountPrediction day = b.Predict(Kind::kRequest, 14, 5, true);
  EXPECT_NEAR(day.mean, 100, 1.0);
  const CountPrediction night = b.Predict(Kind::kRequest, 3, 5, true);
  EXPECT_NEAR(night.mean, 10, 1.0);
  // An hour never seen borrows the all-hours mean.
  const CountPrediction unseen = b.Predict(Kind::kRequest, 7, 5, true);
  EXPECT_NEAR(unseen.mean, 55, 1.0);
  // Without seasonality, one all-hours baseline.
  EXPECT_NEAR(b.Predict(Kind::kRequest, 14, 5, false).mean, 55, 1.0);
  // A kind never seen predicts almost nothing, but not exactly zero.
  const CountPrediction exec = b.Predict(Kind::kExec, 14, 5, true);
  EXPECT_GT(exec.mean, 0);
  EXPECT_LT(exec.mean, 0.01);
}

TEST(CountBaseline, StartUpWindowsHaveTheirOwnBaseline) {
  CountBaseline b;
  for (int i = 0; i < 50; ++i) b.Add(Kind::kExec, 10, /*age=*/0, 6);
  for (int i = 0; i < 5000; ++i) b.Add(Kind::kExec, 10, /*age=*/10, 0);
  EXPECT_NEAR(b.Predict(Kind::kExec, 10, 0, true).mean, 6, 0.3);
  EXPECT_LT(b.Predict(Kind::kExec, 10, 10, true).mean, 0.01);
}

}  // namespace
}  // namespace timescan::internal
