// Helpers shared by the sensor decoders (Falco, Tetragon, CloudTrail): typed
// reads of simdjson On-Demand values with errors that name the field and say
// what was expected, and the normalisations every container sensor needs
// (short container ids, image repositories).
//
//   simdjson::ondemand::document doc;
//   RETURN_IF_ERROR(IterateRecord(parser, line, padded, &scratch, &doc));
//   ...
//   std::string_view id;
//   RETURN_IF_ERROR(ReadOptionalString(value, "output_fields.container.id", &id));
//
// Views returned by the Read* functions point into the parser's string
// buffer and stay valid until the parser parses the next record.

#ifndef TIMESCAN_LIB_READERS_JSON_FIELDS_H_
#define TIMESCAN_LIB_READERS_JSON_FIELDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "simdjson.h"

namespace timescan::internal {

// Returns kInvalidArgument "field '<field>': <what>".
absl::Status FieldError(std::string_view field, std::string_view what);

// Returns `text` quoted and C-escaped for an error message, cut to 80 bytes
// with its full length noted, so hostile input cannot flood a log.
std::string QuotedForError(std::string_view text);

// Returns "a string", "an object", ... for "expected X, got Y" messages.
std::string_view JsonTypeName(simdjson::ondemand::json_type type);

// Starts On-Demand iteration of one record. `padded`: SIMDJSON_PADDING
// readable bytes follow `record`; otherwise it is copied into `scratch`.
// Returns kInvalidArgument "expected a JSON object: <simdjson reason>" when
// the record is not an object; `what` names the record ("one JSON object per
// line").
absl::Status IterateObject(simdjson::ondemand::parser& parser, std::string_view record,
                           bool padded, std::string* scratch, std::string_view what,
                           simdjson::ondemand::document* doc,
                           simdjson::ondemand::object* object);

// Returns an error when bytes other than whitespace follow the document's
// root value. Call after the root object was iterated to its end.
absl::Status ExpectDocumentEnd(simdjson::ondemand::document& doc);

// Validates a value whose type() is null: type() looks only at the first
// byte, so "nan" or "nul" would otherwise pass for null.
absl::Status CheckNull(simdjson::ondemand::value& value, std::string_view field);

// Reads a string; null reads as "" (absent). Other types are an error.
absl::Status ReadOptionalString(simdjson::ondemand::value value, std::string_view field,
                                std::string_view* out);

// Reads an object; null reads as absent (`*present` false).
absl::Status ReadOptionalObject(simdjson::ondemand::value value, std::string_view field,
                                simdjson::ondemand::object* out, bool* present);

// Reads an integer in [min, max]; a JSON string holding a decimal integer
// is accepted too (protobuf's JSON mapping writes 64-bit integers as
// strings). Null reads as absent (`*present` false).
absl::Status ReadOptionalInteger(simdjson::ondemand::value value, std::string_view field,
                                 int64_t min, int64_t max, int64_t* out, bool* present);

// Reads an RFC 3339 time string into nanoseconds since the epoch. Errors
// keep ParseRfc3339's code (kOutOfRange before 1970 or after 2262).
absl::Status ReadRfc3339(simdjson::ondemand::value value, std::string_view field,
                         int64_t* time_ns);

// Calls `on_field(key, value)`, returning absl::Status, for each field of
// `object` in order, and stops at the first error. Errors of the JSON itself
// name `where`, the object's path ("" for a record's top level).
template <typename OnField>
absl::Status ForEachField(simdjson::ondemand::object& object, std::string_view where,
                          OnField on_field);

// Returns kInvalidArgument "malformed JSON: <reason>" for a simdjson error
// met while iterating a record's top-level fields.
absl::Status RecordJsonError(simdjson::error_code error);

// Wraps a simdjson error met while reading `field`.
absl::Status JsonFieldError(std::string_view field, simdjson::error_code error);

// Remembers which of up to 64 fields of one object were seen, so a duplicate
// key is an error rather than a silent "last one wins": JSON parsers
// disagree on duplicates, and an attacker can exploit the disagreement.
class SeenFields {
 public:
  // Returns an error naming `field` if `bit` (0..63) was marked before.
  absl::Status Mark(int bit, std::string_view field);

 private:
  uint64_t seen_ = 0;
};

// Returns the container id as sensors agree on it: a "docker://" or
// "containerd://" scheme removed, and a hexadecimal id longer than 12 digits
// cut to its first 12 (the short id Docker, Falco and kubectl show), so the
// same container has the same entity whichever sensor saw it.
std::string_view ShortContainerId(std::string_view id);

// Returns the repository of an image reference: "docker.io/library/nginx"
// for "docker.io/library/nginx:1.25@sha256:...". A ':' before the last '/'
// is a registry port and is kept.
std::string_view ImageRepository(std::string_view image);

// Returns "host:<name>", or "host" without a name: the entity of events of
// processes outside any container. All host processes of one machine are one
// entity, and the machines share the group kHostGroup.
std::string HostEntity(std::string_view host_name);

// The group of host processes.
inline constexpr std::string_view kHostGroup = "host";

// Implementation details.

template <typename OnField>
absl::Status ForEachField(simdjson::ondemand::object& object, std::string_view where,
                          OnField on_field) {
  auto json_error = [&](simdjson::error_code e) {
    return where.empty() ? RecordJsonError(e) : JsonFieldError(where, e);
  };
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return json_error(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return json_error(e);
    if (absl::Status s = on_field(key, field.value()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_JSON_FIELDS_H_
