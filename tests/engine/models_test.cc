#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "models/categorical_model.h"
#include "models/count_model.h"
#include "models/value_model.h"
#include "stats/distributions.h"

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

// Coarse counts (an hour of a minute-rate following the day) learned from
// five replicas over a day: one window per hour slot each.
CountBaseline HourlySums(std::mt19937_64& rng, int days) {
  CountBaseline b;
  for (int d = 0; d < days; ++d) {
    for (int h = 0; h < CountBaseline::kHours; ++h) {
      std::poisson_distribution<int> count(360 * (1 + 0.5 * std::sin(2 * M_PI * h / 24)));
      for (int r = 0; r < 5; ++r) b.Add(Kind::kRequest, h, /*age=*/5, count(rng));
    }
  }
  return b;
}

TEST(CountBaseline, WithinHourPredictionFollowsThePriorMeanAndTheHourSpread) {
  std::mt19937_64 rng(11);
  const CountBaseline b = HourlySums(rng, 1);
  double within_ratio = 0, plain_ratio = 0;
  for (int h = 0; h < CountBaseline::kHours; ++h) {
    const double mean = 360 * (1 + 0.5 * std::sin(2 * M_PI * h / 24));
    const CountPrediction within = b.PredictWithinHour(Kind::kRequest, h, mean);
    EXPECT_NEAR(within.mean, mean, 0.1 * mean) << h;
    within_ratio += within.variance / mean / CountBaseline::kHours;
    plain_ratio += b.Predict(Kind::kRequest, h, 5, true).variance / mean / CountBaseline::kHours;
  }
  // About Poisson: the daily swing is not in the spread.
  EXPECT_GT(within_ratio, 0.8);
  EXPECT_LT(within_ratio, 1.6);
  // The plain seasonal prediction, shrunk towards the all-hours baseline
  // while its hours are thin, spreads over the day's swing.
  EXPECT_GT(plain_ratio, 5);
}

TEST(CountBaseline, WithinHourPValuesAreCalibratedUnderTheNull) {
  std::mt19937_64 rng(12);
  int tests = 0, spikes = 0, drops = 0;
  for (int round = 0; round < 40; ++round) {
    const CountBaseline b = HourlySums(rng, 1);
    for (int h = 0; h < CountBaseline::kHours; ++h) {
      const double mean = 360 * (1 + 0.5 * std::sin(2 * M_PI * h / 24));
      const CountPrediction p = b.PredictWithinHour(Kind::kRequest, h, mean);
      std::poisson_distribution<int> count(mean);
      const int x = count(rng);
      ++tests;
      spikes += stats::CountSpikeMidP(x, p.mean, p.variance) <= 0.01;
      drops += stats::CountDropMidP(x, p.mean, p.variance) <= 0.01;
    }
  }
  // Nominal 1% each; at most twice that (960 tests).
  EXPECT_LE(spikes, 0.02 * tests);
  EXPECT_LE(drops, 0.02 * tests);
}

// --- merge: a baseline merged from parts matches the one learned from the
// union (tolerances stated per model) --------------------------------------

TEST(Moments, MergeMatchesWelfordOverTheUnionAndIsSymmetric) {
  std::mt19937_64 rng(3);
  std::gamma_distribution<double> gamma(2.0, 40.0);
  Moments all, a, b;
  for (int i = 0; i < 5000; ++i) {
    const double x = gamma(rng);
    all.Add(x);
    (i % 3 == 0 ? a : b).Add(x);
  }
  Moments ab = a, ba = b;
  ab.Merge(b);
  ba.Merge(a);
  EXPECT_EQ(ab.n, all.n);
  EXPECT_NEAR(ab.mean, all.mean, 1e-12 * all.mean);
  EXPECT_NEAR(ab.Variance(), all.Variance(), 1e-10 * all.Variance());
  EXPECT_EQ(ab.mean, ba.mean);  // written symmetrically: exactly commutative
  EXPECT_EQ(ab.m2, ba.m2);
  Moments empty;
  empty.Merge(a);
  EXPECT_EQ(empty.mean, a.mean);
  EXPECT_EQ(empty.m2, a.m2);
}

TEST(CategoricalTable, MergeAddsCountsAndNoveltyExposure) {
  CategoricalTable a, b, all;
  const auto learn = [](CategoricalTable& t, Symbol v, uint32_t n) { t.Add(v, n, 1000); };
  for (const auto& [v, n] : std::vector<std::pair<Symbol, uint32_t>>{{1, 5}, {2, 1}, {3, 2}}) {
    learn(a, v, n);
    learn(all, v, n);
  }
  for (const auto& [v, n] : std::vector<std::pair<Symbol, uint32_t>>{{2, 4}, {4, 1}}) {
    learn(b, v, n);
    learn(all, v, n);
  }
  a.AddWindow(true);
  b.AddWindow(false);
  b.AddUntracked(3);
  all.AddUntracked(3);
  a.Merge(b, [](Symbol s) { return s; }, 1000);
  for (Symbol v = 1; v <= 4; ++v) EXPECT_EQ(a.Count(v), all.Count(v)) << v;
  EXPECT_EQ(a.total(), all.total());
  EXPECT_EQ(a.overflow(), all.overflow());
  EXPECT_DOUBLE_EQ(a.EventNoveltyRate(), all.EventNoveltyRate());
  EXPECT_DOUBLE_EQ(a.RareMass(2), all.RareMass(2));
  EXPECT_EQ(a.windows(), 2u);
  EXPECT_EQ(a.novel_windows(), 1u);
  // Symbols of the other table are translated.
  CategoricalTable c;
  c.Merge(b, [](Symbol s) { return s + 100; }, 1000);
  EXPECT_EQ(c.Count(102), 4u);
  EXPECT_EQ(c.Count(2), 0u);
}

TEST(CountBaseline, MergeMatchesTheUnionSlotBySlot) {
  std::mt19937_64 rng(5);
  std::poisson_distribution<uint32_t> poisson(7.0);
  CountBaseline a, b, all;
  for (int w = 0; w < 3000; ++w) {
    const int hour = (w / 60) % 24;
    const int64_t age = w % 50;
    const uint32_t x = poisson(rng);
    all.Add(Kind::kRequest, hour, age, x);
    (w % 2 == 0 ? a : b).Add(Kind::kRequest, hour, age, x);
  }
  a.Merge(b);
  for (int hour = 0; hour < 24; hour += 7) {
    for (int64_t age : {0, 1, 10}) {
      const CountPrediction m = a.Predict(Kind::kRequest, hour, age, true);
      const CountPrediction u = all.Predict(Kind::kRequest, hour, age, true);
      EXPECT_NEAR(m.mean, u.mean, 1e-9 * u.mean);
      EXPECT_NEAR(m.variance, u.variance, 1e-9 * u.variance);
      EXPECT_EQ(m.windows, u.windows);
    }
  }
}

TEST(ValueBaseline, MergeMatchesTheUnionExactly) {
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> bytes(8.0, 2.0);
  ValueBaseline a, b, all;
  for (int w = 0; w < 2000; ++w) {
    ValueObservation o{bytes(rng), 3, 10, static_cast<uint32_t>(w % 7 == 0)};
    all.Add(Kind::kConnect, o);
    all.Add(Kind::kApi, o);
    ValueBaseline& part = w % 4 == 0 ? a : b;
    part.Add(Kind::kConnect, o);
    part.Add(Kind::kApi, o);
  }
  a.Merge(b);
  for (double x : {10.0, 3000.0, 1e5, 1e9}) {
    const ValueObservation o{x, 1, 0, 0};
    EXPECT_EQ(a.ValuePValue(Kind::kConnect, o), all.ValuePValue(Kind::kConnect, o)) << x;
  }
  EXPECT_EQ(a.ErrorRate(Kind::kApi), all.ErrorRate(Kind::kApi));
  const ValueObservation errors{0, 0, 20, 9};
  EXPECT_EQ(a.ErrorPValue(Kind::kApi, errors), all.ErrorPValue(Kind::kApi, errors));
}

}  // namespace
}  // namespace timescan::internal
