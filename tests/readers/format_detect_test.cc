// Auto-detection picks the right reader for every sample shape.

#include "readers/format_detect.h"

#include <string>

#include "gtest/gtest.h"
#include "readers/proto_stream.h"
#include "reader_test_util.h"
#include "timescan/event.h"

namespace timescan::internal {
namespace {

using testing_util::DataDir;
using testing_util::ReadTextFile;

std::string Head(const std::string& relative) {
  return ReadTextFile(DataDir() + "/" + relative).substr(0, kDetectBytes);
}

TEST(DetectFormat, EverySampleFolderIsRecognised) {
  EXPECT_EQ(DetectFormat(Head("falco/falco-test-single_rule_with_cat_write.jsonl")), Format::kFalco);
  EXPECT_EQ(DetectFormat(Head("falco/falco-website-docs-metrics-snapshots.jsonl")), Format::kFalco);
  // Its first record is a process_throttle, not an exec.
  EXPECT_EQ(DetectFormat(Head("tetragon/tetragon-docs-examples.jsonl")), Format::kTetragon);
  EXPECT_EQ(DetectFormat(Head("tetragon/security-observability-with-ebpf-book.jsonl")),
            Format::kTetragon);
  EXPECT_EQ(DetectFormat(Head("cloudtrail/otrf-ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl")),
            Format::kCloudTrail);
  EXPECT_EQ(DetectFormat(Head("cloudtrail/falco-test-alice_start_instances.json")),
            Format::kCloudTrail);
  EXPECT_EQ(DetectFormat(Head("cloudtrail/stratus-red-team-detonation-logs/"
                              "aws.persistence.sts-federation-token.json")),
            Format::kCloudTrail);
}

TEST(DetectFormat, OtherShapes) {
  EXPECT_EQ(DetectFormat(""), Format::kNative);
  EXPECT_EQ(DetectFormat(" \n\n"), Format::kNative);
  EXPECT_EQ(DetectFormat(R"({"time":1,"entity":"c","kind":"exec"})"), Format::kNative);
  EXPECT_EQ(DetectFormat("time,entity,kind\n1,c,exec\n"), Format::kCsv);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBFtime,entity,kind\n"), Format::kCsv);
  EXPECT_EQ(DetectFormat(R"([{"eventSource":"s"}])"), Format::kCloudTrail);
  EXPECT_EQ(DetectFormat(R"({"Records":[{"eventSource":"s"}]})"), Format::kCloudTrail);
  // A first line that does not parse is classified by its keys as text.
  EXPECT_EQ(DetectFormat("{\"output_fields\":{\"x\":\"\xff\"},\"rule\":\"r\"}\n"), Format::kFalco);
  // A pretty-printed document that is not CloudTrail is left to the native
  // reader, which reports it line by line.
  EXPECT_EQ(DetectFormat("{\n  \"time\": 1\n}\n"), Format::kNative);
}

TEST(DetectFormat, ProtoStream) {
  SymbolTable symbols;
  Event event = EventBuilder(symbols).Time(1'700'000'000'000'000'000).Entity("c").Build();
  std::string stream;
  AppendDelimitedEvent(event, symbols, &stream);
  EXPECT_EQ(DetectFormat(stream), Format::kProto);
  // A message cut by the detection window is judged by its first tag.
  EXPECT_TRUE(LooksLikeProtoStream(stream.substr(0, 3)));
  // Text never starts like a message.
  EXPECT_FALSE(LooksLikeProtoStream("time,entity\n"));
  EXPECT_FALSE(LooksLikeProtoStream("{\"a\":1}"));
}

TEST(IsMultiLineDocument, FirstValueSpanningLines) {
  EXPECT_TRUE(IsMultiLineDocument("[\n{}\n]"));
  EXPECT_TRUE(IsMultiLineDocument("\n\n{\"Records\": [{\n"));
  EXPECT_FALSE(IsMultiLineDocument("{\"a\":\"{[\"}\n{\n"));
  EXPECT_FALSE(IsMultiLineDocument("[{\"a\":1}]\n["));
  EXPECT_FALSE(IsMultiLineDocument("{\"a\":1"));  // no newline in the window
}

}  // namespace
}  // namespace timescan::internal
