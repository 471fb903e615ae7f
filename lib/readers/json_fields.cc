#include "readers/json_fields.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "timescan/timestamps.h"

namespace timescan::internal {

using simdjson::ondemand::json_type;

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("field '", ToAbsl(field), "': ", ToAbsl(what)));
}

absl::Status RecordJsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed JSON: ", simdjson::error_message(error)));
}

absl::Status JsonFieldError(std::string_view field, simdjson::error_code error) {
  return FieldError(field, simdjson::error_message(error));
}

std::string QuotedForError(std::string_view text) {
  constexpr size_t kShown = 80;
  std::string out =
      absl::StrCat("\"", absl::CHexEscape(ToAbsl(text.substr(0, kShown))), "\"");
  if (text.size() > kShown) absl::StrAppend(&out, "... (", text.size(), " bytes)");
  return out;
}

std::string_view JsonTypeName(json_type type) {
  switch (type) {
    case json_type::array: return "an array";
    case json_type::object: return "an object";
    case json_type::number: return "a number";
    case json_type::string: return "a string";
    case json_type::boolean: return "a boolean";
    case json_type::null: return "null";
  }
  return "an unknown value";
}

absl::Status IterateObject(simdjson::ondemand::parser& parser, std::string_view record,
                           bool padded, std::string* scratch, std::string_view what,
                           simdjson::ondemand::document* doc,
                           simdjson::ondemand::object* object) {
  simdjson::padded_string_view input;
  if (padded) {
    input = simdjson::padded_string_view(record.data(), record.size(),
                                         record.size() + simdjson::SIMDJSON_PADDING);
  } else {
    scratch->assign(record);
    scratch->resize(record.size() + simdjson::SIMDJSON_PADDING, '\0');
    input = simdjson::padded_string_view(scratch->data(), record.size(), scratch->size());
  }
  auto not_object = [&](simdjson::error_code e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", ToAbsl(what), ": ", simdjson::error_message(e)));
  };
  if (auto e = parser.iterate(input).get(*doc); e) return not_object(e);
  if (auto e = doc->get_object().get(*object); e) return not_object(e);
  return absl::OkStatus();
}

absl::Status ExpectDocumentEnd(simdjson::ondemand::document& doc) {
  // simdjson 3.0 has no document::at_end(): a location inside the input
  // means a token follows the root value.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError("expected the record to end after its JSON object");
  }
  return absl::OkStatus();
}

absl::Status CheckNull(simdjson::ondemand::value& value, std::string_view field) {
  bool is_null = false;
  if (auto e = value.is_null().get(is_null); e || !is_null) {
    return FieldError(field, "expected null or a value, got an invalid literal");
  }
  return absl::OkStatus();
}

absl::Status ReadOptionalString(simdjson::ondemand::value value, std::string_view field,
                                std::string_view* out) {
  json_type type;
  if (auto e = value.type().get(type); e) return JsonFieldError(field, e);
  if (type == json_type::null) {
    *out = {};
    return CheckNull(value, field);
  }
  if (type != json_type::string) {
    return FieldError(field, absl::StrCat("expected a string, got ", ToAbsl(JsonTypeName(type))));
  }
  if (auto e = value.get_string().get(*out); e) return JsonFieldError(field, e);
  return absl::OkStatus();
}

absl::Status ReadOptionalObject(simdjson::ondemand::value value, std::string_view field,
                                simdjson::ondemand::object* out, bool* present) {
  json_type type;
  if (auto e = value.type().get(type); e) return JsonFieldError(field, e);
  *present = false;
  if (type == json_type::null) return CheckNull(value, field);
  if (type != json_type::object) {
    return FieldError(field, absl::StrCat("expected an object, got ", ToAbsl(JsonTypeName(type))));
  }
  if (auto e = value.get_object().get(*out); e) return JsonFieldError(field, e);
  *present = true;
  return absl::OkStatus();
}

absl::Status ReadOptionalInteger(simdjson::ondemand::value value, std::string_view field,
                                 int64_t min, int64_t max, int64_t* out, bool* present) {
  json_type type;
  if (auto e = value.type().get(type); e) return JsonFieldError(field, e);
  *present = false;
  if (type == json_type::null) return CheckNull(value, field);
  const std::string expected = absl::StrCat("expected an integer in ", min, "..", max);
  int64_t v = 0;
  if (type == json_type::number) {
    if (auto e = value.get_int64().get(v); e) {
      return FieldError(field, absl::StrCat(expected, ": ", simdjson::error_message(e)));
    }
  } else if (type == json_type::string) {
    std::string_view text;
    if (auto e = value.get_string().get(text); e) return JsonFieldError(field, e);
    if (!absl::SimpleAtoi(ToAbsl(text), &v)) {
      return FieldError(field, absl::StrCat(expected, ", got ", QuotedForError(text)));
    }
  } else {
    return FieldError(field, absl::StrCat(expected, ", got ", ToAbsl(JsonTypeName(type))));
  }
  if (v < min || v > max) return FieldError(field, absl::StrCat(expected, ", got ", v));
  *out = v;
  *present = true;
  return absl::OkStatus();
}

absl::Status ReadRfc3339(simdjson::ondemand::value value, std::string_view field,
                         int64_t* time_ns) {
  json_type type;
  if (auto e = value.type().get(type); e) return JsonFieldError(field, e);
  if (type != json_type::string) {
    return FieldError(field, absl::StrCat("expected an RFC 3339 time string, got ",
                                          ToAbsl(JsonTypeName(type))));
  }
  std::string_view text;
  if (auto e = value.get_string().get(text); e) return JsonFieldError(field, e);
  absl::StatusOr<int64_t> t = ParseRfc3339(text);
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat("field '", ToAbsl(field), "': ", t.status().message()));
  }
  *time_ns = *t;
  return absl::OkStatus();
}

absl::Status SeenFields::Mark(int bit, std::string_view field) {
  const uint64_t mask = uint64_t{1} << bit;
  if (seen_ & mask) return FieldError(field, "appears twice; expected each field at most once");
  seen_ |= mask;
  return absl::OkStatus();
}

std::string_view ShortContainerId(std::string_view id) {
  if (const size_t scheme = id.find("://"); scheme != std::string_view::npos) {
    id.remove_prefix(scheme + 3);
  }
  constexpr size_t kShortIdLength = 12;
  if (id.size() <= kShortIdLength) return id;
  for (char c : id) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return id;
  }
  return id.substr(0, kShortIdLength);
}

std::string_view ImageRepository(std::string_view image) {
  image = image.substr(0, image.find('@'));
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    image = image.substr(0, colon);
  }
  return image;
}

std::string HostEntity(std::string_view host_name) {
  if (host_name.empty()) return std::string(kHostGroup);
  return absl::StrCat(ToAbsl(kHostGroup), ":", ToAbsl(host_name));
}

}  // namespace timescan::internal
