// CSV with a header row and a field=column map.

#include "readers/csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing_util::ReadAs;

std::vector<std::string> Cells(std::string_view line) {
  std::vector<std::string_view> cells;
  std::string storage;
  absl::Status s = internal::SplitCsvLine(line, &cells, &storage);
  EXPECT_TRUE(s.ok()) << s;
  return std::vector<std::string>(cells.begin(), cells.end());
}

TEST(SplitCsvLine, QuotedAndEmptyCells) {
  EXPECT_THAT(Cells("a,b,c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Cells(""), ElementsAre(""));
  EXPECT_THAT(Cells(",,"), ElementsAre("", "", ""));
  EXPECT_THAT(Cells(R"("a,b","say ""hi""",)"), ElementsAre("a,b", R"(say "hi")", ""));
  EXPECT_THAT(Cells(R"("",x)"), ElementsAre("", "x"));
}

TEST(SplitCsvLine, BrokenQuotesNameTheColumn) {
  std::vector<std::string_view> cells;
  std::string storage;
  EXPECT_EQ(internal::SplitCsvLine(R"(a,"open)", &cells, &storage).message(),
            "column 2: quoted cell not closed on this line (cells spanning lines are not "
            "supported)");
  EXPECT_EQ(internal::SplitCsvLine(R"("a"b,c)", &cells, &storage).message(),
            "column 1: expected ',' after the closing quote");
}

TEST(CsvReader, IdentityColumnsInAnyOrder) {
  auto r = ReadAs(
      "kind,time,entity,subject,extra,value,status,group,actor\n"
      "exec,2024-05-01T10:00:00Z,c1,/usr/bin/curl,ignored,,,web,/bin/sh\n"
      "request,1714557600.5,c1,/api,,12.5,503,web,10.0.0.1\n",
      Format::kAuto);
  EXPECT_EQ(r->result.format, Format::kCsv);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events,
              ElementsAre(R"({"time":"2024-05-01T10:00:00Z","entity":"c1","group":"web","kind":"exec","subject":"/usr/bin/curl","actor":"/bin/sh"})",
                          R"({"time":"2024-05-01T10:00:00.500Z","entity":"c1","group":"web","kind":"request","subject":"/api","actor":"10.0.0.1","value":12.5,"status":503})"));
  EXPECT_EQ(r->result.stats.records, 2u);  // the header is not a record
}

TEST(CsvReader, FieldMapNamesOtherColumns) {
  ReaderOptions options;
  options.csv_field_map = {{"time", "ts"}, {"entity", "container_id"}, {"kind", "type"}};
  auto r = ReadAs("\xEF\xBB\xBF" "ts, container_id ,type\n2024-05-01T10:00:00Z,\"c,1\",connect\n",
                  Format::kCsv, options);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events, ElementsAre(R"({"time":"2024-05-01T10:00:00Z","entity":"c,1","kind":"connect","subject":"","actor":""})"));
}

TEST(CsvReader, BadHeadersEndTheInputWithTheReason) {
  auto missing = ReadAs("time,entity\n1,c\n", Format::kCsv);
  EXPECT_THAT(missing->errors,
              ElementsAre("in:1: CSV header: no column for 'kind'; expected a column named kind or "
                          "a mapping kind=COLUMN"));
  EXPECT_EQ(missing->result.stats.records, 0u);

  auto twice = ReadAs("time,entity,kind,time\n", Format::kCsv);
  EXPECT_THAT(twice->errors, ElementsAre(HasSubstr("column \"time\" appears twice (columns 1 and 4)")));

  ReaderOptions options;
  options.csv_field_map = {{"when", "ts"}};
  auto unknown = ReadAs("ts,entity,kind\n", Format::kCsv, options);
  EXPECT_THAT(unknown->errors,
              ElementsAre("in:1: csv_field_map: unknown event field \"when\"; expected one of "
                          "time, entity, kind, group, subject, actor, value, status"));
  options.csv_field_map = {{"time", "ts"}};
  auto absent = ReadAs("time,entity,kind\n", Format::kCsv, options);
  EXPECT_THAT(absent->errors, ElementsAre("in:1: csv_field_map: column \"ts\" (for time) is not "
                                          "in the CSV header"));
}

TEST(CsvReader, BadRowsNameLineFieldAndColumn) {
  ReaderOptions options;
  options.csv_field_map = {{"time", "ts"}};
  const std::string input =
      "ts,entity,kind,value,status\n"
      "2024-05-01T10:00:00Z,c,exec,,\n"     // 2: fine
      "2024-05-01T10:00:00Z,c,exec\n"       // 3: too few columns
      ",c,exec,,\n"                         // 4: no time
      "nan,c,exec,,\n"                      // 5
      "1e30,c,exec,,\n"                     // 6
      "2024-05-01T10:00:00Z,,exec,,\n"      // 7
      "2024-05-01T10:00:00Z,c,run,,\n"      // 8
      "2024-05-01T10:00:00Z,c,exec,inf,\n"  // 9
      "2024-05-01T10:00:00Z,c,exec,,3000000000\n"  // 10
      "2024-05-01T10:00:00Z,c\xff,exec,,\n"          // 11
      "1969-12-31T23:59:59Z,c,exec,,\n";            // 12
  auto r = ReadAs(input, Format::kCsv, options);
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_THAT(
      r->errors,
      ElementsAre("in:3: expected 5 columns as in the header, got 3",
                  "in:4: field 'time' (column \"ts\"): empty; expected an RFC 3339 time or unix seconds",
                  "in:5: field 'time' (column \"ts\"): expected finite unix seconds, got NaN or infinity",
                  "in:6: field 'time' (column \"ts\"): unix seconds 1e+30 are outside 0..9223372036 "
                  "(1970..2262)",
                  "in:7: field 'entity' (column \"entity\"): empty; expected the container id",
                  "in:8: field 'kind' (column \"kind\"): expected one of exec, exit, connect, "
                  "accept, request, api, file, syscall, metric; got \"run\"",
                  "in:9: field 'value' (column \"value\"): expected a finite number, got \"inf\"",
                  "in:10: field 'status' (column \"status\"): expected an integer in the 32-bit "
                  "range, got \"3000000000\"",
                  "in:11: expected UTF-8 text",
                  HasSubstr("in:12: field 'time' (column \"ts\"): time \"1969-12-31T23:59:59Z\" is outside")));
}

}  // namespace
}  // namespace timescan
