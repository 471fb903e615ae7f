#include "models/symbol_count_map.h"

#include <map>
#include <random>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

std::map<Symbol, uint32_t> Contents(const SymbolCountMap& map) {
  std::map<Symbol, uint32_t> out;
  map.ForEach([&](Symbol key, uint32_t count) { EXPECT_TRUE(out.emplace(key, count).second); });
  return out;
}

TEST(SymbolCountMap, CountsLikeAMapThroughGrowth) {
  std::mt19937_64 rng(11);
  SymbolCountMap map;
  std::map<Symbol, uint32_t> reference;
  for (int i = 0; i < 200000; ++i) {
    // Dense ids as the symbol table hands them out, and a sparse tail.
    const Symbol key = rng() % 4 == 0 ? 1 + static_cast<Symbol>(rng() % 4'000'000'000u)
                                      : 1 + static_cast<Symbol>(rng() % 3000);
    bool inserted;
    uint32_t& count = map.FindOrInsert(key, &inserted);
    EXPECT_EQ(inserted, reference.find(key) == reference.end());
    count += 2;
    reference[key] += 2;
  }
  EXPECT_EQ(map.size(), reference.size());
  EXPECT_EQ(Contents(map), reference);
  EXPECT_LE(4 * map.size(), 3 * map.capacity());
  for (const auto& [key, count] : reference) {
    const uint32_t* found = map.Find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, count);
  }
  // Absent keys, including kNoSymbol, the empty slots' marker.
  for (Symbol key : {kNoSymbol, Symbol{3001}, Symbol{4'000'000'001u}}) {
    if (reference.count(key) == 0) EXPECT_EQ(map.Find(key), nullptr) << key;
  }
}

TEST(SymbolCountMap, EmptyMapFindsNothingAndReserveAvoidsGrowth) {
  SymbolCountMap map;
  EXPECT_EQ(map.Find(7), nullptr);
  EXPECT_EQ(map.Find(kNoSymbol), nullptr);
  map.Prefetch(7);  // no slots: nothing to fetch, and no fault
  EXPECT_EQ(map.capacity(), 0u);
  map.reserve(1000);
  const size_t capacity = map.capacity();
  EXPECT_LE(4 * 1000u, 3 * capacity);
  bool inserted;
  for (Symbol k = 1; k <= 1000; ++k) map.FindOrInsert(k, &inserted) = k;
  EXPECT_EQ(map.capacity(), capacity);
  EXPECT_EQ(map.size(), 1000u);
  EXPECT_EQ(*map.Find(640), 640u);
}

TEST(SymbolCountMap, PointersStayValidUntilAnInsertionAndCountsCanBeChangedInPlace) {
  SymbolCountMap map;
  bool inserted;
  for (Symbol k = 1; k <= 10; ++k) map.FindOrInsert(k, &inserted) = 1;
  uint32_t* five = map.Find(5);
  ASSERT_NE(five, nullptr);
  map.FindOrInsert(5, &inserted) += 4;  // known: no insertion
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*five, 5u);
  map.ForEach([](Symbol, uint32_t& count) { count *= 10; });
  EXPECT_EQ(*map.Find(5), 50u);
  EXPECT_EQ(*map.Find(1), 10u);
}

TEST(SymbolCountMap, CopiesAreIndependent) {
  SymbolCountMap a;
  bool inserted;
  for (Symbol k = 1; k <= 50; ++k) a.FindOrInsert(k, &inserted) = k;
  SymbolCountMap b = a;
  b.FindOrInsert(3, &inserted) = 99;
  b.FindOrInsert(1000, &inserted) = 1;
  EXPECT_EQ(*a.Find(3), 3u);
  EXPECT_EQ(a.Find(1000), nullptr);
  EXPECT_EQ(*b.Find(3), 99u);
  EXPECT_EQ(b.size(), 51u);
}

}  // namespace
}  // namespace timescan::internal
