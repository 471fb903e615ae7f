// JsonRecordSplitter finds records in containers and reports broken
// structure without reading past the input.

#include "readers/json_records.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Split {
  std::vector<std::string> records;
  std::vector<size_t> offsets;
  std::vector<std::string> errors;
};

Split SplitAll(const std::string& text) {
  JsonRecordSplitter splitter;
  splitter.Reset(text);
  Split out;
  for (int calls = 0; calls < 100000; ++calls) {
    std::string_view record;
    size_t offset = 0;
    absl::StatusOr<bool> got = splitter.Next(&record, &offset);
    if (!got.ok()) {
      out.errors.push_back(std::string(got.status().message()));
      continue;
    }
    if (!*got) return out;
    out.records.push_back(std::string(record));
    out.offsets.push_back(offset);
  }
  ADD_FAILURE() << "the splitter did not end";
  return out;
}

TEST(IsRecordContainer, ArraysAndRecordsWrappers) {
  EXPECT_TRUE(IsRecordContainer("[]"));
  EXPECT_TRUE(IsRecordContainer("  [{\"a\":1}]"));
  EXPECT_TRUE(IsRecordContainer("{\"Records\":[]}"));
  EXPECT_TRUE(IsRecordContainer("{ \"Records\" : [ {} ] }"));
  EXPECT_TRUE(IsRecordContainer("{\"Records\":null}"));  // reported by the splitter
  EXPECT_FALSE(IsRecordContainer("{\"eventName\":\"Records\"}"));
  EXPECT_FALSE(IsRecordContainer("{\"eventVersion\":\"1.0\",\"Records\":[]}"));
  EXPECT_FALSE(IsRecordContainer(""));
}

TEST(JsonRecordSplitter, ArrayElementsWithTrickyStrings) {
  const Split s = SplitAll(R"([{"a":"]}"}, {"b":"\"{"} ,{"c":[1,{"d":"\\"}]}])");
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.records, ElementsAre(R"({"a":"]}"})", R"({"b":"\"{"})", R"({"c":[1,{"d":"\\"}]})"));
  EXPECT_THAT(s.offsets, ElementsAre(1, 13, 26));
}

TEST(JsonRecordSplitter, RecordsWrapperWithOtherMembersAndSingleObjects) {
  const Split s = SplitAll("{\"Records\": [{\"a\":1}], \"next\": {\"x\":[1]}}\n{\"b\":2}\n[]\n");
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.records, ElementsAre(R"({"a":1})", R"({"b":2})"));
}

TEST(JsonRecordSplitter, NonObjectElementsAreReportedAndSkipped) {
  const Split s = SplitAll(R"([1, "x", {"a":1}, null, [2]])");
  EXPECT_THAT(s.records, ElementsAre(R"({"a":1})"));
  EXPECT_THAT(s.errors, ElementsAre("record 1 of the array: expected a JSON object, got '1'",
                                    "record 2 of the array: expected a JSON object, got '\\\"'",
                                    "record 4 of the array: expected a JSON object, got 'n'",
                                    "record 5 of the array: expected a JSON object, got '['"));
}

TEST(JsonRecordSplitter, BrokenStructureEndsTheSplitting) {
  EXPECT_THAT(SplitAll(R"([{"a":1} {"b":2}])").errors,
              ElementsAre("expected ',' or ']' after record 1, got '{'"));
  EXPECT_THAT(SplitAll(R"([{"a":1},])").errors,
              ElementsAre("expected a JSON value, got ']'"));
  EXPECT_THAT(SplitAll(R"([{"a":[1}])").errors, ElementsAre("expected ']', got '}'"));
  EXPECT_THAT(SplitAll(R"([{"a":"unterminated)").errors,
              ElementsAre("the document ends inside a string (truncated?)"));
  EXPECT_THAT(SplitAll(R"([{"a":1})").errors,
              ElementsAre("the document ends inside the array of records (truncated?)"));
  EXPECT_THAT(SplitAll(R"({"Records":[]   )").errors,
              ElementsAre("the document ends before the '}' of \"Records\""));
  EXPECT_THAT(SplitAll(R"({"Records":7})").errors,
              ElementsAre("field 'Records': expected an array of records"));
  EXPECT_THAT(SplitAll("nope").errors, ElementsAre("expected a JSON object or array, got 'n'"));
  const Split after_records = SplitAll(R"({"a":1} x)");
  EXPECT_EQ(after_records.records.size(), 1u);
  EXPECT_THAT(after_records.errors, ElementsAre("expected a JSON object or array, got 'x'"));
}

TEST(JsonRecordSplitter, NestingIsBounded) {
  const std::string deep = "[" + std::string(100000, '[') + std::string(100000, ']') + "]";
  const Split s = SplitAll(deep);
  EXPECT_THAT(s.records, IsEmpty());
  EXPECT_THAT(s.errors, ElementsAre(HasSubstr("nested deeper than 1024 levels")));
  const Split objects = SplitAll("[{\"a\":" + std::string(5000, '{'));
  EXPECT_THAT(objects.errors, ElementsAre(HasSubstr("nested deeper than 1024 levels")));
}

}  // namespace
}  // namespace timescan::internal
