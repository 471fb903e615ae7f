// libFuzzer target for ProtoEventDecoder, one timescan.v1.Event message
// without framing. Differential: the decoder reads the wire format itself,
// so it must agree with protobuf's generated parser on every input: accept
// what the parser accepts (unless the event is invalid for timescan: no
// entity, time before 1970, kind out of range, NaN), reject what it rejects,
// and give the same fields. An accepted event must also survive a write and
// a second read.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "readers/proto_stream.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

#include "timescan/v1/event.pb.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool SameEvent(const timescan::Event& a, const timescan::Event& b) {
  return a.time_ns == b.time_ns && a.entity == b.entity && a.group == b.group &&
         a.kind == b.kind && a.subject == b.subject && a.actor == b.actor &&
         a.has_value == b.has_value && a.has_status == b.has_status && a.status == b.status &&
         std::memcmp(&a.value, &b.value, sizeof(double)) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The generated parser logs each invalid UTF-8 string.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timescan::SymbolTable symbols;
  timescan::internal::ProtoEventDecoder decoder;
  timescan::Event event;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const absl::Status status = decoder.Decode(message, symbols, &event);

  timescan::v1::Event reference;
  const bool parsed = reference.ParseFromArray(data, static_cast<int>(size));
  const bool valid_for_timescan =
      parsed && reference.time_ns() >= 0 && !reference.entity().empty() &&
      static_cast<int>(reference.kind()) >= 0 &&
      static_cast<int>(reference.kind()) < timescan::kKindCount &&
      (!reference.has_value() || std::isfinite(reference.value()));
  Check(status.ok() == valid_for_timescan);
  if (!status.ok()) return 0;

  Check(symbols.Name(event.entity) == reference.entity());
  Check(symbols.Name(event.group) == reference.group());
  Check(symbols.Name(event.subject) == reference.subject());
  Check(symbols.Name(event.actor) == reference.actor());
  Check(event.time_ns == reference.time_ns());
  Check(static_cast<int>(event.kind) == static_cast<int>(reference.kind()));
  Check(event.has_value == reference.has_value());
  Check(!event.has_value || event.value == reference.value());
  Check(event.has_status == reference.has_status());
  Check(!event.has_status || event.status == reference.status());

  std::string stream;
  timescan::internal::AppendDelimitedEvent(event, symbols, &stream);
  uint64_t length = 0;
  size_t prefix = 0;
  Check(timescan::internal::ParseLengthPrefix(stream, &length, &prefix) ==
        timescan::internal::PrefixResult::kOk);
  Check(prefix + length == stream.size());
  timescan::Event again;
  Check(decoder.Decode(std::string_view(stream).substr(prefix), symbols, &again).ok());
  Check(SameEvent(again, event));
  return 0;
}
