// The native JSONL decoder reads the plain lines sensors write with a fast
// scanner and leaves every other line to simdjson. These tests hold the two
// paths to identical results (status, message and event) on generated lines,
// on mutations of them and on the fuzz corpus, and check that the scanner
// does take the lines it is meant for.

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/native_scanner_exercise.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"
#include "readers/intern_cache.h"
#include "readers/native_jsonl.h"

namespace timescan {
namespace {

using internal::NativeJsonDecoder;

// Lines of the shapes the scanner is for, each field kind and spacing.
std::vector<std::string> PlainLines() {
  return {
      R"({"time":"2026-11-02T10:00:00.123Z","entity":"c1","group":"web","kind":"exec","subject":"/bin/sh","actor":"/usr/bin/node"})",
      R"({"time":1793613600,"entity":"c1","kind":"request","subject":"/api/orders/17","actor":"client","value":12.5,"status":200})",
      R"({"time":1793613600.25,"entity":"c1","kind":"connect","subject":"10.0.0.1:443","value":1e3,"status":-1})",
      R"( { "time" : "2026-11-02T10:00:00+01:00" , "entity" : "c2" , "kind" : "metric" , "subject" : "cpu" , "value" : -0.5 } )",
      R"({"time":"2026-11-02 10:00:00z","entity":"c3","kind":"api","group":null,"actor":null,"value":null,"status":null})",
      R"({"entity":"c4","kind":"file","time":"2026-11-02T10:00:00.123456789Z","note":"ignored","n":3,"flag":true,"off":false,"nothing":null})",
      "{\"time\":\"2026-11-02T10:00:00Z\",\t\"entity\":\"c5\",\"kind\":\"exit\",\"status\":0}\r",
      R"({"time":0,"entity":"c6","kind":"syscall","subject":"openat","value":0.1,"status":2147483647})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"container-with-a-long-name-0123456789abcdef","kind":"accept","value":123456789012345678901234567890})",
  };
}

// Lines the scanner must leave to simdjson: valid ones with escapes, UTF-8
// or nested values, and every kind of error.
std::vector<std::string> OtherLines() {
  return {
      R"({"time":"2026-11-02T10:00:00Z","entity":"c\u00e9","kind":"exec","subject":"a\"b\\c\n"})",
      "{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"caf\xc3\xa9\",\"kind\":\"exec\"}",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","labels":{"a":[1,2,{"b":null}]}})",
      R"({"t\u0069me":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","entity":"c2"})",
      R"({"time":"2026-13-02T10:00:00Z","entity":"c1","kind":"exec"})",
      R"({"time":-1,"entity":"c1","kind":"exec"})",
      R"({"time":true,"entity":"c1","kind":"exec"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"","kind":"exec"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"teleport"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":"12"})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":1e400})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":0E-3333333333333333333333333333333333333314})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":0.00000000000000000000000000000000000001})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","status":2.5})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","status":2147483648})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":01})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":1.})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec","value":nul})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec"} {})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec",})",
      R"({"time":"2026-11-02T10:00:00Z","entity":"c1","kind":"exec")",
      R"(["time","entity"])",
      R"({})",
      "{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"c\x01\",\"kind\":\"exec\"}",
  };
}

TEST(NativeJsonlScanner, TakesThePlainLines) {
  for (const std::string& line : PlainLines()) {
    SCOPED_TRACE(line);
    SymbolTable symbols;
    NativeJsonDecoder decoder;
    Event event;
    ASSERT_TRUE(decoder.Decode(line, /*padded=*/false, symbols, &event).ok());
    EXPECT_EQ(decoder.scanned_lines(), 1u);
    EXPECT_EQ(testing_util::CompareScannerWithSimdjson(line), "");
  }
}

TEST(NativeJsonlScanner, LeavesEverythingElseToSimdjson) {
  for (const std::string& line : OtherLines()) {
    SCOPED_TRACE(line);
    SymbolTable symbols;
    NativeJsonDecoder decoder;
    Event event;
    (void)decoder.Decode(line, /*padded=*/false, symbols, &event);
    EXPECT_EQ(testing_util::CompareScannerWithSimdjson(line), "");
  }
  // A few of them are errors the scanner could have seen itself; what the
  // user reads must still be simdjson's wording, field name first.
  SymbolTable symbols;
  NativeJsonDecoder decoder;
  Event event;
  const absl::Status duplicate = decoder.Decode(OtherLines()[4], false, symbols, &event);
  EXPECT_EQ(duplicate.message(), "field 'entity': appears twice; expected each field at most once");
  EXPECT_EQ(decoder.scanned_lines(), 0u);
}

TEST(NativeJsonlScanner, ReadsEscapesAndUtf8ThroughSimdjson) {
  SymbolTable symbols;
  NativeJsonDecoder decoder;
  Event event;
  ASSERT_TRUE(decoder.Decode(OtherLines()[0], false, symbols, &event).ok());
  EXPECT_EQ(symbols.Name(event.entity), "c\xc3\xa9");
  EXPECT_EQ(symbols.Name(event.subject), "a\"b\\c\n");
  EXPECT_EQ(decoder.scanned_lines(), 0u);
}

// simdjson 3.0.1 alone reads 0.44396917157240456208 as 0.0750...; a line
// with an escape goes that way, and must still get the right number.
TEST(NativeJsonlScanner, LongDecimalsReadRightThroughSimdjson) {
  SymbolTable symbols;
  NativeJsonDecoder decoder;
  Event event;
  const std::string line =
      R"({"time":0.44396917157240456208,"entity":"c\u00e9","kind":"metric","value":0.44396917157240456208})";
  ASSERT_TRUE(decoder.Decode(line, false, symbols, &event).ok());
  EXPECT_EQ(decoder.scanned_lines(), 0u);
  EXPECT_EQ(event.value, 0.44396917157240456);
  EXPECT_EQ(event.time_ns, 443'969'172);  // to the nearest nanosecond
}

// Numbers: the scanner's std::from_chars and simdjson's parser must round
// every decimal the same way, bit for bit.
TEST(NativeJsonlScanner, NumbersRoundLikeSimdjson) {
  std::mt19937_64 rng(20261201);
  // Beyond the double range at both ends too (subnormals, underflow, overflow).
  std::uniform_real_distribution<double> exponent(-330, 310);
  for (int i = 0; i < 20000; ++i) {
    const double e = exponent(rng);
    const int digits = 1 + static_cast<int>(rng() % 19);
    // Mantissa and exponent printed apart, so that 1e-330 is not printed 0.
    const std::string number =
        absl::StrFormat("%s%.*fe%d", rng() % 2 ? "-" : "", digits, 1 + (e - std::floor(e)) * 8,
                        static_cast<int>(std::floor(e)));
    const std::string line = absl::StrCat(
        R"({"time":1793613600.)", rng() % 1000000000, R"(,"entity":"c","kind":"metric","value":)",
        number, "}");
    SCOPED_TRACE(line);
    ASSERT_EQ(testing_util::CompareScannerWithSimdjson(line), "");
  }
}

// Plain decimals (no exponent), as sensors write latencies and byte counts:
// the scanner reads those of up to 19 digits below 2^53 by one exact
// division, the rest with std::from_chars. Both must round like simdjson,
// across digit counts, point positions, leading zeros and the 2^53 edge.
TEST(NativeJsonlScanner, PlainDecimalsRoundLikeSimdjson) {
  std::vector<std::string> numbers = {"0",    "-0",   "0.0", "-0.0", "12.5", "9007199254740992",
                                      "9007199254740993", "-9007199254740993", "900719925474099.3",
                                      "9007199254740991.9", "18446744073709551615",
                                      "1844674407370955161.5", "0.1", "0.30000000000000004",
                                      "0.000000000000000001", "123456789012345678.9",
                                      "0.44396917157240456208", "0.12345678901234567890123"};
  std::mt19937_64 rng(20261202);
  for (int i = 0; i < 30000; ++i) {
    // Up to 25 digits: Debian's simdjson 3.0.1 misreads "0." followed by
    // 20 or more digits (simdjson issue #2093), which the decoder's
    // simdjson path corrects (GetDouble).
    const int digits = 1 + static_cast<int>(rng() % 25);
    std::string number = rng() % 4 == 0 ? "-" : "";
    std::string mantissa;
    for (int d = 0; d < digits; ++d) mantissa += static_cast<char>('0' + rng() % 10);
    // JSON allows no leading zero before other integer digits: "0.07", not "007".
    const size_t point = rng() % (mantissa.size() + 1);
    std::string integer = mantissa.substr(0, point), fraction = mantissa.substr(point);
    while (integer.size() > 1 && integer[0] == '0') integer.erase(0, 1);
    if (integer.empty()) integer = "0";
    number += integer;
    if (!fraction.empty()) number += "." + fraction;
    numbers.push_back(number);
  }
  for (const std::string& number : numbers) {
    const std::string line = absl::StrCat(
        R"({"time":1793613600,"entity":"c","kind":"metric","value":)", number, "}");
    SCOPED_TRACE(line);
    ASSERT_EQ(testing_util::CompareScannerWithSimdjson(line), "");
  }
}

// The scanner remembers the second of the last time: a stream whose times
// move within a second, across seconds, days and zones, and into forms it
// leaves to ParseRfc3339, must read exactly as simdjson's path reads it.
TEST(NativeJsonlScanner, TimesOfAStreamAgreeWithSimdjson) {
  const std::vector<std::string> tails = {"Z", ".5Z", ".123Z", ".123456789Z", ".1234567891Z",
                                          "z", "+01:00", ".25-05:30", ".Z", ".12aZ", ""};
  const std::vector<std::string> seconds = {"2026-11-02T10:00:00", "2026-11-02T10:00:01",
                                            "2026-11-02t10:00:01", "2026-11-02 10:00:01",
                                            "2026-11-03T10:00:01", "2026-02-29T10:00:01",
                                            "2262-04-11T23:47:16", "1969-12-31T23:59:59",
                                            "2026-12-31T23:59:60"};
  std::mt19937_64 rng(11);
  testing_util::ScannerComparison stream;
  for (int i = 0; i < 20000; ++i) {
    const std::string time = seconds[rng() % 3 == 0 ? rng() % seconds.size() : i / 2000 % 2] +
                             tails[rng() % 4 == 0 ? rng() % tails.size() : rng() % 4];
    const std::string line =
        absl::StrCat(R"({"time":")", time, R"(","entity":"c","kind":"exec"})");
    SCOPED_TRACE(line);
    ASSERT_EQ(stream.Compare(line), "");
  }
  EXPECT_GT(stream.scanned_lines(), 10000u);
}

// Every line above with one byte deleted, replaced or inserted, a field
// repeated, or cut short: thousands of near misses of the grammar.
TEST(NativeJsonlScanner, MutatedLinesAgreeWithSimdjson) {
  std::vector<std::string> seeds = PlainLines();
  for (const std::string& line : OtherLines()) seeds.push_back(line);
  const std::string interesting = "\"\\{}[],: 0123456789eE.+-ntfulrsaZT\t\r\x01\x7f\xc3\xa9";
  std::mt19937_64 rng(7);
  int checked = 0, scanned = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < 400; ++i) {
      std::string line = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        const size_t at = rng() % line.size();
        const char byte = interesting[rng() % interesting.size()];
        switch (rng() % 5) {
          case 0: line.erase(at, 1); break;
          case 1: line[at] = byte; break;
          case 2: line.insert(at, 1, byte); break;
          case 3: line.resize(at); break;
          case 4: line.insert(at, line.substr(at, rng() % 24)); break;
        }
      }
      if (internal::IsBlankLine(line)) continue;
      SCOPED_TRACE(line);
      ASSERT_EQ(testing_util::CompareScannerWithSimdjson(line), "");
      SymbolTable symbols;
      NativeJsonDecoder decoder;
      Event event;
      (void)decoder.Decode(line, false, symbols, &event);
      scanned += static_cast<int>(decoder.scanned_lines());
      ++checked;
    }
  }
  // The mutations must reach both paths, or the test proves little.
  EXPECT_GT(checked, 10000);
  EXPECT_GT(scanned, checked / 20);
  EXPECT_LT(scanned, checked);
}

// The inputs the fuzzers kept for the native format, line by line.
TEST(NativeJsonlScanner, FuzzCorpusAgreesWithSimdjson) {
  namespace fs = std::filesystem;
  int lines = 0;
  for (const char* folder : {"native", "native_scanner"}) {
    const fs::path dir = fs::path(testing_util::DataDir()) / "corpus" / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string bytes = testing_util::ReadTextFile(entry.path().string());
      std::string_view rest = bytes;
      while (!rest.empty()) {
        const size_t newline = rest.find('\n');
        const std::string_view line = rest.substr(0, newline);
        SCOPED_TRACE(entry.path().string());
        ASSERT_EQ(testing_util::CompareScannerWithSimdjson(line), "") << line;
        ++lines;
        if (newline == std::string_view::npos) break;
        rest.remove_prefix(newline + 1);
      }
    }
  }
  EXPECT_GT(lines, 0);
}

// The decoders' cache must return exactly the table's symbol: strings that
// differ only in the middle (past the 24 bytes its keys hold, or in the
// bytes only its middle word holds), only in length (zero bytes), only at
// one end; more strings than it has entries.
TEST(InternCache, ReturnsTheTablesSymbol) {
  std::vector<std::string> strings = {"", std::string(1, '\0'), std::string(2, '\0'), "a",
                                      std::string("a\0", 2)};
  std::mt19937_64 rng(3);
  for (int i = 0; i < 12000; ++i) {
    const size_t size = rng() % 40;
    std::string text(size, 'x');
    if (size > 0) text[rng() % size] = static_cast<char>('a' + rng() % 3);
    strings.push_back(text);
    strings.push_back(absl::StrCat("registry.local/team/app-", i % 977, "/v", i % 3));
  }
  // Past kMaxSymbolBytes the table keeps a cut copy: never a cache entry.
  for (int i = 0; i < 20; ++i) {
    strings.push_back(std::string(kMaxSymbolBytes - 2 + static_cast<size_t>(i), 'L') +
                      static_cast<char>('a' + i % 3));
  }
  SymbolTable cached_table, plain_table;
  internal::InternCache cache;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < strings.size(); ++i) {
      const std::string& text = strings[(i * 7919 + round) % strings.size()];
      const Symbol symbol = cache.Intern(cached_table, text);
      ASSERT_EQ(cached_table.Name(symbol), text.substr(0, kMaxSymbolBytes));
      ASSERT_EQ(symbol, cached_table.Intern(text));
      (void)plain_table.Intern(text);
    }
  }
  EXPECT_EQ(cached_table.size(), plain_table.size());
}

}  // namespace
}  // namespace timescan
