#include "readers/format_detect.h"

#include <string>

#include "absl/strings/match.h"
#include "absl_compat.h"
#include "readers/proto_stream.h"
#include "simdjson.h"

namespace timescan::internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t FirstNonSpace(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && IsSpace(text[i])) ++i;
  return i;
}

// What the top-level keys of a record say about its format.
struct KeySigns {
  bool output_fields = false, rule = false, priority = false;
  bool tetragon_event = false;
  bool cloudtrail = false;

  void Add(std::string_view key) {
    if (key == "output_fields") output_fields = true;
    else if (key == "rule") rule = true;
    else if (key == "priority") priority = true;
    else if (absl::StartsWith(ToAbsl(key), "process_") || key == "rate_limit_info")
      tetragon_event = true;
    else if (key == "eventSource" || key == "eventName" || key == "userIdentity" ||
             key == "eventVersion" || key == "Records")
      cloudtrail = true;
  }

  Format Decide() const {
    if (output_fields || (rule && priority)) return Format::kFalco;
    if (tetragon_event) return Format::kTetragon;
    if (cloudtrail) return Format::kCloudTrail;
    return Format::kNative;
  }
};

// Reads the top-level keys of the JSON object `line`. Returns false when it
// does not parse to its end (cut by the detection window, or not JSON).
bool ReadTopLevelKeys(std::string_view line, KeySigns* signs) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return false;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return false;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (std::move(field_result).get(field)) return false;
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    signs->Add(key);
  }
  return true;
}

// Looks for quoted keys in text that could not be parsed.
void FindKeysInText(std::string_view text, KeySigns* signs) {
  const absl::string_view t = ToAbsl(text);
  for (std::string_view key : {"output_fields", "rule", "priority", "process_exec",
                               "process_exit", "process_kprobe", "eventSource", "eventName",
                               "userIdentity", "eventVersion", "Records"}) {
    if (absl::StrContains(t, absl::StrCat("\"", ToAbsl(key), "\""))) signs->Add(key);
  }
}

}  // namespace

bool IsMultiLineDocument(std::string_view head) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = FirstNonSpace(head); i < head.size(); ++i) {
    const char c = head[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      else if (c == '\n') return false;  // not JSON; let the decoder say so
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '{': case '[': ++depth; break;
      case '}': case ']': if (depth > 0) --depth; break;
      case '\n': return depth > 0;
      default: break;
    }
    if (depth == 0 && (c == '}' || c == ']')) return false;
  }
  return false;  // the first line fills the window: read it as a line
}

bool HeadDecidesFormat(std::string_view head) {
  const size_t start = FirstNonSpace(head);
  if (start == head.size() || head[start] != '{') return false;
  if (head.find('\n', start) == std::string_view::npos) return false;
  // A protobuf stream's first byte is a length: '{' would be 123 bytes of
  // message, with a tag next that a JSON line never has.
  return !LooksLikeProtoStream(head) && !IsMultiLineDocument(head);
}

Format DetectFormat(std::string_view head) {
  if (LooksLikeProtoStream(head)) return Format::kProto;
  const size_t start = FirstNonSpace(head);
  if (start == head.size()) return Format::kNative;
  const char first = head[start];
  if (first == '[') return Format::kCloudTrail;
  if (first != '{') return Format::kCsv;
  KeySigns signs;
  if (IsMultiLineDocument(head)) {
    FindKeysInText(head, &signs);
    return signs.cloudtrail ? Format::kCloudTrail : Format::kNative;
  }
  const size_t newline = head.find('\n', start);
  const std::string_view line =
      head.substr(start, newline == std::string_view::npos ? std::string_view::npos
                                                           : newline - start);
  if (!ReadTopLevelKeys(line, &signs)) FindKeysInText(line, &signs);
  return signs.Decide();
}

}  // namespace timescan::internal
