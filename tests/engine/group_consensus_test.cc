#include "models/group_consensus.h"

#include <vector>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

TEST(GroupConsensus, CountsActiveReplicasPerWindow) {
  GroupConsensus c;
  c.CountActive(10);
  c.CountActive(10);
  c.CountActive(12);
  EXPECT_EQ(c.Active(10), 2u);
  EXPECT_EQ(c.Active(11), 0u);
  EXPECT_EQ(c.Active(12), 1u);
}

TEST(GroupConsensus, ReplicasAreDistinctEntitiesWithinTheSpanInOrderOfFirstSighting) {
  GroupConsensus c;
  const uint64_t spike = BehaviourKey(1, 4, kNoSymbol);
  const uint64_t migrate = BehaviourKey(0, 0, 42);
  c.AddSighting(spike, 7, 10);
  c.AddSighting(migrate, 7, 10);
  c.AddSighting(spike, 5, 11);
  c.AddSighting(spike, 7, 12);
  c.AddSighting(spike, 9, 15);
  std::vector<Symbol> replicas;
  EXPECT_EQ(c.Replicas(spike, 10, 12, &replicas), 2u);
  EXPECT_EQ(replicas, (std::vector<Symbol>{7, 5}));
  EXPECT_EQ(c.Replicas(spike, 11, 15), 3u);
  EXPECT_EQ(c.Replicas(migrate, 11, 15), 0u);
  EXPECT_EQ(c.Replicas(migrate, 0, 10), 1u);
}

TEST(GroupConsensus, BehaviourKeysTellTypeFeatureAndValueApart) {
  EXPECT_NE(BehaviourKey(1, 4, kNoSymbol), BehaviourKey(2, 4, kNoSymbol));
  EXPECT_NE(BehaviourKey(0, 4, 3), BehaviourKey(0, 5, 3));
  EXPECT_NE(BehaviourKey(0, 4, 3), BehaviourKey(0, 4, 4));
}

TEST(GroupConsensus, ReportedBehavioursAreRememberedUntilForgotten) {
  GroupConsensus c;
  const uint64_t key = BehaviourKey(1, 4, kNoSymbol);
  EXPECT_FALSE(c.ReportedSince(key, 0));
  c.MarkReported(key, 100);
  c.MarkReported(key, 90);  // never moves back
  EXPECT_TRUE(c.ReportedSince(key, 100));
  EXPECT_FALSE(c.ReportedSince(key, 101));
  c.Forget(/*window=*/0, /*reported_before=*/100);
  EXPECT_TRUE(c.ReportedSince(key, 0));
  c.Forget(/*window=*/0, /*reported_before=*/101);
  EXPECT_FALSE(c.ReportedSince(key, 0));
}

TEST(GroupConsensus, ForgetDropsOldWindowsAndEmptiesWhenQuiet) {
  GroupConsensus c;
  const uint64_t key = BehaviourKey(1, 4, kNoSymbol);
  c.CountActive(10);
  c.AddSighting(key, 1, 10);
  c.CountActive(11);
  c.AddSighting(key, 2, 11);
  c.Forget(11, 0);
  EXPECT_EQ(c.Active(10), 0u);
  EXPECT_EQ(c.Active(11), 1u);
  EXPECT_EQ(c.Replicas(key, 0, 20), 1u);
  c.Forget(12, 0);
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace timescan::internal
