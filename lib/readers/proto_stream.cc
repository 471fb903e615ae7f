#include "readers/proto_stream.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "readers/json_fields.h"
#include "simdjson.h"

#include "timescan/v1/event.pb.h"

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
  // Any decoding other than malformed bytes means a message.
  SymbolTable symbols;
  Event event;
  ProtoEventDecoder decoder;
  const absl::Status status = decoder.Decode(head.substr(prefix, length), symbols, &event);
  return status.ok() || !absl::StartsWith(status.message(), "expected a timescan.v1.Event");
}

namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kStartGroup = 3,
                kEndGroup = 4, kFixed32 = 5 };

// Nesting of unknown groups, as protobuf's default recursion limit.
constexpr int kMaxGroupDepth = 100;

// Reads the wire format the way protobuf's generated parser does: tags take
// at most 5 bytes and other varints at most 10, bits beyond 32 (tags) or 64
// are dropped, and field number 0 is invalid.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return pos_ == bytes_.size(); }

  bool ReadVarint(int max_bytes, uint64_t* out) {
    uint64_t value = 0;
    for (int i = 0; i < max_bytes && pos_ < bytes_.size(); ++i) {
      const auto byte = static_cast<uint8_t>(bytes_[pos_++]);
      if (i < 10) value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  // Reads a tag; false when malformed or of field number 0.
  bool ReadTag(uint32_t* tag) {
    uint64_t value = 0;
    if (!ReadVarint(5, &value)) return false;
    *tag = static_cast<uint32_t>(value);
    return (*tag >> 3) != 0;
  }

  bool ReadFixed(size_t bytes, uint64_t* out) {
    if (bytes_.size() - pos_ < bytes) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    *out = value;
    return true;
  }

  // Reads a length-delimited value as a view of the input.
  bool ReadBytes(std::string_view* out) {
    uint64_t length = 0;
    if (!ReadVarint(5, &length) || length > bytes_.size() - pos_) return false;
    *out = bytes_.substr(pos_, length);
    pos_ += length;
    return true;
  }

  // Skips the value of an unknown field with `tag`, as protobuf keeps
  // unknown fields without failing.
  bool SkipField(uint32_t tag, int depth) {
    uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (tag & 7) {
      case kVarint: return ReadVarint(10, &ignored);
      case kFixed64: return ReadFixed(8, &ignored);
      case kFixed32: return ReadFixed(4, &ignored);
      case kLengthDelimited: return ReadBytes(&ignored_bytes);
      case kStartGroup:
        if (depth >= kMaxGroupDepth) return false;
        while (true) {
          uint32_t inner = 0;
          if (!ReadTag(&inner)) return false;
          if ((inner & 7) == kEndGroup) return (inner >> 3) == (tag >> 3);
          if (!SkipField(inner, depth + 1)) return false;
        }
      default:
        return false;  // an end group without its start, or types 6 and 7
    }
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status ProtoEventDecoder::Decode(std::string_view message, SymbolTable& symbols,
                                       Event* event) {
  auto malformed = [] {
    return absl::InvalidArgumentError("expected a timescan.v1.Event message: malformed wire data");
  };
  WireReader in(message);
  Event out;
  int64_t time_ns = 0;
  int32_t kind = 0;
  // Strings are views into `message`: nothing is copied before interning.
  std::string_view entity, group, subject, actor;
  while (!in.done()) {
    uint32_t tag = 0;
    if (!in.ReadTag(&tag)) return malformed();
    uint64_t number = 0;
    std::string_view* text = nullptr;
    std::string_view name;
    switch (tag) {
      case (1 << 3) | kVarint:  // int64 time_ns
        if (!in.ReadVarint(10, &number)) return malformed();
        time_ns = static_cast<int64_t>(number);
        continue;
      case (2 << 3) | kLengthDelimited: text = &entity; name = "entity"; break;
      case (3 << 3) | kLengthDelimited: text = &group; name = "group"; break;
      case (4 << 3) | kVarint:  // Kind kind: an open enum, any int32
        if (!in.ReadVarint(10, &number)) return malformed();
        kind = static_cast<int32_t>(number);
        continue;
      case (5 << 3) | kLengthDelimited: text = &subject; name = "subject"; break;
      case (6 << 3) | kLengthDelimited: text = &actor; name = "actor"; break;
      case (7 << 3) | kFixed64:  // optional double value
        if (!in.ReadFixed(8, &number)) return malformed();
        std::memcpy(&out.value, &number, sizeof(double));
        out.has_value = true;
        continue;
      case (8 << 3) | kVarint:  // optional int32 status
        if (!in.ReadVarint(10, &number)) return malformed();
        out.status = static_cast<int32_t>(number);
        out.has_status = true;
        continue;
      default:
        if (!in.SkipField(tag, 0)) return malformed();
        continue;
    }
    if (!in.ReadBytes(text)) return malformed();
    // Every occurrence is checked, as protobuf checks it, even one that a
    // later occurrence of the field replaces.
    if (!simdjson::validate_utf8(text->data(), text->size())) {
      return FieldError(name, "expected UTF-8 text (a protobuf string)");
    }
  }
  if (time_ns < 0) {
    return absl::OutOfRangeError(
        absl::StrCat("field 'time_ns': ", time_ns, " is before 1970-01-01T00:00:00Z"));
  }
  if (entity.empty()) return FieldError("entity", "missing or empty; expected the container id");
  if (kind < 0 || kind >= kKindCount) {
    return FieldError("kind", absl::StrCat("expected 0..", kKindCount - 1,
                                           " (KIND_EXEC..KIND_METRIC), got ", kind));
  }
  if (out.has_value && !std::isfinite(out.value)) {
    return FieldError("value", "expected a finite number, got NaN or infinity");
  }
  out.time_ns = time_ns;
  out.kind = static_cast<Kind>(kind);
  out.entity = symbols.Intern(entity);
  out.group = symbols.Intern(group);
  out.subject = symbols.Intern(subject);
  out.actor = symbols.Intern(actor);
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
