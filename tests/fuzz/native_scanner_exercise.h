// The native JSONL decoder's fast scanner must never change a result: for
// any line, Decode() (scanner first) and DecodeWithSimdjson() give the same
// status and the same event. Shared by the differential fuzzer
// (native_scanner_fuzzer.cc) and readers_test, which replays lines.

#ifndef TIMESCAN_TESTS_FUZZ_NATIVE_SCANNER_EXERCISE_H_
#define TIMESCAN_TESTS_FUZZ_NATIVE_SCANNER_EXERCISE_H_

#include <cstring>
#include <string>
#include <string_view>

#include "readers/native_jsonl.h"
#include "timescan/symbol_table.h"

namespace timescan::testing_util {

// Returns "" when both paths agree on `line`, else what differed.
inline std::string CompareScannerWithSimdjson(std::string_view line) {
  if (internal::IsBlankLine(line)) return "";  // callers skip blank lines
  SymbolTable scanned_symbols, reference_symbols;
  internal::NativeJsonDecoder scanned_decoder, reference_decoder;
  Event scanned, reference;
  const absl::Status a = scanned_decoder.Decode(line, /*padded=*/false, scanned_symbols, &scanned);
  const absl::Status b =
      reference_decoder.DecodeWithSimdjson(line, /*padded=*/false, reference_symbols, &reference);
  if (a.code() != b.code() || a.message() != b.message()) {
    return "status: scanner " + a.ToString() + ", simdjson " + b.ToString();
  }
  if (!a.ok()) return "";
  auto names_differ = [&](Symbol x, Symbol y) {
    return scanned_symbols.Name(x) != reference_symbols.Name(y);
  };
  if (scanned.time_ns != reference.time_ns) return "time_ns";
  if (scanned.kind != reference.kind) return "kind";
  if (names_differ(scanned.entity, reference.entity)) return "entity";
  if (names_differ(scanned.group, reference.group)) return "group";
  if (names_differ(scanned.subject, reference.subject)) return "subject";
  if (names_differ(scanned.actor, reference.actor)) return "actor";
  if (scanned.has_value != reference.has_value ||
      std::memcmp(&scanned.value, &reference.value, sizeof(double)) != 0) {
    return "value";
  }
  if (scanned.has_status != reference.has_status || scanned.status != reference.status) {
    return "status";
  }
  return "";
}

}  // namespace timescan::testing_util

#endif  // TIMESCAN_TESTS_FUZZ_NATIVE_SCANNER_EXERCISE_H_
