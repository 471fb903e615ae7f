#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "readers/native_jsonl.h"
#include "simdjson.h"
#include "timescan/event.h"
#include "timescan/sim.h"
#include "timescan/timestamps.h"

namespace timescan::sim {
namespace {

using ::testing::HasSubstr;

FleetOptions SmallOptions() {
  FleetOptions options;
  options.learning = absl::Hours(1);
  options.duration = absl::Hours(7);
  options.load = 0.2;
  return options;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SimWriteJsonl, EventsDecodeBackToTheSimulatorsEvents) {
  const FleetOptions options = SmallOptions();
  std::ostringstream events_out, labels_out;
  ASSERT_TRUE(WriteJsonl(options, events_out, labels_out).ok());
  const std::vector<std::string> lines = Lines(events_out.str());

  SymbolTable expected_symbols;
  auto fleet = FleetSimulator::Create(options, expected_symbols);
  ASSERT_TRUE(fleet.ok());
  SymbolTable symbols;
  internal::NativeJsonDecoder decoder;
  Event expected, got;
  size_t i = 0;
  for (; (*fleet)->Next(&expected); ++i) {
    ASSERT_LT(i, lines.size());
    absl::Status status = decoder.Decode(lines[i], /*padded=*/false, symbols, &got);
    ASSERT_TRUE(status.ok()) << status << " line " << i + 1 << ": " << lines[i];
    ASSERT_EQ(got.time_ns, expected.time_ns) << lines[i];
    ASSERT_EQ(symbols.Name(got.entity), expected_symbols.Name(expected.entity));
    ASSERT_EQ(symbols.Name(got.group), expected_symbols.Name(expected.group));
    ASSERT_EQ(got.kind, expected.kind);
    ASSERT_EQ(symbols.Name(got.subject), expected_symbols.Name(expected.subject));
    ASSERT_EQ(symbols.Name(got.actor), expected_symbols.Name(expected.actor));
    ASSERT_EQ(got.has_value, expected.has_value);
    ASSERT_EQ(got.value, expected.value) << lines[i];  // exact: values print round-trip
    ASSERT_EQ(got.has_status, expected.has_status);
    ASSERT_EQ(got.status, expected.status);
  }
  EXPECT_EQ(i, lines.size());
  EXPECT_GT(i, 50000u);
}

TEST(SimWriteJsonl, EventLinesFollowTheNativeSchema) {
  std::ostringstream events_out, labels_out;
  ASSERT_TRUE(WriteJsonl(SmallOptions(), events_out, labels_out).ok());
  const std::set<std::string_view> kinds = {"exec", "exit", "connect", "accept", "request",
                                            "api",  "file", "syscall", "metric"};
  const std::set<std::string_view> allowed = {"time", "entity", "group", "kind",
                                              "subject", "actor", "value", "status"};
  simdjson::dom::parser parser;
  uint64_t n = 0;
  for (const std::string& line : Lines(events_out.str())) {
    simdjson::dom::object object;
    ASSERT_EQ(parser.parse(line).get(object), simdjson::SUCCESS) << line;
    for (auto field : object) ASSERT_TRUE(allowed.contains(field.key)) << line;
    std::string_view time, entity, kind;
    ASSERT_EQ(object["time"].get(time), simdjson::SUCCESS) << line;
    ASSERT_TRUE(ParseRfc3339(time).ok()) << line;
    ASSERT_EQ(object["entity"].get(entity), simdjson::SUCCESS) << line;
    ASSERT_FALSE(entity.empty());
    ASSERT_EQ(object["kind"].get(kind), simdjson::SUCCESS) << line;
    ASSERT_TRUE(kinds.contains(kind)) << line;
    std::string_view text;
    ASSERT_EQ(object["group"].get(text), simdjson::SUCCESS) << line;
    ASSERT_EQ(object["subject"].get(text), simdjson::SUCCESS) << line;
    double value;
    if (object["value"].error() == simdjson::SUCCESS) {
      ASSERT_EQ(object["value"].get(value), simdjson::SUCCESS) << line;
    }
    int64_t status;
    if (object["status"].error() == simdjson::SUCCESS) {
      ASSERT_EQ(object["status"].get(status), simdjson::SUCCESS) << line;
    }
    ++n;
  }
  EXPECT_GT(n, 50000u);
}

TEST(SimWriteJsonl, LabelsAreOneObjectPerAttack) {
  const FleetOptions options = SmallOptions();
  std::ostringstream events_out, labels_out;
  ASSERT_TRUE(WriteJsonl(options, events_out, labels_out).ok());
  SymbolTable symbols;
  auto fleet = FleetSimulator::Create(options, symbols);
  ASSERT_TRUE(fleet.ok());
  const std::vector<AttackLabel>& labels = (*fleet)->labels();
  const std::vector<std::string> lines = Lines(labels_out.str());
  ASSERT_EQ(lines.size(), labels.size());
  ASSERT_EQ(lines.size(), 8u);
  simdjson::dom::parser parser;
  for (size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::object object;
    ASSERT_EQ(parser.parse(lines[i]).get(object), simdjson::SUCCESS) << lines[i];
    std::string_view type, entity, group, start, end, description;
    ASSERT_EQ(object["type"].get(type), simdjson::SUCCESS);
    ASSERT_EQ(object["entity"].get(entity), simdjson::SUCCESS);
    ASSERT_EQ(object["group"].get(group), simdjson::SUCCESS);
    ASSERT_EQ(object["start"].get(start), simdjson::SUCCESS);
    ASSERT_EQ(object["end"].get(end), simdjson::SUCCESS);
    ASSERT_EQ(object["description"].get(description), simdjson::SUCCESS);
    EXPECT_EQ(AttackTypeFromName(type), labels[i].type);
    EXPECT_EQ(entity, labels[i].entity);
    EXPECT_EQ(group, labels[i].group);
    EXPECT_EQ(*ParseRfc3339(start), labels[i].start_ns);
    EXPECT_EQ(*ParseRfc3339(end), labels[i].end_ns);
    EXPECT_EQ(description, labels[i].description);
  }
}

TEST(SimWriteJsonl, RejectsBadOptions) {
  FleetOptions options;
  options.replicas = 0;
  std::ostringstream events_out, labels_out;
  const absl::Status status = WriteJsonl(options, events_out, labels_out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("replicas"));
  EXPECT_TRUE(events_out.str().empty());
}

TEST(SimWriteJsonl, ReportsAFailedStream) {
  std::ostringstream events_out, labels_out;
  events_out.setstate(std::ios::badbit);
  const absl::Status status = WriteJsonl(SmallOptions(), events_out, labels_out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("events"));

  std::ostringstream ok_events, bad_labels;
  bad_labels.setstate(std::ios::badbit);
  EXPECT_EQ(WriteJsonl(SmallOptions(), ok_events, bad_labels).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace timescan::sim
