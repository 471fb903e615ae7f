// The multivariate window model: the estimator against known values and a
// hand-computed distance, robustness to gross outliers, p-values calibrated
// under the null, power against a correlation-breaking alternative whose
// marginals are unchanged, merges equal to learning the union; and in the
// engine, an entity that keeps its requests but stops its connects.
#include "models/multivariate_model.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synthetic_fleet.h"
#include "timescan/engine.h"

namespace timescan::internal {
namespace {

using ::testing::HasSubstr;

constexpr size_t kRequests = static_cast<size_t>(Kind::kRequest);
constexpr size_t kConnects = static_cast<size_t>(Kind::kConnect);
constexpr size_t kExecs = static_cast<size_t>(Kind::kExec);

MultivariateVector Vector2(double requests, double connects) {
  MultivariateVector x{};
  x[kRequests] = requests;
  x[kConnects] = connects;
  return x;
}

// A window of a service whose load (lognormal, `load_sd`) drives its
// requests and connects together; `broken`: the connects follow a load of
// their own (same marginal, no correlation).
MultivariateVector ServiceWindow(std::mt19937_64& rng, bool broken = false, double load_sd = 0.5) {
  std::normal_distribution<double> normal(0, load_sd);
  const double load = std::exp(normal(rng));
  const double connect_load = broken ? std::exp(normal(rng)) : load;
  std::poisson_distribution<int> requests(100 * load), connects(50 * connect_load), execs(0.3);
  std::array<uint32_t, kKindCount> counts{};
  counts[kRequests] = static_cast<uint32_t>(requests(rng));
  counts[kConnects] = static_cast<uint32_t>(connects(rng));
  counts[kExecs] = static_cast<uint32_t>(execs(rng));
  return MultivariateVectorOf(counts, {}, 0);
}

TEST(MultivariateVector, DimensionsAreLogsAndCounts) {
  std::array<uint32_t, kKindCount> counts{};
  counts[kRequests] = 9;
  std::array<ValueObservation, kKindCount> obs{};
  obs[kRequests] = ValueObservation{90, 9, 9, 3};  // mean latency 10, 3 of 9 failed
  obs[kConnects] = ValueObservation{999, 2, 0, 0};
  const MultivariateVector x = MultivariateVectorOf(counts, obs, 4);
  const double anscombe_zero = 2 * std::sqrt(0.375);
  EXPECT_DOUBLE_EQ(x[kRequests], 2 * std::sqrt(9.375) - anscombe_zero);
  EXPECT_DOUBLE_EQ(x[kConnects], 0);  // no connect events counted
  EXPECT_DOUBLE_EQ(x[kMvRequestLatency], std::log(11));
  EXPECT_DOUBLE_EQ(x[kMvConnectBytes], std::log(1000));
  EXPECT_DOUBLE_EQ(x[kMvRequestErrors], 2 * std::sqrt(3.375) - anscombe_zero);  // 3 errors
  EXPECT_DOUBLE_EQ(x[kMvApiErrors], 0);
  EXPECT_DOUBLE_EQ(x[kMvDistinctSubjects], 2 * std::sqrt(4.375) - anscombe_zero);
  EXPECT_NEAR(MultivariateUnits(kRequests, x[kRequests]), 9, 1e-12);
  EXPECT_EQ(MultivariateDimName(kConnects), "connect count");
}

TEST(MultivariateBaseline, EstimateMatchesTheSampleAndTheDistanceAHandComputation) {
  // Bounded data (every window well within the weighting's cut-off), so
  // every weight is 1 and the estimate is the sample's, shrunk.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  MultivariateBaseline b;
  std::vector<MultivariateVector> xs;
  // 32 warm-up windows, then refreshes every 64: the last at the end.
  const int n = MultivariateBaseline::kWarmupWindows + 64 * 10;
  for (int i = 0; i < n; ++i) {
    const double a = u(rng), c = u(rng);
    // Stored as the warm-up stores them: floats.
    // Spreads well above the count dimensions' variance floors (about 1).
    xs.push_back(Vector2(static_cast<float>(30 + 10 * a), static_cast<float>(20 + 8 * a + 3 * c)));
    b.Learn(xs.back());
  }
  ASSERT_TRUE(b.has_estimate());
  ASSERT_EQ(b.estimate_dims(), (std::vector<uint8_t>{kConnects, kRequests}));
  double m[2] = {0, 0}, s[3] = {0, 0, 0};  // connects, requests; cc, cr, rr
  for (const MultivariateVector& x : xs) {
    m[0] += x[kConnects] / n;
    m[1] += x[kRequests] / n;
  }
  for (const MultivariateVector& x : xs) {
    const double dc = x[kConnects] - m[0], dr = x[kRequests] - m[1];
    s[0] += dc * dc / n;
    s[1] += dc * dr / n;
    s[2] += dr * dr / n;
  }
  const double lambda = MultivariateBaseline::kShrinkage + 2.0 / n;
  const std::vector<double> cov = b.EstimateCovariance();
  EXPECT_NEAR(b.estimate_mean()[0], m[0], 1e-9);
  EXPECT_NEAR(b.estimate_mean()[1], m[1], 1e-9);
  EXPECT_NEAR(cov[0], s[0], 1e-9);
  EXPECT_NEAR(cov[1], (1 - lambda) * s[1], 1e-9);
  EXPECT_NEAR(cov[3], s[2], 1e-9);
  // Known values of the construction: variances 100/3 and 73/3.
  EXPECT_NEAR(s[2], 100.0 / 3, 3);
  EXPECT_NEAR(s[0], 73.0 / 3, 3);
  EXPECT_NEAR(s[1] / std::sqrt(s[0] * s[2]), 0.8 / std::sqrt(0.73), 0.03);

  // d² = x' S^-1 x by the 2x2 inverse.
  const double sc = cov[0], scr = cov[1], sr = cov[3];
  const double det = sc * sr - scr * scr;
  const MultivariateVector probe = Vector2(35, 15);  // requests up, connects down
  const double dc = 15 - m[0], dr = 35 - m[1];
  const double by_hand = (sr * dc * dc - 2 * scr * dc * dr + sc * dr * dr) / det;
  EXPECT_NEAR(b.Distance2(probe), by_hand, 1e-9 * by_hand);
  const MultivariateScore score = b.Score(probe);
  ASSERT_TRUE(score.tested);
  EXPECT_NEAR(score.distance2, by_hand, 1e-9 * by_hand);
  // Contributions sum to d²; the conditional expectation of connects given
  // the requests is m_c + S_cr / S_rr (r - m_r).
  double total = 0;
  for (int i = 0; i < score.top_count; ++i) total += score.top[static_cast<size_t>(i)].contribution;
  EXPECT_NEAR(total, by_hand, 1e-9 * by_hand);
  const auto& top = score.top[0];
  ASSERT_EQ(top.dim, static_cast<int>(kConnects));
  EXPECT_NEAR(top.expected, m[0] + scr / sr * dr, 1e-9);
  EXPECT_NEAR(top.expected_sd, std::sqrt(sc - scr * scr / sr), 1e-9);
}

TEST(MultivariateBaseline, TenPercentGrossOutliersBarelyMoveTheEstimate) {
  std::mt19937_64 rng(12);
  MultivariateBaseline clean, dirty;
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 3000; ++i) {
    const MultivariateVector x = ServiceWindow(rng);
    clean.Learn(x);
    dirty.Learn(x);
    if (i % 10 == 3) {
      // A gross outlier: requests and connects far off, in random mix.
      MultivariateVector o = x;
      o[kRequests] += 4 * u(rng) + 2;
      o[kConnects] = u(rng) < 0.5 ? 0 : o[kConnects] + 5;
      dirty.Learn(o);
    }
  }
  ASSERT_EQ(clean.estimate_dims(), dirty.estimate_dims());
  const std::vector<double> a = clean.EstimateCovariance(), b = dirty.EstimateCovariance();
  const size_t p = clean.estimate_dims().size();
  for (size_t i = 0; i < p; ++i) {
    const double sd = std::sqrt(a[i * p + i]);
    EXPECT_NEAR(dirty.estimate_mean()[i], clean.estimate_mean()[i], 0.1 * sd) << i;
    for (size_t j = 0; j < p; ++j) {
      const double scale = std::sqrt(a[i * p + i] * a[j * p + j]);
      EXPECT_NEAR(b[i * p + j], a[i * p + j], 0.1 * scale) << i << "," << j;
    }
  }
  // Unweighted, the outliers would have doubled the request variance.
}

TEST(MultivariateBaseline, ASecondModeIsLearnedNotWeightedOut) {
  // Busy and quiet minutes, 60/40, and the minority mode first seen as far
  // out: it must end up in the estimate with full weight (the cut-off
  // follows the learned distances' upper quartile).
  std::mt19937_64 rng(18);
  std::uniform_real_distribution<double> u(0, 1);
  MultivariateBaseline b;
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    std::array<uint32_t, kKindCount> counts{};
    const bool busy = u(rng) < 0.6;
    std::poisson_distribution<int> requests(busy ? 200 : 20), connects(busy ? 80 : 8);
    counts[kRequests] = static_cast<uint32_t>(requests(rng));
    counts[kConnects] = static_cast<uint32_t>(connects(rng));
    b.Learn(MultivariateVectorOf(counts, {}, 0));
  }
  EXPECT_GT(b.weight(), 0.97 * n);
  // The mean lies between the modes, near 0.6/0.4.
  const double request_mean = MultivariateUnits(kRequests, b.estimate_mean()[1]);
  const double busy = std::sqrt(200), quiet = std::sqrt(20);
  EXPECT_NEAR(std::sqrt(request_mean), 0.6 * busy + 0.4 * quiet, 0.3);
}

TEST(MultivariateBaseline, PValuesCalibratedUnderTheNull) {
  std::mt19937_64 rng(13);
  MultivariateBaseline b;
  for (int i = 0; i < 5000; ++i) b.Learn(ServiceWindow(rng));
  const int windows = 40000;
  int below_10 = 0, below_1 = 0, below_01 = 0;
  for (int i = 0; i < windows; ++i) {
    const MultivariateScore s = b.Score(ServiceWindow(rng));
    ASSERT_TRUE(s.tested);
    below_10 += s.p_value <= 0.1;
    below_1 += s.p_value <= 0.01;
    below_01 += s.p_value <= 0.001;
  }
  EXPECT_NEAR(below_10, 0.1 * windows, 0.03 * windows);
  EXPECT_LE(below_1, 2 * 0.01 * windows);
  EXPECT_GE(below_1, 0.3 * 0.01 * windows);
  EXPECT_LE(below_01, 2 * 0.001 * windows + 5);
}

TEST(MultivariateBaseline, FindsACorrelationBreakWhoseMarginalsAreUnchanged) {
  std::mt19937_64 rng(14);
  MultivariateBaseline b;
  for (int i = 0; i < 5000; ++i) b.Learn(ServiceWindow(rng));
  const int windows = 2000;
  int found = 0;
  int connects_named = 0;
  for (int i = 0; i < windows; ++i) {
    const MultivariateScore s = b.Score(ServiceWindow(rng, /*broken=*/true));
    found += s.p_value <= 1e-3;
    if (s.p_value <= 1e-3) {
      connects_named += s.top[0].dim == static_cast<int>(kConnects) ||
                        s.top[0].dim == static_cast<int>(kRequests);
    }
  }
  // Under the null 0.1% of windows. Here the ratio of connects to requests
  // moves by the difference of two log-loads (sd 0.7) against its usual
  // Poisson noise (sd 0.17): a window is past p = 0.001 (d² about 16)
  // when that difference exceeds about 4 sd of the noise, |N(0,1)| > 1, a
  // quarter to a third of the windows.
  EXPECT_GE(found, windows / 5);
  EXPECT_GE(connects_named, 0.95 * found);
}

TEST(MultivariateBaseline, UntestedUntilEnoughDistancesLearned) {
  std::mt19937_64 rng(15);
  MultivariateBaseline b;
  for (uint32_t i = 0; i < MultivariateBaseline::kWarmupWindows; ++i) b.Learn(ServiceWindow(rng));
  EXPECT_TRUE(b.has_estimate());
  EXPECT_FALSE(b.Score(ServiceWindow(rng)).tested);
  for (uint64_t i = 0; i < MultivariateBaseline::kMinDistances; ++i) b.Learn(ServiceWindow(rng));
  EXPECT_TRUE(b.Score(ServiceWindow(rng)).tested);
  b.Reset();
  EXPECT_FALSE(b.has_estimate());
  EXPECT_EQ(b.windows(), 0u);
}

TEST(MultivariateBaseline, AKindNeverSeenAddsNoDimension) {
  std::mt19937_64 rng(16);
  MultivariateBaseline b;
  for (int i = 0; i < 300; ++i) b.Learn(ServiceWindow(rng, false, 0.3));
  // exec (sometimes), connect, request.
  EXPECT_EQ(b.estimate_dims(), (std::vector<uint8_t>{kExecs, kConnects, kRequests}));
  // A window with a kind the group never showed: that kind is the count
  // model's to judge; here it changes nothing.
  MultivariateVector x = ServiceWindow(rng, false, 0.3);
  const double d2 = b.Distance2(x);
  x[static_cast<size_t>(Kind::kFile)] = std::log1p(50);
  EXPECT_EQ(b.Distance2(x), d2);
}

TEST(MultivariateBaseline, FewerDistinctSubjectsThanUsualAddNothing) {
  std::mt19937_64 rng(19);
  MultivariateBaseline b;
  auto window = [&](uint32_t distinct) {
    std::poisson_distribution<int> requests(60), routes(12);
    std::array<uint32_t, kKindCount> counts{};
    counts[kRequests] = static_cast<uint32_t>(requests(rng));
    return MultivariateVectorOf(counts, {}, distinct > 0 ? distinct : routes(rng));
  };
  for (int i = 0; i < 2000; ++i) b.Learn(window(0));
  const MultivariateVector usual = MultivariateVectorOf({0, 0, 0, 0, 60}, {}, 12);
  const MultivariateVector one_route = MultivariateVectorOf({0, 0, 0, 0, 60}, {}, 1);
  const MultivariateVector sweep = MultivariateVectorOf({0, 0, 0, 0, 60}, {}, 60);
  EXPECT_LT(b.Distance2(one_route), b.Distance2(usual) + 1e-9);
  EXPECT_GT(b.Distance2(sweep), 20);
  const MultivariateScore s = b.Score(sweep);
  ASSERT_GE(s.top_count, 1);
  EXPECT_EQ(s.top[0].dim, kMvDistinctSubjects);
}

TEST(MultivariateBaseline, MergeOfPartsEqualsLearningTheWhole) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-1, 1);
  MultivariateBaseline whole, a, b;
  // Weights are all 1 on data of random signs (a squared distance near 2,
  // even from the estimate of a warm-up), so sums do not depend on which
  // estimate measured each window. 32 + 64 k windows: the whole's last
  // refresh is at its end, as the merge's is.
  const int n = MultivariateBaseline::kWarmupWindows + 64 * 12;
  for (int i = 0; i < n; ++i) {
    const double l = u(rng) < 0 ? -1 : 1, c = u(rng) < 0 ? -1 : 1;
    const MultivariateVector x =
        Vector2(static_cast<float>(3 + l), static_cast<float>(2 + 0.8 * l + 0.3 * c));
    whole.Learn(x);
    (i % 3 == 0 ? a : b).Learn(x);
  }
  MultivariateBaseline ab = a, ba = b;
  ab.Merge(b);
  ba.Merge(a);
  EXPECT_EQ(ab.windows(), whole.windows());
  ASSERT_EQ(whole.weight(), n);
  ASSERT_EQ(a.weight() + b.weight(), n);
  for (const MultivariateBaseline* merged : {&ab, &ba}) {
    ASSERT_EQ(merged->estimate_dims(), whole.estimate_dims());
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_NEAR(merged->estimate_mean()[i], whole.estimate_mean()[i], 1e-12);
    }
    const std::vector<double> m = merged->EstimateCovariance(), w = whole.EstimateCovariance();
    for (size_t i = 0; i < m.size(); ++i) EXPECT_NEAR(m[i], w[i], 1e-12);
    const MultivariateVector probe = Vector2(3.5, 1.5);
    EXPECT_NEAR(merged->Distance2(probe), whole.Distance2(probe), 1e-9);
  }
  // A part still warming up joins the other's estimate.
  MultivariateBaseline young;
  for (int i = 0; i < 10; ++i) young.Learn(Vector2(3, 2.1));
  MultivariateBaseline old = whole;
  old.Merge(young);
  EXPECT_EQ(old.windows(), whole.windows() + 10);
  young.Merge(whole);
  EXPECT_EQ(young.windows(), whole.windows() + 10);
  EXPECT_TRUE(young.has_estimate());
}

}  // namespace
}  // namespace timescan::internal

namespace timescan {
namespace {

using ::testing::HasSubstr;

// The engine: a fleet whose load is bursty (every kind moves together,
// minute by minute), so that a count of connects far below the usual is
// still within what the count model learned; one entity keeps serving its
// requests but stops three of four of its connects (a backend pulled out of
// its path, a proxy that answers from somewhere else).
struct AttackRun {
  std::vector<Finding> findings;
  uint64_t windows = 0;
};

AttackRun RunAttack(bool multivariate) {
  testing::FleetSpec spec;
  spec.duration = testing::kDay + 6 * testing::kHour;
  spec.requests_per_minute = 100;
  spec.connects_per_minute = 40;
  spec.load_noise = 0.5;
  spec.path_ids = false;
  EngineOptions options;
  options.multivariate_model = multivariate;
  // The coarse counts find the connects' lasting drop on their own: off,
  // to measure what the multivariate model adds to the per-window tests.
  options.coarse_windows = {0, 0};
  auto engine = *Engine::Create(options);
  AttackRun run;
  engine->SetFindingCallback([&](const Finding& f) { run.findings.push_back(f); });
  engine->SetWindowScoreCallback([&](const WindowScore&) { ++run.windows; });
  const Symbol victim = engine->Intern("c2-3");
  const int64_t from = testing::kStart + testing::kDay + 2 * testing::kHour;
  const int64_t to = from + 2 * testing::kHour;
  uint64_t connects = 0;
  testing::SyntheticFleet fleet(spec);
  fleet.Run(engine->symbols(), [&](const Event& e) {
    if (e.entity == victim && e.kind == Kind::kConnect && e.time_ns >= from && e.time_ns < to &&
        connects++ % 4 != 0) {
      return;
    }
    engine->Ingest(e);
  });
  engine->Flush();
  return run;
}

TEST(EngineMultivariate, RequestsWithoutTheirConnectsAreAFinding) {
  const AttackRun with = RunAttack(true);
  const AttackRun without = RunAttack(false);
  int victim_with = 0, victim_without = 0, others_with = 0, others_without = 0;
  int reasons = 0;
  bool connects_named = false;
  for (const Finding& f : with.findings) {
    if (f.entity != "c2-3") {
      ++others_with;
      continue;
    }
    ++victim_with;
    for (const Reason& r : f.reasons) {
      if (r.model != "multivariate") continue;
      // E.g. feature "request count + connect count", observed "request
      // count 197, connect count 18 (distance² 52.1 over 4 dimensions; 99%
      // of learned windows within 16)", expected "request count 48.2
      // (24.5..79.8) given the window's other dimensions, 90.9 (11.7..244)
      // learned; connect count 76.9 (56.1..101) given ...": as many
      // requests as at busy minutes, the connects of a quiet one.
      EXPECT_THAT(r.feature, ::testing::AnyOf(HasSubstr("connect count"), HasSubstr("request count")));
      EXPECT_THAT(r.observed, HasSubstr(r.feature.substr(0, r.feature.find(" + "))));
      EXPECT_THAT(r.expected, HasSubstr("given the window's other dimensions"));
      EXPECT_THAT(r.expected, HasSubstr("learned"));
      connects_named |= r.feature.find("connect count") != std::string::npos;
      ++reasons;
    }
  }
  for (const Finding& f : without.findings) (f.entity == "c2-3" ? victim_without : others_without)++;
  // Each attacked window is a little less unusual than the one before: the
  // windows below the threshold are learned (as every model learns in
  // monitor mode), their distances with them. The first ones are findings.
  EXPECT_GE(reasons, 4);
  EXPECT_TRUE(connects_named);
  EXPECT_GE(victim_with, 4);
  EXPECT_LE(2 * victim_without, victim_with) << victim_with << " findings with the model";
  // The rest of the fleet: about as many false findings as without it
  // (19 entities, 6 h scored: nominally 0.5).
  EXPECT_LE(others_with, others_without + 3) << others_without << " without the model";
}

}  // namespace
}  // namespace timescan
