// Reference values were computed with SciPy 1.17 (scipy.stats.poisson,
// nbinom with r = m^2/(v-m), p = r/(r+m)); the Cauchy value from its formula.
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "stats/distributions.h"
#include "stats/p_value_fusion.h"

namespace timescan::stats {
namespace {

void ExpectRelativelyNear(double actual, double expected, double tolerance = 1e-9) {
  EXPECT_NEAR(actual, expected, tolerance * std::max(1e-300, std::abs(expected)))
      << "expected " << expected;
}

TEST(Poisson, MatchesScipy) {
  struct Case { int64_t k; double mean, upper, lower, pmf; };
  const Case cases[] = {
      {1, 0.001, 0.0009995001666250082, 0.9999995003332084, 0.0009990004998333749},
      {5, 2.0, 0.052653017343711125, 0.9834363915193856, 0.03608940886309672},
      {30, 10.0, 2.509951201527959e-07, 0.9999999201620534, 1.7115717355368203e-07},
      {150, 100.0, 1.8842104660386844e-06, 0.9999987669055809, 6.511160468786359e-07},
      {0, 3.0, 1.0, 0.04978706836786395, 0.049787068367863944},
      {1000, 900.0, 0.0005499022657117818, 0.9995093672671425, 5.926953285414436e-05},
  };
  for (const Case& c : cases) {
    ExpectRelativelyNear(PoissonUpperTail(c.k, c.mean), c.upper);
    ExpectRelativelyNear(PoissonLowerTail(c.k, c.mean), c.lower);
    ExpectRelativelyNear(PoissonPmf(c.k, c.mean), c.pmf);
  }
}

TEST(NegBinomial, MatchesScipy) {
  struct Case { int64_t k; double mean, variance, upper, lower, pmf; };
  const Case cases[] = {
      {1, 0.5, 1.0, 0.2928932188134525, 0.8838834764831843, 0.17677669529663687},
      {10, 3.0, 9.0, 0.04018215719923743, 0.9721666059231535, 0.012348763122390779},
      {50, 20.0, 60.0, 0.0014997766635714864, 0.998833964821158, 0.00033374148472952597},
      {0, 5.0, 25.0, 1.0, 0.1337480609952844, 0.13374806099528436},
      {400, 100.0, 1000.0, 2.4594588861003913e-09, 0.9999999977322164, 1.9167524049075165e-10},
  };
  for (const Case& c : cases) {
    ExpectRelativelyNear(NegBinomialUpperTail(c.k, c.mean, c.variance), c.upper, 1e-8);
    ExpectRelativelyNear(NegBinomialLowerTail(c.k, c.mean, c.variance), c.lower, 1e-8);
    ExpectRelativelyNear(NegBinomialPmf(c.k, c.mean, c.variance), c.pmf, 1e-8);
  }
  // Variance at or below the mean falls back to the Poisson.
  EXPECT_DOUBLE_EQ(NegBinomialUpperTail(5, 2.0, 2.0), PoissonUpperTail(5, 2.0));
}

TEST(Binomial, UpperTailMatchesScipy) {
  // scipy.stats.binom.sf(k - 1, n, p), SciPy 1.17.
  struct Case { double k, n, rate, upper; };
  const Case cases[] = {
      {1, 10, 0.01, 0.09561792499119552},   {7, 40, 0.01, 1.395926483228032e-07},
      {3, 50, 0.01, 0.013817270830600381},  {30, 50, 0.5, 0.10131937553227033},
      {40, 50, 0.5, 1.1930665838377763e-05}, {25, 50, 0.5, 0.5561375863296085},
      {120, 1000, 0.1, 0.021996144965794422},
  };
  for (const Case& c : cases) ExpectRelativelyNear(BinomialUpperTail(c.k, c.n, c.rate), c.upper, 1e-8);
  EXPECT_EQ(BinomialUpperTail(0, 10, 0.3), 1);
  EXPECT_EQ(BinomialUpperTail(2, 10, 0), 0);
  // Continuous in k: between its integer neighbours.
  const double mid = BinomialUpperTail(2.5, 40, 0.01);
  EXPECT_LT(mid, BinomialUpperTail(2, 40, 0.01));
  EXPECT_GT(mid, BinomialUpperTail(3, 40, 0.01));
}

TEST(NegBinomial, QuantileInvertsTheCdf) {
  for (double q : {0.01, 0.5, 0.99}) {
    const int64_t k = NegBinomialQuantile(q, 20, 60);
    EXPECT_GE(NegBinomialLowerTail(k, 20, 60), q);
    if (k > 0) EXPECT_LT(NegBinomialLowerTail(k - 1, 20, 60), q);
  }
}

// A damaged baseline's mean (found by fuzz_snapshot: 1.5e93) or a NaN
// gives a bounded answer, not an overflowing conversion (UBSan).
TEST(NegBinomial, QuantileOfAnAbsurdMeanIsBounded) {
  EXPECT_EQ(NegBinomialQuantile(0.99, 1.5e93, 1.5e93), int64_t{1} << 40);
  EXPECT_EQ(NegBinomialQuantile(0.99, 1e300, 1e301), int64_t{1} << 40);
  EXPECT_EQ(NegBinomialQuantile(0.99, std::nan(""), 1), 0);
  const int64_t nan_variance = NegBinomialQuantile(0.99, 5, std::nan(""));
  EXPECT_GE(nan_variance, 0);
  EXPECT_LE(nan_variance, int64_t{1} << 40);
}

TEST(Fusion, MatchesTheCauchyFormula) {
  const std::vector<double> p = {1e-5, 0.3, 0.8, 0.5};
  ExpectRelativelyNear(CauchyCombine(p), 4.0000816431684516e-05, 1e-8);
  EXPECT_EQ(CauchyCombine({}), 1.0);
  // A single p-value passes through the Cauchy combination unchanged.
  ExpectRelativelyNear(CauchyCombine(std::vector<double>{0.01}), 0.01, 1e-12);
  // Tiny p-values stay finite and ordered.
  EXPECT_LT(CauchyCombine(std::vector<double>{1e-200, 0.5}), 1e-199);
  EXPECT_GE(CauchyCombine(std::vector<double>{0.0}), kMinPValue);
}

// Under the null, the spike mid-p-value of a Poisson count is close to
// uniform: P(p <= a) ~ a, for small and large means alike.
TEST(MidP, IsNearlyUniformUnderTheNull) {
  std::mt19937_64 rng(11);
  for (double mean : {0.3, 4.0, 60.0}) {
    std::poisson_distribution<int> draw(mean);
    const int n = 200000;
    int below_01 = 0, below_10 = 0;
    for (int i = 0; i < n; ++i) {
      const double p = CountSpikeMidP(draw(rng), mean, mean);
      below_01 += p <= 0.01;
      below_10 += p <= 0.10;
    }
    // Mid-p is not exact, but stays near the nominal rate; not far under it
    // for the means where a p of 0.1 is reachable.
    EXPECT_LE(below_01 / double(n), 0.013) << mean;
    EXPECT_LE(below_10 / double(n), 0.12) << mean;
    if (mean > 1) EXPECT_GE(below_10 / double(n), 0.05) << mean;
  }
}

// The small-mean shortcut (pmf sums) agrees with the incomplete beta, tiny
// tails included; the bulk shortcut stays within a few points of p.
TEST(MidP, ShortcutsAgreeWithTheIncompleteBeta) {
  for (double mean : {0.001, 0.3, 2.0, 7.5, 19.0, 45.0}) {
    for (double dispersion : {1.0, 1.5, 4.0}) {
      const double variance = mean * dispersion;
      for (int64_t x : {0, 1, 2, 3, 5, 8, 13, 30, 60, 150, 390}) {
        // The bulk has its own, looser check below.
        if (mean >= 20 && std::abs(x - mean) < 1.75 * std::sqrt(variance)) continue;
        const double spike = CountSpikeMidP(x, mean, variance);
        const double spike_exact = CountSpikeMidPExact(x, mean, variance);
        const double drop = CountDropMidP(x, mean, variance);
        const double drop_exact = CountDropMidPExact(x, mean, variance);
        EXPECT_NEAR(spike, spike_exact, 1e-9 * std::max(spike_exact, 1e-290) + 1e-12)
            << "spike x=" << x << " mean=" << mean << " var=" << variance;
        EXPECT_NEAR(drop, drop_exact, 1e-9 * std::max(drop_exact, 1e-290) + 1e-12)
            << "drop x=" << x << " mean=" << mean << " var=" << variance;
      }
    }
  }
  for (int64_t x = 60; x <= 140; x += 5) {
    EXPECT_NEAR(CountSpikeMidP(x, 100, 150), CountSpikeMidPExact(x, 100, 150), 0.02) << x;
  }
}

TEST(Scores, AreMinusLog10P) {
  EXPECT_DOUBLE_EQ(PValueToScore(1e-4), 4);
  EXPECT_DOUBLE_EQ(PValueToScore(0), 300);
  EXPECT_DOUBLE_EQ(PValueToScore(std::nan("")), 0);
}

}  // namespace
}  // namespace timescan::stats
