// The CloudTrail mapping and its three container shapes: one record per
// line, {"Records":[...]} and [...], on one line or spread over many, plain
// or gzip, with bounded memory for whole documents.

#include "readers/cloudtrail.h"

#include <filesystem>
#include <fstream>
#include <string>

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

// A record of `user` (JSON members of userIdentity) with `extra` members.
std::string Record(const std::string& user, const std::string& extra = "",
                   const std::string& name = "ListBuckets") {
  return R"({"eventVersion":"1.08","userIdentity":{)" + user +
         R"(},"eventTime":"2024-08-01T12:00:00Z","eventSource":"s3.amazonaws.com",)"
         R"("eventName":")" + name + R"(","sourceIPAddress":"203.0.113.7")" + extra + "}";
}

constexpr char kRole[] =
    R"("type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com",)"
    R"("accountId":"111122223333","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/Admin"}})";

TEST(CloudTrailReader, AssumedRoleLosesItsSessionName) {
  auto r = ReadAs(Record(kRole) + "\n", Format::kCloudTrail);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events,
              ElementsAre(R"({"time":"2024-08-01T12:00:00Z","entity":"arn:aws:sts::111122223333:)"
                          R"(assumed-role/Admin","group":"111122223333","kind":"api",)"
                          R"("subject":"s3.amazonaws.com:ListBuckets","actor":"203.0.113.7","status":0})"));
}

TEST(CloudTrailReader, CallerOfArn) {
  using internal::CallerOfArn;
  EXPECT_EQ(CallerOfArn("arn:aws:iam::1:user/bob"), "arn:aws:iam::1:user/bob");
  EXPECT_EQ(CallerOfArn("arn:aws:sts::1:assumed-role/R/s"), "arn:aws:sts::1:assumed-role/R");
  EXPECT_EQ(CallerOfArn("arn:aws:sts::1:assumed-role/R"), "arn:aws:sts::1:assumed-role/R");
  EXPECT_EQ(CallerOfArn("arn:aws:sts::1:federated-user/f"), "arn:aws:sts::1:federated-user/f");
}

TEST(CloudTrailReader, ErrorCodesBecomeHttpLikeStatuses) {
  using internal::CloudTrailErrorStatus;
  EXPECT_EQ(CloudTrailErrorStatus("AccessDenied"), 403);
  EXPECT_EQ(CloudTrailErrorStatus("Client.UnauthorizedOperation"), 403);
  EXPECT_EQ(CloudTrailErrorStatus("NoSuchEntityException"), 404);
  EXPECT_EQ(CloudTrailErrorStatus("ResourceNotFoundException"), 404);
  EXPECT_EQ(CloudTrailErrorStatus("ThrottlingException"), 429);
  EXPECT_EQ(CloudTrailErrorStatus("Client.RequestLimitExceeded"), 429);
  EXPECT_EQ(CloudTrailErrorStatus("InternalFailure"), 500);
  EXPECT_EQ(CloudTrailErrorStatus("EntityTemporarilyUnmodifiableException"), 400);
}

TEST(CloudTrailReader, ServiceCallersAndFailedLogins) {
  const std::string input =
      Record(R"("type":"AWSService","invokedBy":"ec2.amazonaws.com")",
             R"(,"recipientAccountId":"444455556666")", "AssumeRole") + "\n" +
      Record(R"("type":"AWSAccount","principalId":"AIDAEXAMPLE:session-1","accountId":"777")") +
      "\n" +
      Record(R"("type":"IAMUser","arn":"arn:aws:iam::1:user/bob","accountId":"1")",
             R"(,"errorCode":"AccessDenied","errorMessage":"no")") + "\n" +
      Record(R"("type":"IAMUser","arn":"arn:aws:iam::1:user/bob","accountId":"1")",
             R"(,"responseElements":{"ConsoleLogin":"Failure"})", "ConsoleLogin") + "\n";
  auto r = ReadAs(input, Format::kCloudTrail);
  EXPECT_THAT(r->errors, IsEmpty());
  ASSERT_EQ(r->events.size(), 4u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("entity":"ec2.amazonaws.com","group":"444455556666",)"
                                      R"("kind":"api","subject":"s3.amazonaws.com:AssumeRole",)"
                                      R"("actor":"ec2.amazonaws.com","status":0})"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("entity":"AIDAEXAMPLE","group":"777")"));
  EXPECT_THAT(r->events[2], HasSubstr(R"("status":403})"));
  EXPECT_THAT(r->events[3], HasSubstr(R"("subject":"s3.amazonaws.com:ConsoleLogin","actor":"203.0.113.7","status":401})"));
}

TEST(CloudTrailReader, LogstashTimestampStandsInForEventTime) {
  auto r = ReadAs(
      R"({"@timestamp":"2020-09-14T00:44:23.000Z","eventSource":"ec2.amazonaws.com","eventName":"X","userIdentity":{"arn":"arn:aws:iam::1:user/p"},"sourceIPAddress":"1.2.3.4"})",
      Format::kCloudTrail);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], StartsWith(R"({"time":"2020-09-14T00:44:23Z")"));
}

TEST(CloudTrailReader, InsightsAreSkipped) {
  auto r = ReadAs(
      R"({"eventVersion":"1.08","eventTime":"2024-08-01T12:00:00Z","eventType":"AwsCloudTrailInsight","eventSource":"ssm.amazonaws.com","eventName":"SendCommand","insightDetails":{}})",
      Format::kCloudTrail);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(r->result.stats.skipped,
              ElementsAre(std::pair<const std::string, uint64_t>("cloudtrail insight event", 1)));
}

TEST(CloudTrailReader, MissingFieldsAreNamed) {
  const std::string input =
      R"({"eventTime":"2024-08-01T12:00:00Z","eventName":"X","userIdentity":{"arn":"a"}})" "\n"
      R"({"eventTime":"2024-08-01T12:00:00Z","eventSource":"s","userIdentity":{"arn":"a"}})" "\n"
      R"({"eventSource":"s","eventName":"X","userIdentity":{"arn":"a"}})" "\n"
      R"({"eventTime":"2024-08-01T12:00:00Z","eventSource":"s","eventName":"X"})" "\n"
      R"({"eventTime":"2024-08-01T12:00:00Z","eventSource":"s","eventName":"X","userIdentity":{"type":"Unknown"}})" "\n"
      R"({"eventTime":"2024-08-01T12:00:00Z","eventSource":"s","eventName":"X","userIdentity":"root"})" "\n";
  auto r = ReadAs(input, Format::kCloudTrail);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(
      r->errors,
      ElementsAre("in:1: field 'eventSource': missing; expected the service, like iam.amazonaws.com",
                  "in:2: field 'eventName': missing; expected the API action, like CreateUser",
                  "in:3: field 'eventTime': missing; expected an RFC 3339 time (or @timestamp)",
                  "in:4: field 'userIdentity': missing; expected the caller",
                  "in:5: field 'userIdentity': expected one of arn, invokedBy, principalId or "
                  "accountId to name the caller",
                  "in:6: field 'userIdentity': expected an object, got a string"));
}

TEST(CloudTrailReader, RecordsWrapperOnOneLineGivesAllItsRecords) {
  const std::string input = R"({"Records":[)" + Record(kRole, "", "A") + "," +
                            Record(kRole, "", "B") + "]}\n" + Record(kRole, "", "C") + "\n";
  auto r = ReadAs(input, Format::kAuto);
  EXPECT_EQ(r->result.format, Format::kCloudTrail);
  EXPECT_THAT(r->errors, IsEmpty());
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_THAT(r->events[0], HasSubstr("s3.amazonaws.com:A"));
  EXPECT_THAT(r->events[1], HasSubstr("s3.amazonaws.com:B"));
  EXPECT_THAT(r->events[2], HasSubstr("s3.amazonaws.com:C"));
  EXPECT_EQ(r->result.stats.records, 3u);
}

TEST(CloudTrailReader, PrettyPrintedArrayIsReadWholeAndErrorsNameTheRecordLine) {
  const std::string input = "[\n  " + Record(kRole, "", "A") + ",\n  " +
                            R"({"eventSource":"s3.amazonaws.com","eventName":"B"})" + ",\n  " +
                            "42,\n  " + Record(kRole, "", "C") + "\n]\n";
  auto r = ReadAs(input, Format::kAuto);
  EXPECT_EQ(r->result.format, Format::kCloudTrail);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_THAT(r->events[1], HasSubstr("s3.amazonaws.com:C"));
  EXPECT_THAT(r->errors,
              ElementsAre("in:3: field 'eventTime': missing; expected an RFC 3339 time (or @timestamp)",
                          "in:4: record 3 of the array: expected a JSON object, got '4'"));
  EXPECT_EQ(r->result.stats.records, 4u);
  EXPECT_EQ(r->result.stats.bad_records, 2u);
}

TEST(CloudTrailReader, ConcatenatedDocumentsAreAllRead) {
  const std::string input = "{\"Records\": [\n" + Record(kRole, "", "A") + "\n], \"x\": 1}\n[\n" +
                            Record(kRole, "", "B") + "\n]";
  auto r = ReadAs(input, Format::kAuto);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_EQ(r->events.size(), 2u);
}

TEST(CloudTrailReader, TruncatedDocumentKeepsTheRecordsBeforeTheCut) {
  const std::string whole = "[\n" + Record(kRole, "", "A") + ",\n" + Record(kRole, "", "B") + "\n]\n";
  auto r = ReadAs(whole.substr(0, whole.size() - 40), Format::kCloudTrail);
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->errors,
              ElementsAre(HasSubstr("the document ends inside an object or array (truncated?)")));
}

TEST(CloudTrailReader, DocumentOverTheLimitIsReportedNotRead) {
  std::string input = "[\n";
  for (int i = 0; i < 200; ++i) input += Record(kRole) + ",\n";
  input += Record(kRole) + "\n]\n";
  ReaderOptions options;
  options.max_document_bytes = 4096;
  auto r = ReadAs(input, Format::kAuto, options);
  EXPECT_THAT(r->events, IsEmpty());
  ASSERT_EQ(r->result.errors.size(), 1u);
  EXPECT_EQ(r->result.errors[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r->errors[0], HasSubstr("larger than the limit of 4096 bytes "
                                      "(ReaderOptions::max_document_bytes)"));
}

TEST(CloudTrailReader, GzippedFileOnDiskIsReadTransparently) {
  const std::string sample =
      testing_util::ReadTextFile(testing_util::DataDir() + "/cloudtrail/falco-test-alice_start_instances.json");
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "alice.json.gz").string();
  std::ofstream(path, std::ios::binary) << testing_util::Gzip(sample);
  SymbolTable symbols;
  const testing_util::ReadResult result = testing_util::ReadFile(path, symbols);
  EXPECT_EQ(result.format, Format::kCloudTrail);
  EXPECT_THAT(result.errors, IsEmpty());
  ASSERT_EQ(result.events.size(), 1u);
  EXPECT_EQ(testing_util::EventLine(result.events[0], symbols),
            R"({"time":"2014-03-06T21:22:54Z","entity":"arn:aws:iam::123456789012:user/Alice",)"
            R"("group":"123456789012","kind":"api","subject":"ec2.amazonaws.com:StartInstances",)"
            R"("actor":"205.251.233.176","status":0})");
}

}  // namespace
}  // namespace timescan
