#include "readers/native_jsonl.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "timescan/timestamps.h"

namespace timescan::internal {
namespace {

using simdjson::ondemand::json_type;

enum FieldBit : uint32_t {
  kTimeBit = 1, kEntityBit = 2, kGroupBit = 4, kKindBit = 8,
  kSubjectBit = 16, kActorBit = 32, kValueBit = 64, kStatusBit = 128,
};

constexpr std::string_view kKindsExpected =
    "one of exec, exit, connect, accept, request, api, file, syscall, metric";

}  // namespace

bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

std::string_view JsonErrorText(simdjson::error_code error) {
  return simdjson::error_message(error);
}

absl::Status NativeJsonDecoder::Decode(std::string_view line, bool padded,
                                       SymbolTable& symbols, Event* event) {
  simdjson::padded_string_view input;
  if (padded) {
    input = simdjson::padded_string_view(line.data(), line.size(),
                                         line.size() + simdjson::SIMDJSON_PADDING);
  } else {
    padded_copy_.assign(line);
    padded_copy_.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
    input = simdjson::padded_string_view(padded_copy_.data(), line.size(), padded_copy_.size());
  }
  auto not_json = [](simdjson::error_code e) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one JSON object per line: ", ToAbsl(JsonErrorText(e))));
  };

  simdjson::ondemand::document doc;
  if (auto e = parser_.iterate(input).get(doc); e) return not_json(e);
  simdjson::ondemand::object object;
  if (auto e = doc.get_object().get(object); e) return not_json(e);

  uint32_t seen = 0;
  std::string_view entity, group, subject, actor, kind_name;
  Event out;
  for (auto field_result : object) {
    if (auto e = field_result.error(); e) return not_json(e);
    simdjson::ondemand::field field = field_result.value_unsafe();
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return not_json(e);
    simdjson::ondemand::value value = field.value();

    auto mark = [&](FieldBit bit) -> absl::Status {
      if (seen & bit) {
        return FieldError(key, "appears twice; expected each field at most once");
      }
      seen |= bit;
      return absl::OkStatus();
    };
    // Reads a string field; null counts as absent.
    auto read_string = [&](FieldBit bit, std::string_view* out_text) -> absl::Status {
      if (auto s = mark(bit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) return CheckNull(value, key);
      if (type != json_type::string) {
        return FieldError(key, absl::StrCat("expected a string, got ", ToAbsl(JsonTypeName(type))));
      }
      if (auto e = value.get_string().get(*out_text); e) return FieldError(key, JsonErrorText(e));
      return absl::OkStatus();
    };

    if (key == "time") {
      if (auto s = mark(kTimeBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::string) {
        std::string_view text;
        if (auto e = value.get_string().get(text); e) return FieldError(key, JsonErrorText(e));
        absl::StatusOr<int64_t> t = ParseRfc3339(text);
        if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("field 'time': ", t.status().message()));
        out.time_ns = *t;
      } else if (type == json_type::number) {
        double seconds;
        if (auto e = value.get_double().get(seconds); e) {
          return FieldError(key, absl::StrCat("expected unix seconds as a finite number: ",
                                              ToAbsl(JsonErrorText(e))));
        }
        absl::StatusOr<int64_t> t = UnixSecondsToNanos(seconds);
        if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("field 'time': ", t.status().message()));
        out.time_ns = *t;
      } else {
        return FieldError(key, absl::StrCat("expected an RFC 3339 string or unix seconds, got ",
                                            ToAbsl(JsonTypeName(type))));
      }
    } else if (key == "entity") {
      if (auto s = read_string(kEntityBit, &entity); !s.ok()) return s;
    } else if (key == "group") {
      if (auto s = read_string(kGroupBit, &group); !s.ok()) return s;
    } else if (key == "kind") {
      if (auto s = read_string(kKindBit, &kind_name); !s.ok()) return s;
    } else if (key == "subject") {
      if (auto s = read_string(kSubjectBit, &subject); !s.ok()) return s;
    } else if (key == "actor") {
      if (auto s = read_string(kActorBit, &actor); !s.ok()) return s;
    } else if (key == "value") {
      if (auto s = mark(kValueBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) {
        if (absl::Status s = CheckNull(value, key); !s.ok()) return s;
        continue;
      }
      if (type != json_type::number) {
        return FieldError(key, absl::StrCat("expected a number, got ", ToAbsl(JsonTypeName(type))));
      }
      double v;
      if (auto e = value.get_double().get(v); e || !std::isfinite(v)) {
        return FieldError(key, "expected a finite number (a double)");
      }
      out.value = v;
      out.has_value = true;
    } else if (key == "status") {
      if (auto s = mark(kStatusBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) {
        if (absl::Status s = CheckNull(value, key); !s.ok()) return s;
        continue;
      }
      if (type != json_type::number) {
        return FieldError(key, absl::StrCat("expected an integer, got ", ToAbsl(JsonTypeName(type))));
      }
      int64_t v;
      if (auto e = value.get_int64().get(v); e || v < std::numeric_limits<int32_t>::min() ||
                                             v > std::numeric_limits<int32_t>::max()) {
        return FieldError(key, "expected an integer in the 32-bit range");
      }
      out.status = static_cast<int32_t>(v);
      out.has_status = true;
    }
    // Unknown fields are ignored; On-Demand skips their values.
  }
  // simdjson 3.0 has no document::at_end(): a location inside the input
  // means bytes follow the object.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError("expected the line to end after its JSON object");
  }
  if (!(seen & kTimeBit)) return FieldError("time", "missing; expected an RFC 3339 string or unix seconds");
  if (entity.empty()) return FieldError("entity", "missing or empty; expected the container id");
  if (!(seen & kKindBit) || kind_name.empty()) {
    return FieldError("kind", absl::StrCat("missing; expected ", ToAbsl(kKindsExpected)));
  }
  std::optional<Kind> kind = KindFromName(kind_name);
  if (!kind) {
    return FieldError("kind", absl::StrCat("expected ", ToAbsl(kKindsExpected), "; got ", QuotedForError(kind_name)));
  }
  out.kind = *kind;
  out.entity = interned_.Intern(symbols, entity);
  out.group = group.empty() ? kNoSymbol : interned_.Intern(symbols, group);
  out.subject = interned_.Intern(symbols, subject);
  out.actor = interned_.Intern(symbols, actor);
  *event = out;
  return absl::OkStatus();
}

}  // namespace timescan::internal
