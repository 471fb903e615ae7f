#include "engine/value_counter.h"

#include <map>
#include <random>

#include "engine/window.h"
#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

TEST(ValueCounter, CountsLikeAMap) {
  std::mt19937_64 rng(9);
  ValueCounter counter;
  std::map<uint64_t, uint32_t> reference;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t key = 1 + rng() % 500;
    const uint32_t n = 1 + static_cast<uint32_t>(rng() % 3);
    ASSERT_TRUE(counter.Add(key, n, 1000));
    reference[key] += n;
  }
  EXPECT_EQ(counter.size(), reference.size());
  std::map<uint64_t, uint32_t> seen;
  counter.ForEach([&](uint64_t key, uint32_t count) { seen[key] = count; });
  EXPECT_EQ(seen, reference);
  EXPECT_LE(4 * counter.size(), 3 * counter.capacity());
}

TEST(ValueCounter, RefusesNewKeysPastTheCapButCountsKnownOnes) {
  ValueCounter counter;
  for (uint64_t k = 1; k <= 4; ++k) ASSERT_TRUE(counter.Add(k, 1, 4));
  EXPECT_FALSE(counter.Add(99, 1, 4));
  EXPECT_TRUE(counter.Add(2, 5, 4));
  uint32_t two = 0;
  counter.ForEach([&](uint64_t key, uint32_t count) { if (key == 2) two = count; });
  EXPECT_EQ(two, 6u);
  EXPECT_EQ(counter.size(), 4u);
}

TEST(ValueCounter, IteratesInOrderOfFirstAdd) {
  ValueCounter counter;
  const std::vector<uint64_t> keys = {900, 3, 77, 12345678901234ULL, 5, 64};
  for (uint64_t k : keys) counter.Add(k, 1, 100);
  for (uint64_t k : keys) counter.Add(k, 1, 100);
  std::vector<uint64_t> order;
  counter.ForEach([&](uint64_t key, uint32_t count) {
    order.push_back(key);
    EXPECT_EQ(count, 2u);
  });
  EXPECT_EQ(order, keys);
}

TEST(ValueCounter, ClearKeepsCapacityAndOrderIsDeterministic) {
  ValueCounter a, b;
  for (uint64_t k = 1; k < 200; k += 3) {
    a.Add(k << 32 | 7, 1, 1000);
    b.Add(k << 32 | 7, 1, 1000);
  }
  std::vector<uint64_t> order_a, order_b;
  a.ForEach([&](uint64_t key, uint32_t) { order_a.push_back(key); });
  b.ForEach([&](uint64_t key, uint32_t) { order_b.push_back(key); });
  EXPECT_EQ(order_a, order_b);
  const size_t capacity = a.capacity();
  a.Clear();
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.capacity(), capacity);
  int visited = 0;
  a.ForEach([&](uint64_t, uint32_t) { ++visited; });
  EXPECT_EQ(visited, 0);
}

// The window accumulator's helpers, beside the counter they read.
TEST(WindowAccumulator, DistinctSubjectsCountsSubjectValuesOnlyNotActorsOrNGrams) {
  WindowAccumulator acc;
  acc.Reset(5);
  const int exec_subject = 2 * static_cast<int>(Kind::kExec);
  ASSERT_TRUE(acc.values.Add(ValueKey(exec_subject, 7), 3, 100));
  ASSERT_TRUE(acc.values.Add(ValueKey(exec_subject, 8), 1, 100));
  ASSERT_TRUE(acc.values.Add(ValueKey(exec_subject + 1, 9), 4, 100));  // an actor
  // N-gram keys whose bit 32 is clear, as half of them are.
  ASSERT_TRUE(acc.values.Add(SequenceKey(0, 0x12345, false), 1, 100));
  ASSERT_TRUE(acc.values.Add(SequenceKey(1, 0x6789a, true), 1, 100));
  EXPECT_EQ(acc.DistinctSubjects(), 2u);
  acc.untracked_events[exec_subject] = 10;      // past the cap: one each
  acc.untracked_events[exec_subject + 1] = 50;  // actors do not count
  EXPECT_EQ(acc.DistinctSubjects(), 12u);
}

TEST(PendingValues, PacksKindAndValueIndexOverTheirWholeRange) {
  for (const int32_t index : {0, 1, -1, 65536, -65536, (int32_t{1} << 26), -(int32_t{1} << 26),
                              kNoValueIndex, -(int32_t{1} << 27)}) {
    for (const unsigned kind : {0u, 7u, 15u}) {
      const PendingValues p(11, 12, kind, index);
      EXPECT_EQ(p.kind(), kind);
      EXPECT_EQ(p.value_index(), index);
      EXPECT_EQ(p.subject, 11u);
      EXPECT_EQ(p.actor, 12u);
    }
  }
}

}  // namespace
}  // namespace timescan::internal
