// Decoder of timescan's native JSONL event schema (see README, "Event
// schema"). Lines as sensors and timescan write them (one flat object, plain
// ASCII strings without escapes, JSON numbers) are read by a scanner that
// accepts only that subset; every other line, and every line with an error,
// goes to simdjson On-Demand, which decides and words the error. The scanner
// therefore never changes a result, only its cost: simdjson's per-field
// machinery costs about twice the scan (tests/readers/native_jsonl_test.cc
// holds the two to the same results). Strings are interned only once the
// whole line is known to be valid.

#ifndef TIMESCAN_LIB_READERS_NATIVE_JSONL_H_
#define TIMESCAN_LIB_READERS_NATIVE_JSONL_H_

#include <cstdint>
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

  // Decode() without the scanner: the reference the scanner must agree with.
  absl::Status DecodeWithSimdjson(std::string_view line, bool padded, SymbolTable& symbols,
                                  Event* event);

  // Lines the scanner decoded (the rest went to simdjson).
  uint64_t scanned_lines() const { return scanned_lines_; }

  // The fields of one line, as read, before the schema's checks. Only
  // `seen` and `given` are reset between lines (zeroing the whole struct
  // cost a `rep stos` per line): a string, `value` or `status` holds this
  // line's value only when its bit is in `given`, `time_ns` when in `seen`.
  struct Fields {
    uint32_t seen = 0;   // FieldBit of every field present, null included
    uint32_t given = 0;  // FieldBit of every field present and not null
    int64_t time_ns = 0;
    std::string_view entity, group, kind_name, subject, actor;
    double value = 0;
    int32_t status = 0;
  };

  // The last RFC 3339 time read, up to its seconds ("2026-11-02T10:00:00"),
  // and their value in nanoseconds (-1: none yet). A stream's times share
  // their second for many lines; then only ".123Z" is left to read.
  struct SecondMemo {
    char prefix[19];
    int64_t seconds_ns = -1;
  };

 private:
  // The schema's checks after a line was read, then interning.
  absl::Status Finish(const Fields& fields, SymbolTable& symbols, Event* event);

  simdjson::ondemand::parser parser_;
  Fields scanned_;  // the scanner's, reused from line to line
  std::string padded_copy_;
  InternCache interned_;
  SecondMemo second_memo_;
  uint64_t scanned_lines_ = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_NATIVE_JSONL_H_
