#include "timescan/symbol_table.h"

#include <string>

#include "gtest/gtest.h"
#include "timescan/event.h"

namespace timescan {
namespace {

TEST(SymbolTable, AssignsDenseSymbolsInFirstSeenOrder) {
  SymbolTable table;
  EXPECT_EQ(table.Intern(""), kNoSymbol);
  EXPECT_EQ(table.Intern("a"), 1u);
  EXPECT_EQ(table.Intern("b"), 2u);
  EXPECT_EQ(table.Intern("a"), 1u);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.Name(2), "b");
  EXPECT_EQ(table.Name(99), "");
  EXPECT_FALSE(table.Contains(3));
  EXPECT_EQ(table.Find("b"), std::optional<Symbol>(2));
  EXPECT_EQ(table.Find("zz"), std::nullopt);
}

TEST(SymbolTable, TruncatesLongStringsAtACharacterBoundary) {
  SymbolTable table;
  // 'é' is two bytes; an odd limit would split one.
  std::string long_text;
  while (long_text.size() < kMaxSymbolBytes + 100) long_text += "\xC3\xA9";
  const Symbol s = table.Intern(long_text);
  EXPECT_LE(table.Name(s).size(), kMaxSymbolBytes);
  EXPECT_EQ(table.Name(s).size() % 2, 0u);
  EXPECT_EQ(table.truncated(), 1u);
  EXPECT_EQ(table.Intern(long_text), s);
}

TEST(Kinds, NamesRoundTrip) {
  for (int k = 0; k < kKindCount; ++k) {
    const Kind kind = static_cast<Kind>(k);
    EXPECT_EQ(KindFromName(KindName(kind)), kind);
  }
  EXPECT_EQ(KindFromName("Exec"), std::nullopt);
  EXPECT_EQ(KindName(static_cast<Kind>(77)), "invalid");
}

}  // namespace
}  // namespace timescan
