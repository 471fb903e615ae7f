// End to end: the demo scenario finds every injected attack and raises no
// finding on its benign entities, for several seeds.
#include "demo_scenario.h"

#include "gtest/gtest.h"

namespace timescan {
namespace {

class DemoScenario : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DemoScenario, FindsEveryAttackAndNothingBenign) {
  sim::FleetOptions fleet;
  fleet.seed = GetParam();
  EngineOptions options;
  absl::StatusOr<demo::DemoResult> run = demo::RunDemo(fleet, options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->attacks.size(), 8u);
  for (const demo::AttackOutcome& a : run->attacks) {
    EXPECT_TRUE(a.found) << sim::AttackTypeName(a.label.type) << " on " << a.label.entity;
    // Found in its first window, or the next one for a silence (a drop is
    // confirmed by the window after it).
    EXPECT_LE(a.first_finding_window_ns - a.label.start_ns, 2 * 60'000'000'000LL)
        << sim::AttackTypeName(a.label.type);
  }
  for (size_t i = 0; i < run->findings.size(); ++i) {
    EXPECT_TRUE(run->finding_is_attack[i]) << FindingToJson(run->findings[i]);
  }
  EXPECT_TRUE(run->benign_entities_with_findings.empty());
  EXPECT_GT(run->events, 1'000'000u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DemoScenario, ::testing::Values(1, 2, 3));

TEST(DemoScenarioDeterminism, SameSeedSameFindingsByteForByte) {
  sim::FleetOptions fleet;
  fleet.seed = 4;
  fleet.duration = absl::Hours(27);
  fleet.attacks = {sim::AttackType::kCryptoMiner, sim::AttackType::kScan};
  absl::StatusOr<demo::DemoResult> a = demo::RunDemo(fleet, EngineOptions{});
  absl::StatusOr<demo::DemoResult> b = demo::RunDemo(fleet, EngineOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_FALSE(a->findings.empty());
  ASSERT_EQ(a->findings.size(), b->findings.size());
  for (size_t i = 0; i < a->findings.size(); ++i) {
    EXPECT_EQ(FindingToJson(a->findings[i]), FindingToJson(b->findings[i]));
  }
}

}  // namespace
}  // namespace timescan
