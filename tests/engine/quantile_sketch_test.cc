// The DDSketch: relative error within alpha of exact quantiles on several
// distributions, agreement with the reference implementation's answers
// (tests/data/sketch), exact merges, bounded buckets, restore from buckets.
#include "models/quantile_sketch.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

constexpr double kQuantiles[] = {0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5,
                                 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};

// The value of 0-based rank floor(q (n - 1)) of the sorted values: what
// the sketch's guarantee is stated against.
double ExactQuantile(std::vector<double> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  const auto rank = static_cast<size_t>(std::floor(q * static_cast<double>(sorted.size() - 1)));
  return sorted[rank];
}

void ExpectWithinRelativeError(const std::vector<double>& values, double alpha,
                               const std::string& name) {
  QuantileSketch sketch(alpha);
  for (double v : values) sketch.Add(v);
  ASSERT_EQ(sketch.count(), values.size());
  for (double q : kQuantiles) {
    const double exact = ExactQuantile(values, q);
    const double estimate = sketch.Quantile(q);
    if (exact <= QuantileSketch::kZeroThreshold) {
      EXPECT_EQ(estimate, 0) << name << " q=" << q;
    } else {
      EXPECT_LE(std::abs(estimate - exact), alpha * exact * (1 + 1e-12))
          << name << " q=" << q << " exact " << exact << " estimate " << estimate;
    }
  }
}

std::vector<double> Draw(const std::string& name, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> out(n);
  std::uniform_real_distribution<double> uniform(0, 1000);
  std::lognormal_distribution<double> lognormal(std::log(35), 0.6);
  std::uniform_real_distribution<double> unit(0, 1);
  for (double& x : out) {
    if (name == "uniform") x = uniform(rng);
    if (name == "lognormal") x = lognormal(rng);
    if (name == "pareto") x = 500 * std::pow(1 - unit(rng), -1 / 1.2);
    if (name == "with_zeros") x = unit(rng) < 0.3 ? 0 : lognormal(rng) * 100;
    // 36 doublings, 1e-3 .. 7e7: ~1,800 buckets at alpha 0.01, inside the cap.
    if (name == "wide") x = std::exp2(unit(rng) * 36 - 10);
  }
  return out;
}

TEST(QuantileSketch, RelativeErrorWithinAlphaOfExactQuantiles) {
  for (const char* name : {"uniform", "lognormal", "pareto", "with_zeros", "wide"}) {
    for (double alpha : {0.01, 0.02, 0.05}) {
      ExpectWithinRelativeError(Draw(name, 20000, 7), alpha, name);
    }
  }
}

TEST(QuantileSketch, MappingBucketsSpanAtMostGamma) {
  // Every bucket's ratio of bounds is at most gamma, and values map into
  // the bucket whose bounds hold them.
  const double alpha = 0.01;
  const LogIndexMapping mapping(alpha);
  const double gamma = (1 + alpha) / (1 - alpha);
  for (int32_t i = -2000; i < 3000; ++i) {
    const double lo = mapping.LowerBound(i);
    const double hi = mapping.LowerBound(i + 1);
    ASSERT_GT(hi, lo);
    ASSERT_LE(hi / lo, gamma * (1 + 1e-12)) << i;
    const double mid = std::sqrt(lo * hi);
    ASSERT_EQ(mapping.Index(mid), i) << i;
    ASSERT_LE(std::abs(mapping.Value(i) - lo) / lo, alpha * (1 + 1e-12));
    ASSERT_LE(std::abs(mapping.Value(i) - hi) / hi, alpha * (1 + 1e-12));
  }
  // Powers of two are bucket edges where the interpolation is exact.
  EXPECT_EQ(mapping.Index(1.0), 0);
  EXPECT_LT(mapping.Index(0.999999), 0);
}

struct ReferenceSet {
  std::string name;
  std::vector<double> values;
  std::vector<std::pair<double, double>> quantiles;  // (q, reference value)
};

std::vector<ReferenceSet> ReadReference() {
  std::ifstream in(std::string(TIMESCAN_TEST_DATA_DIR) + "/sketch/reference.txt");
  std::vector<ReferenceSet> sets;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string tag;
    fields >> tag;
    if (tag == "dataset") {
      sets.emplace_back();
      fields >> sets.back().name;
    } else if (tag == "values") {
      for (double v; fields >> v;) sets.back().values.push_back(v);
    } else if (tag == "quantile") {
      double q, value;
      fields >> q >> value;
      sets.back().quantiles.emplace_back(q, value);
    }
  }
  return sets;
}

TEST(QuantileSketch, AgreesWithTheReferenceImplementation) {
  const std::vector<ReferenceSet> sets = ReadReference();
  ASSERT_EQ(sets.size(), 4u) << "tests/data/sketch/reference.txt missing or malformed";
  for (const ReferenceSet& set : sets) {
    ASSERT_EQ(set.values.size(), 1500u) << set.name;
    ASSERT_EQ(set.quantiles.size(), 12u) << set.name;
    QuantileSketch sketch(0.01);
    for (double v : set.values) sketch.Add(v);
    for (const auto& [q, reference] : set.quantiles) {
      const double exact = ExactQuantile(set.values, q);
      const double ours = sketch.Quantile(q);
      if (exact == 0) {
        EXPECT_EQ(ours, 0) << set.name << " q=" << q;
        EXPECT_EQ(reference, 0) << set.name << " q=" << q;
        continue;
      }
      // Both are within 1% of the same exact value (the same rank rule).
      EXPECT_LE(std::abs(reference - exact), 0.01 * exact * (1 + 1e-9)) << set.name << " q=" << q;
      EXPECT_LE(std::abs(ours - exact), 0.01 * exact * (1 + 1e-9)) << set.name << " q=" << q;
      EXPECT_LE(std::abs(ours - reference), 0.02 * reference) << set.name << " q=" << q;
    }
  }
}

TEST(QuantileSketch, MergeEqualsTheSketchOfTheUnion) {
  for (uint32_t max_buckets : {2048u, 64u}) {  // 64: merges that collapse
    const std::vector<double> a = Draw("pareto", 5000, 1);
    const std::vector<double> b = Draw("with_zeros", 3000, 2);
    const std::vector<double> c = Draw("wide", 4000, 3);
    QuantileSketch sa(0.01, max_buckets), sb(0.01, max_buckets), sc(0.01, max_buckets);
    QuantileSketch all(0.01, max_buckets);
    for (double v : a) { sa.Add(v); all.Add(v); }
    for (double v : b) { sb.Add(v); all.Add(v); }
    for (double v : c) { sc.Add(v); all.Add(v); }
    QuantileSketch ab_c = sa;
    ab_c.Merge(sb);
    ab_c.Merge(sc);
    QuantileSketch c_ba = sc;
    QuantileSketch ba = sb;
    ba.Merge(sa);
    c_ba.Merge(ba);
    EXPECT_TRUE(ab_c == all) << max_buckets;
    EXPECT_TRUE(c_ba == all) << max_buckets;
    for (double q : kQuantiles) EXPECT_EQ(ab_c.Quantile(q), all.Quantile(q));
  }
}

TEST(QuantileSketch, FullSketchCollapsesItsLowestBuckets) {
  QuantileSketch sketch(0.01, 100);
  for (int i = 0; i < 100000; ++i) sketch.Add(1 + i * 0.01);  // 1 .. 1001: ~500 buckets
  EXPECT_LE(sketch.counts().size(), 100u);
  EXPECT_EQ(sketch.count(), 100000u);
  // The top stays accurate; the bottom reads high (collapsed upwards).
  const double p99 = ExactQuantile([] {
    std::vector<double> v;
    for (int i = 0; i < 100000; ++i) v.push_back(1 + i * 0.01);
    return v;
  }(), 0.99);
  EXPECT_LE(std::abs(sketch.Quantile(0.99) - p99), 0.01 * p99);
  EXPECT_GT(sketch.Quantile(0.0), 1.5);
  // A value far below lands in the lowest kept bucket.
  const int32_t lowest = sketch.first_index();
  sketch.Add(1e-3);
  EXPECT_EQ(sketch.first_index(), lowest);
}

// AddIndices is AddIndex one by one: values in the kept range, above and
// below it (the range moves and the lowest buckets collapse), and zeros.
TEST(QuantileSketch, AddIndicesEqualsAddIndexOneByOne) {
  std::mt19937_64 rng(23);
  QuantileSketch batched(0.01, 64), single(0.01, 64);
  for (int round = 0; round < 200; ++round) {
    std::vector<int32_t> indices;
    const int32_t centre = static_cast<int32_t>(rng() % 400);
    for (int i = 0; i < 50; ++i) {
      const uint64_t r = rng() % 20;
      indices.push_back(r == 0   ? QuantileSketch::kZeroIndex
                        : r == 1 ? centre + 200  // above the kept range
                        : r == 2 ? centre - 200  // below it
                                 : centre + static_cast<int32_t>(rng() % 20) - 10);
    }
    const uint64_t weight = 1 + rng() % 4;
    batched.AddIndices(indices, weight);
    for (int32_t index : indices) single.AddIndex(index, weight);
    ASSERT_TRUE(batched == single) << "round " << round;
  }
  EXPECT_EQ(batched.count(), single.count());
  EXPECT_LE(batched.counts().size(), 64u);
}

TEST(QuantileSketch, ZerosAndResetAndEmpty) {
  QuantileSketch sketch;
  EXPECT_EQ(sketch.Quantile(0.5), 0);
  for (int i = 0; i < 10; ++i) sketch.Add(0);
  sketch.Add(-3);  // negative reads as zero
  sketch.Add(100);
  EXPECT_EQ(sketch.zero_count(), 11u);
  EXPECT_EQ(sketch.count(), 12u);
  EXPECT_EQ(sketch.Quantile(0.5), 0);
  EXPECT_NEAR(sketch.Quantile(1), 100, 1);
  EXPECT_EQ(sketch.CountAbove(QuantileSketch::kZeroIndex), 1u);
  sketch.Reset();
  EXPECT_EQ(sketch.count(), 0u);
  EXPECT_TRUE(sketch == QuantileSketch());
}

TEST(QuantileSketch, FromBucketsRestoresAndValidates) {
  QuantileSketch sketch;
  for (double v : Draw("lognormal", 1000, 5)) sketch.Add(v);
  sketch.Add(0);
  absl::StatusOr<QuantileSketch> restored =
      QuantileSketch::FromBuckets(0.01, sketch.max_buckets(), sketch.zero_count(),
                                  sketch.first_index(), sketch.counts());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(*restored == sketch);
  const std::vector<uint64_t> too_many(3000, 1);
  EXPECT_FALSE(QuantileSketch::FromBuckets(0.01, 2048, 0, 0, too_many).ok());
  const std::vector<uint64_t> padded = {0, 1};
  EXPECT_FALSE(QuantileSketch::FromBuckets(0.01, 2048, 0, 0, padded).ok());
  const std::vector<uint64_t> overflow = {~uint64_t{0}, 2};
  EXPECT_FALSE(QuantileSketch::FromBuckets(0.01, 2048, 0, 0, overflow).ok());
  const std::vector<uint64_t> one = {1};
  EXPECT_FALSE(QuantileSketch::FromBuckets(0.01, 2048, 0, 2'000'000'000, one).ok());
  EXPECT_FALSE(QuantileSketch::FromBuckets(1.5, 2048, 0, 0, one).ok());
}

}  // namespace
}  // namespace timescan::internal
