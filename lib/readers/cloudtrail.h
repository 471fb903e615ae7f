// Decoder of one AWS CloudTrail record (a JSON object) mapped to a timescan
// event: who talked to what, and who asked (docs/formats.md, "CloudTrail").
//
//   entity   userIdentity.arn without the session part of an assumed role
//            ("arn:aws:sts::1234:assumed-role/Admin"), else invokedBy (AWS
//            services), else principalId without its session, else accountId
//   group    userIdentity.accountId, else recipientAccountId
//   kind     api
//   subject  "eventSource:eventName" ("iam.amazonaws.com:CreateUser")
//   actor    userIdentity.invokedBy, else sourceIPAddress
//   status   0; when errorCode is set an HTTP-like class: 403 access denied,
//            404 not found, 429 throttled, 500 service error, 400 other;
//            401 for a failed console login
//   time     eventTime, else @timestamp (records shipped through Logstash)
//
// CloudTrail Insights records are skipped with a counted reason. The file
// forms {"Records":[...]} and [...] are split into records by
// JsonRecordSplitter (json_records.h) before they reach this decoder.

#ifndef TIMESCAN_LIB_READERS_CLOUDTRAIL_H_
#define TIMESCAN_LIB_READERS_CLOUDTRAIL_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "readers/record_decoder.h"

namespace timescan::internal {

// Returns a decoder of single CloudTrail records. Not thread-safe.
std::unique_ptr<RecordDecoder> NewCloudTrailDecoder();

// Returns the status of a failed call with CloudTrail `error_code`
// ("AccessDenied" -> 403; see the header comment).
int32_t CloudTrailErrorStatus(std::string_view error_code);

// Returns the caller of `arn`: an assumed-role ARN without its session name.
std::string_view CallerOfArn(std::string_view arn);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_CLOUDTRAIL_H_
