// The length-delimited protobuf stream of timescan.v1.Event messages
// (proto/timescan/v1/event.proto): each message is preceded by its size as a
// varint, as protobuf's delimited format writes it. These functions frame
// and validate one message; EventReader does the reading.
//
//   std::string stream;
//   AppendDelimitedEvent(event, symbols, &stream);
//   ...
//   ProtoEventDecoder decoder;
//   absl::Status s = decoder.Decode(message_bytes, symbols, &event);

#ifndef TIMESCAN_LIB_READERS_PROTO_STREAM_H_
#define TIMESCAN_LIB_READERS_PROTO_STREAM_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan::internal {

// The longest varint a 32-bit message size takes.
inline constexpr size_t kMaxLengthPrefixBytes = 5;

enum class PrefixResult { kOk, kNeedMore, kMalformed };

// Reads the varint size prefix at the start of `bytes`. kOk sets `*length`
// and `*prefix_bytes`; kNeedMore: `bytes` ends inside the varint;
// kMalformed: longer than kMaxLengthPrefixBytes or above 2^32 - 1.
PrefixResult ParseLengthPrefix(std::string_view bytes, uint64_t* length, size_t* prefix_bytes);

// Returns whether `head` (the first bytes of an input) starts like a
// delimited Event stream: a size prefix, then the tag of field 1 (time_ns)
// or 2 (entity), bytes that text never starts with. When the whole first
// message is in `head`, it must also decode.
bool LooksLikeProtoStream(std::string_view head);

// Decodes and validates one message, reading the wire format directly:
// strings are validated (UTF-8, as protobuf requires of `string` fields) and
// interned without a copy, and hostile bytes produce a status rather than
// libprotobuf's log lines on stderr. Unknown fields are skipped as protobuf
// skips them; the fuzzer proto_decoder_fuzzer.cc checks it agrees with the
// generated parser. Stateless; thread-compatible.
class ProtoEventDecoder {
 public:
  // Decodes `message` into `event`. Returns kInvalidArgument for bytes that
  // are not an Event ("expected a timescan.v1.Event message: ..."), invalid
  // UTF-8 in a string, a missing entity, a kind outside the enum or a value
  // that is NaN or infinite, and kOutOfRange for a time before 1970.
  absl::Status Decode(std::string_view message, SymbolTable& symbols, Event* event);
};

// Appends `event` to `out` as a size-prefixed timescan.v1.Event; the
// symbols are resolved in `symbols`.
void AppendDelimitedEvent(const Event& event, const SymbolTable& symbols, std::string* out);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_PROTO_STREAM_H_
