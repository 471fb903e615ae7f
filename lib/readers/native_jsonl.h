// Decoder of timescan's native JSONL event schema (see README, "Event
// schema"). simdjson On-Demand parses the line in place; strings are interned
// only once the whole line is known to be valid.

#ifndef TIMESCAN_LIB_READERS_NATIVE_JSONL_H_
#define TIMESCAN_LIB_READERS_NATIVE_JSONL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "readers/intern_cache.h"
#include "simdjson.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan::internal {

// Returns whether `line` holds only spaces, tabs and carriage returns.
bool IsBlankLine(std::string_view line);

// Returns simdjson's message for `error`, for "what was wrong" in errors.
std::string_view JsonErrorText(simdjson::error_code error);

class NativeJsonDecoder {
 public:
  NativeJsonDecoder() = default;
  NativeJsonDecoder(const NativeJsonDecoder&) = delete;
  NativeJsonDecoder& operator=(const NativeJsonDecoder&) = delete;

  // Decodes `line` into `event`. `padded`: at least SIMDJSON_PADDING readable
  // bytes follow the line (else it is copied first). Returns kInvalidArgument
  // "field 'kind': expected one of exec, exit, ...; got \"x\"" and similar,
  // or kOutOfRange for a time outside 1970..2262.
  // REQUIRES: `line` is not blank.
  absl::Status Decode(std::string_view line, bool padded, SymbolTable& symbols, Event* event);

 private:
  simdjson::ondemand::parser parser_;
  std::string padded_copy_;
  InternCache interned_;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_NATIVE_JSONL_H_
