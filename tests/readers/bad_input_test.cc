// Hostile input for every line-oriented reader: each case puts one bad
// record before a good one, and checks that the bad one is reported (with
// file and line), the good one still read, and the reader ends. The
// protobuf stream has its own cases in proto_stream_test.cc.

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using testing_util::ReadAs;

// A format and a template of one good record; TIME and NUM are replaced by
// JSON text (CSV: cell text) for the time and for a number the reader reads.
struct FormatCase {
  Format format;
  std::string header;  // CSV only
  std::string record;
  std::string time_field;  // its name in errors
  bool integer_num;        // NUM is an integer field (else a double or text)
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << FormatName(c.format); }

std::string Fill(const std::string& record, const std::string& time, const std::string& num) {
  return absl::StrReplaceAll(record, {{"TIME", time}, {"NUM", num}});
}

class BadInputTest : public ::testing::TestWithParam<FormatCase> {
 protected:
  std::string Good() const { return Fill(GetParam().record, GoodTime(), "7"); }
  std::string GoodTime() const {
    return GetParam().format == Format::kCsv ? "2024-05-01T10:00:00Z" : "\"2024-05-01T10:00:00Z\"";
  }
  // Reads header + `lines`, each followed by "\n".
  std::unique_ptr<testing_util::Reading> Read(const std::string& body,
                                              ReaderOptions options = {}) const {
    return ReadAs(GetParam().header + body, GetParam().format, std::move(options));
  }
  int64_t FirstLine() const { return GetParam().header.empty() ? 1 : 2; }
  std::string Where(int64_t offset = 0) const {
    return "in:" + std::to_string(FirstLine() + offset) + ": ";
  }
  // Expects one error at the first record and one event from the second.
  void ExpectOneErrorThenOneEvent(const testing_util::Reading& r,
                                  const std::string& error_part) const {
    ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
    EXPECT_THAT(r.errors[0], StartsWith(Where()));
    EXPECT_THAT(r.errors[0], HasSubstr(error_part));
    EXPECT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.result.stats.records, 2u);
    EXPECT_EQ(r.result.stats.bad_records, 1u);
  }
};

TEST_P(BadInputTest, GoodRecordReads) {
  auto r = Read(Good() + "\n");
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_EQ(r->events.size(), 1u);
}

TEST_P(BadInputTest, TruncatedLine) {
  const std::string good = Good();
  auto r = Read(good.substr(0, good.size() / 2) + "\n" + good + "\n");
  ExpectOneErrorThenOneEvent(*r, "");
}

TEST_P(BadInputTest, EmptyAndBlankLinesAreNotRecords) {
  auto r = Read("\n\n   \n\t\r\n" + Good() + "\n\r\n\n");
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->result.stats.records, 1u);
}

TEST_P(BadInputTest, InvalidUtf8) {
  const std::string bad = absl::StrReplaceAll(Good(), {{"c1", "c\xc3\x28"}});
  ASSERT_NE(bad, Good());
  auto r = Read(bad + "\n" + Good() + "\n");
  ExpectOneErrorThenOneEvent(*r, "UTF-8");
}

TEST_P(BadInputTest, NumbersOutOfRange) {
  for (const char* number : {"1e400", "-1e400", "99999999999999999999999"}) {
    SCOPED_TRACE(number);
    // Beyond 64 bits is out of range for an integer, not for a double.
    if (!GetParam().integer_num && number[1] == '9') continue;
    auto r = Read(Fill(GetParam().record, GoodTime(), number) + "\n" + Good() + "\n");
    ExpectOneErrorThenOneEvent(*r, "");
  }
}

TEST_P(BadInputTest, NanAndInfinity) {
  for (const char* number : {"NaN", "Infinity", "-Infinity", "nan", "inf"}) {
    SCOPED_TRACE(number);
    auto r = Read(Fill(GetParam().record, GoodTime(), number) + "\n" + Good() + "\n");
    ExpectOneErrorThenOneEvent(*r, "");
  }
}

TEST_P(BadInputTest, DeeplyNestedJson) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  // As a whole line, and as the value of a field the reader does not use,
  // which On-Demand skips without recursion or a depth limit.
  std::string nested_field = Good();
  nested_field.insert(1, "\"deep\":" + deep + ",");
  auto r = Read(deep + "\n" + nested_field + "\n" + Good() + "\n");
  const bool csv = GetParam().format == Format::kCsv;
  ASSERT_EQ(r->errors.size(), csv ? 2u : 1u) << ::testing::PrintToString(r->errors);
  EXPECT_THAT(r->errors[0], StartsWith(Where()));
  if (GetParam().format == Format::kCloudTrail) {
    EXPECT_THAT(r->errors[0], HasSubstr("nested deeper than 1024 levels"));
  }
  EXPECT_EQ(r->events.size(), csv ? 1u : 2u);
}

TEST_P(BadInputTest, HundredMegabyteLineIsSkippedWithBoundedMemory) {
  std::string huge = "{\"junk\":\"" + std::string(size_t{100} << 20, 'x') + "\"}";
  auto r = Read(huge + "\n" + Good() + "\n");
  huge = std::string();
  ExpectOneErrorThenOneEvent(*r, "line longer than the limit of 1048576 bytes");
}

TEST_P(BadInputTest, WrongShapes) {
  if (GetParam().format == Format::kCsv) GTEST_SKIP() << "CSV has no JSON shapes";
  for (const char* shape : {"[]", "\"text\"", "42", "null", "{}", "{\"a\":1}}", "{\"a\":1} {}"}) {
    SCOPED_TRACE(shape);
    // For CloudTrail, [] is a valid, empty array of records.
    if (GetParam().format == Format::kCloudTrail && std::string(shape) == "[]") continue;
    auto r = Read(std::string(shape) + "\n" + Good() + "\n");
    ExpectOneErrorThenOneEvent(*r, "");
  }
}

TEST_P(BadInputTest, WrongTypedTime) {
  if (GetParam().format == Format::kCsv) GTEST_SKIP() << "CSV cells are text";
  for (const char* time : {"true", "{}", "[1]", "\"yesterday\""}) {
    SCOPED_TRACE(time);
    auto r = Read(Fill(GetParam().record, time, "7") + "\n" + Good() + "\n");
    ExpectOneErrorThenOneEvent(*r, "field '" + GetParam().time_field + "'");
  }
}

TEST_P(BadInputTest, DuplicateKeys) {
  if (GetParam().format == Format::kCsv) GTEST_SKIP() << "CSV has no keys";
  std::string twice = Good();
  twice.insert(1, "\"" + GetParam().time_field + "\":" + GoodTime() + ",");
  auto r = Read(twice + "\n" + Good() + "\n");
  ExpectOneErrorThenOneEvent(*r, "appears twice");
}

TEST_P(BadInputTest, TimesBefore1970AndAfter2262) {
  const bool csv = GetParam().format == Format::kCsv;
  for (const char* time : {"1969-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
                           "2262-04-11T23:47:17Z", "9999-12-31T23:59:59Z"}) {
    SCOPED_TRACE(time);
    const std::string text = csv ? time : "\"" + std::string(time) + "\"";
    auto r = Read(Fill(GetParam().record, text, "7") + "\n" + Good() + "\n");
    ExpectOneErrorThenOneEvent(*r, "is outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z");
    EXPECT_EQ(r->result.errors[0].code(), absl::StatusCode::kOutOfRange);
  }
}

TEST_P(BadInputTest, GzipCutInHalfEndsWithDataLoss) {
  std::string body = GetParam().header;
  for (int i = 0; i < 20000; ++i) body += Good() + "\n";
  const std::string gz = testing_util::Gzip(body);
  auto r = ReadAs(gz.substr(0, gz.size() / 2), GetParam().format);
  ASSERT_EQ(r->result.errors.size(), 1u);
  EXPECT_EQ(r->result.errors[0].code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r->errors[0], HasSubstr("truncated gzip stream"));
  EXPECT_GT(r->events.size(), 0u);
  EXPECT_LT(r->events.size(), 20000u);
}

INSTANTIATE_TEST_SUITE_P(
    Readers, BadInputTest,
    ::testing::Values(
        FormatCase{Format::kNative, "",
                   R"({"time":TIME,"entity":"c1","kind":"exec","subject":"/bin/sh","value":NUM})",
                   "time", false},
        FormatCase{Format::kFalco, "",
                   R"({"rule":"r","time":TIME,"output_fields":{"container.id":"c1",)"
                   R"("proc.name":"sh","fd.sport":NUM}})",
                   "time", true},
        FormatCase{Format::kTetragon, "",
                   R"({"process_exit":{"process":{"binary":"/bin/sh","docker":"c1"},)"
                   R"("status":NUM},"time":TIME})",
                   "time", true},
        FormatCase{Format::kCloudTrail, "",
                   R"({"eventTime":TIME,"eventSource":"s3.amazonaws.com","eventName":"X",)"
                   R"("userIdentity":{"arn":"c1"},"@timestamp":"2024-05-01T10:00:0NUMZ"})",
                   "eventTime", false},
        FormatCase{Format::kCsv, "time,entity,kind,value\n", "TIME,c1,exec,NUM", "time", false}),
    [](const ::testing::TestParamInfo<FormatCase>& info) {
      return std::string(FormatName(info.param.format));
    });

}  // namespace
}  // namespace timescan
