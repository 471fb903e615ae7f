#include "readers/proto_stream.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"
#include "readers/json_fields.h"

// protobuf_generate writes the header under the proto's path relative to
// the source tree; accept both layouts of the build directory.
#if __has_include("timescan/v1/event.pb.h")
#include "timescan/v1/event.pb.h"
#else
#include "proto/timescan/v1/event.pb.h"
#endif

namespace timescan::internal {
namespace {

// Wire tags of the first fields: field 1 (time_ns) varint, field 2 (entity)
// length-delimited.
constexpr unsigned char kTimeTag = 0x08;
constexpr unsigned char kEntityTag = 0x12;

}  // namespace

PrefixResult ParseLengthPrefix(std::string_view bytes, uint64_t* length, size_t* prefix_bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxLengthPrefixBytes; ++i) {
    if (i >= bytes.size()) return PrefixResult::kNeedMore;
    const auto byte = static_cast<unsigned char>(bytes[i]);
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (value > std::numeric_limits<uint32_t>::max()) return PrefixResult::kMalformed;
      *length = value;
      *prefix_bytes = i + 1;
      return PrefixResult::kOk;
    }
  }
  return PrefixResult::kMalformed;
}

bool LooksLikeProtoStream(std::string_view head) {
  uint64_t length = 0;
  size_t prefix = 0;
  if (ParseLengthPrefix(head, &length, &prefix) != PrefixResult::kOk) return false;
  if (length == 0 || prefix >= head.size()) return false;
  const auto tag = static_cast<unsigned char>(head[prefix]);
  if (tag != kTimeTag && tag != kEntityTag) return false;
  if (prefix + length > head.size()) return true;  // cannot check further
  ProtoEventDecoder decoder;
  return decoder.Parse(head.substr(prefix, length));
}

ProtoEventDecoder::ProtoEventDecoder() : proto_(std::make_unique<timescan::v1::Event>()) {}
ProtoEventDecoder::~ProtoEventDecoder() = default;

bool ProtoEventDecoder::Parse(std::string_view message) {
  if (message.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  // libprotobuf logs an ERROR to stderr for each string with invalid UTF-8;
  // here that is hostile input, reported once through the returned status.
  google::protobuf::LogSilencer silence;
  return proto_->ParseFromArray(message.data(), static_cast<int>(message.size()));
}

absl::Status ProtoEventDecoder::Decode(std::string_view message, SymbolTable& symbols,
                                       Event* event) {
  if (!Parse(message)) {
    return absl::InvalidArgumentError(
        "expected a timescan.v1.Event message: malformed wire data or invalid UTF-8 in a string");
  }
  const timescan::v1::Event& p = *proto_;
  if (p.time_ns() < 0) {
    return absl::OutOfRangeError(
        absl::StrCat("field 'time_ns': ", p.time_ns(), " is before 1970-01-01T00:00:00Z"));
  }
  if (p.entity().empty()) return FieldError("entity", "missing or empty; expected the container id");
  const int kind = static_cast<int>(p.kind());
  if (kind < 0 || kind >= kKindCount) {
    return FieldError("kind", absl::StrCat("expected 0..", kKindCount - 1,
                                           " (KIND_EXEC..KIND_METRIC), got ", kind));
  }
  if (p.has_value() && !std::isfinite(p.value())) {
    return FieldError("value", "expected a finite number, got NaN or infinity");
  }
  Event out;
  out.time_ns = p.time_ns();
  out.kind = static_cast<Kind>(kind);
  out.entity = symbols.Intern(p.entity());
  out.group = symbols.Intern(p.group());
  out.subject = symbols.Intern(p.subject());
  out.actor = symbols.Intern(p.actor());
  if (p.has_value()) {
    out.value = p.value();
    out.has_value = true;
  }
  if (p.has_status()) {
    out.status = p.status();
    out.has_status = true;
  }
  *event = out;
  return absl::OkStatus();
}

void AppendDelimitedEvent(const Event& event, const SymbolTable& symbols, std::string* out) {
  timescan::v1::Event p;
  p.set_time_ns(event.time_ns);
  p.set_entity(std::string(symbols.Name(event.entity)));
  p.set_group(std::string(symbols.Name(event.group)));
  p.set_kind(static_cast<timescan::v1::Kind>(event.kind));
  p.set_subject(std::string(symbols.Name(event.subject)));
  p.set_actor(std::string(symbols.Name(event.actor)));
  if (event.has_value) p.set_value(event.value);
  if (event.has_status) p.set_status(event.status);
  const size_t size = p.ByteSizeLong();
  uint8_t prefix[kMaxLengthPrefixBytes + 5];
  uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(size), prefix);
  out->append(reinterpret_cast<const char*>(prefix), end - prefix);
  const size_t start = out->size();
  out->resize(start + size);
  p.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + start));
}

}  // namespace timescan::internal
