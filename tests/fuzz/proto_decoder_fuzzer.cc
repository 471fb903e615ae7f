// libFuzzer target for ProtoEventDecoder, one timescan.v1.Event message
// without framing: any bytes must neither crash it nor yield an invalid
// event, and an event it accepts must survive a write and a second read
// unchanged.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "readers/proto_stream.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timescan::SymbolTable symbols;
  timescan::internal::ProtoEventDecoder decoder;
  timescan::Event event;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  if (!decoder.Decode(message, symbols, &event).ok()) return 0;
  Check(event.time_ns >= 0);
  Check(static_cast<int>(event.kind) < timescan::kKindCount);
  Check(event.entity != timescan::kNoSymbol);

  std::string stream;
  timescan::internal::AppendDelimitedEvent(event, symbols, &stream);
  uint64_t length = 0;
  size_t prefix = 0;
  Check(timescan::internal::ParseLengthPrefix(stream, &length, &prefix) ==
        timescan::internal::PrefixResult::kOk);
  Check(prefix + length == stream.size());
  timescan::Event again;
  Check(decoder.Decode(std::string_view(stream).substr(prefix), symbols, &again).ok());
  Check(again.time_ns == event.time_ns && again.entity == event.entity &&
        again.group == event.group && again.kind == event.kind &&
        again.subject == event.subject && again.actor == event.actor &&
        again.has_value == event.has_value && again.has_status == event.has_status &&
        again.status == event.status &&
        std::memcmp(&again.value, &event.value, sizeof(double)) == 0);
  return 0;
}
