#include "readers/cloudtrail.h"

#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "simdjson.h"
#include "status_macros.h"

namespace timescan::internal {
namespace {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

constexpr std::string_view kSkipInsight = "cloudtrail insight event";

// What one record says, as views into the parser's buffers.
struct Record {
  bool has_event_time = false, has_timestamp = false;
  int64_t event_time = 0, timestamp = 0;
  std::string_view event_source, event_name, event_type, source_ip, error_code;
  std::string_view console_login;  // responseElements.ConsoleLogin
  std::string_view recipient_account;
  bool has_identity = false;
  std::string_view arn, invoked_by, principal_id, account_id;
};

absl::Status ReadIdentity(object& identity, Record* r) {
  SeenFields seen;
  return ForEachField(identity, "userIdentity", [&](std::string_view key, value v) {
    if (key == "arn") {
      RETURN_IF_ERROR(seen.Mark(0, "userIdentity.arn"));
      return ReadOptionalString(v, "userIdentity.arn", &r->arn);
    }
    if (key == "invokedBy") {
      RETURN_IF_ERROR(seen.Mark(1, "userIdentity.invokedBy"));
      return ReadOptionalString(v, "userIdentity.invokedBy", &r->invoked_by);
    }
    if (key == "principalId") {
      RETURN_IF_ERROR(seen.Mark(2, "userIdentity.principalId"));
      return ReadOptionalString(v, "userIdentity.principalId", &r->principal_id);
    }
    if (key == "accountId") {
      RETURN_IF_ERROR(seen.Mark(3, "userIdentity.accountId"));
      return ReadOptionalString(v, "userIdentity.accountId", &r->account_id);
    }
    return absl::OkStatus();
  });
}

// Reads responseElements.ConsoleLogin, the only trace of a failed console
// login (such records carry no errorCode).
absl::Status ReadResponse(value response, Record* r) {
  simdjson::ondemand::json_type type;
  if (auto e = response.type().get(type); e) return JsonFieldError("responseElements", e);
  // Only an object can hold ConsoleLogin; anything else (usually null) is
  // skipped.
  if (type != simdjson::ondemand::json_type::object) return absl::OkStatus();
  object elements;
  bool present = false;
  RETURN_IF_ERROR(ReadOptionalObject(response, "responseElements", &elements, &present));
  SeenFields seen;
  return ForEachField(elements, "responseElements", [&](std::string_view key, value v) {
    if (key != "ConsoleLogin") return absl::OkStatus();
    RETURN_IF_ERROR(seen.Mark(0, "responseElements.ConsoleLogin"));
    return ReadOptionalString(v, "responseElements.ConsoleLogin", &r->console_login);
  });
}

// The top-level fields read, with their bit for duplicate detection; the
// large request and response objects are skipped without being parsed.
absl::Status ReadRecord(object& root, Record* r) {
  SeenFields seen;
  return ForEachField(root, "", [&](std::string_view key, value v) {
    if (key == "eventTime") {
      RETURN_IF_ERROR(seen.Mark(0, key));
      r->has_event_time = true;
      return ReadRfc3339(v, key, &r->event_time);
    }
    if (key == "@timestamp") {
      RETURN_IF_ERROR(seen.Mark(1, key));
      r->has_timestamp = true;
      return ReadRfc3339(v, key, &r->timestamp);
    }
    if (key == "userIdentity") {
      RETURN_IF_ERROR(seen.Mark(2, key));
      object identity;
      RETURN_IF_ERROR(ReadOptionalObject(v, key, &identity, &r->has_identity));
      return r->has_identity ? ReadIdentity(identity, r) : absl::OkStatus();
    }
    if (key == "responseElements") {
      RETURN_IF_ERROR(seen.Mark(3, key));
      return ReadResponse(v, r);
    }
    const struct {
      std::string_view key;
      std::string_view* out;
    } strings[] = {
        {"eventSource", &r->event_source}, {"eventName", &r->event_name},
        {"sourceIPAddress", &r->source_ip}, {"errorCode", &r->error_code},
        {"eventType", &r->event_type},     {"recipientAccountId", &r->recipient_account},
    };
    for (size_t i = 0; i < std::size(strings); ++i) {
      if (key != strings[i].key) continue;
      RETURN_IF_ERROR(seen.Mark(4 + static_cast<int>(i), key));
      return ReadOptionalString(v, key, strings[i].out);
    }
    return absl::OkStatus();
  });
}

// Returns the entity of the caller, or "" when the identity names none.
std::string_view Caller(const Record& r) {
  if (!r.arn.empty()) return CallerOfArn(r.arn);
  if (!r.invoked_by.empty()) return r.invoked_by;
  if (!r.principal_id.empty()) return r.principal_id.substr(0, r.principal_id.find(':'));
  return r.account_id;
}

class CloudTrailDecoder final : public RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override;

 private:
  simdjson::ondemand::parser parser_;
  std::string scratch_;
  std::string subject_;
};

absl::Status CloudTrailDecoder::Decode(std::string_view record, bool padded,
                                       SymbolTable& symbols, std::vector<Event>* out,
                                       std::string* skip_reason) {
  simdjson::ondemand::document doc;
  object root;
  RETURN_IF_ERROR(IterateObject(parser_, record, padded, &scratch_,
                                "a CloudTrail record (a JSON object)", &doc, &root));
  Record r;
  RETURN_IF_ERROR(ReadRecord(root, &r));
  RETURN_IF_ERROR(ExpectDocumentEnd(doc));
  if (r.event_type == "AwsCloudTrailInsight") {
    *skip_reason = kSkipInsight;
    return absl::OkStatus();
  }
  if (r.event_source.empty()) {
    return FieldError("eventSource", "missing; expected the service, like iam.amazonaws.com");
  }
  if (r.event_name.empty()) {
    return FieldError("eventName", "missing; expected the API action, like CreateUser");
  }
  if (!r.has_event_time && !r.has_timestamp) {
    return FieldError("eventTime", "missing; expected an RFC 3339 time (or @timestamp)");
  }
  if (!r.has_identity) return FieldError("userIdentity", "missing; expected the caller");
  const std::string_view caller = Caller(r);
  if (caller.empty()) {
    return FieldError("userIdentity",
                      "expected one of arn, invokedBy, principalId or accountId to name the caller");
  }

  Event event;
  event.time_ns = r.has_event_time ? r.event_time : r.timestamp;
  event.kind = Kind::kApi;
  event.entity = symbols.Intern(caller);
  event.group = symbols.Intern(r.account_id.empty() ? r.recipient_account : r.account_id);
  subject_.clear();
  absl::StrAppend(&subject_, ToAbsl(r.event_source), ":", ToAbsl(r.event_name));
  event.subject = symbols.Intern(subject_);
  event.actor = symbols.Intern(r.invoked_by.empty() ? r.source_ip : r.invoked_by);
  event.has_status = true;
  if (!r.error_code.empty()) {
    event.status = CloudTrailErrorStatus(r.error_code);
  } else if (r.console_login == "Failure") {
    event.status = 401;
  }
  out->push_back(event);
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<RecordDecoder> NewCloudTrailDecoder() {
  return std::make_unique<CloudTrailDecoder>();
}

int32_t CloudTrailErrorStatus(std::string_view error_code) {
  const absl::string_view code = ToAbsl(error_code);
  // Error codes are CamelCase names ("Client.UnauthorizedOperation",
  // "ThrottlingException"); matching parts of them covers the services'
  // variants.
  auto has = [&](absl::string_view part) { return absl::StrContains(code, part); };
  if (has("AccessDenied") || has("Unauthorized") || has("Forbidden")) return 403;
  if (has("NotFound") || has("NoSuch")) return 404;
  if (has("Throttl") || has("RequestLimitExceeded") || has("TooManyRequests")) return 429;
  if (has("InternalError") || has("InternalFailure") || has("ServiceUnavailable")) return 500;
  return 400;
}

std::string_view CallerOfArn(std::string_view arn) {
  constexpr std::string_view kAssumedRole = ":assumed-role/";
  const size_t role = arn.find(kAssumedRole);
  if (role == std::string_view::npos) return arn;
  const size_t session = arn.find('/', role + kAssumedRole.size());
  return session == std::string_view::npos ? arn : arn.substr(0, session);
}

}  // namespace timescan::internal
