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

// Two decoders fed the same lines, one through Decode(), one through
// DecodeWithSimdjson(): the scanner keeps state between lines (the second
// of the last time), so streams are compared, not only single lines.
class ScannerComparison {
 public:
  // Returns "" when both paths agree on `line`, else what differed.
  std::string Compare(std::string_view line) {
    if (internal::IsBlankLine(line)) return "";  // callers skip blank lines
    Event scanned, reference;
    const absl::Status a = scanned_decoder_.Decode(line, /*padded=*/false, scanned_symbols_, &scanned);
    const absl::Status b = reference_decoder_.DecodeWithSimdjson(line, /*padded=*/false,
                                                                 reference_symbols_, &reference);
    if (a.code() != b.code() || a.message() != b.message()) {
      return "status: scanner " + a.ToString() + ", simdjson " + b.ToString();
    }
    if (!a.ok()) return "";
    auto names_differ = [&](Symbol x, Symbol y) {
      return scanned_symbols_.Name(x) != reference_symbols_.Name(y);
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

  uint64_t scanned_lines() const { return scanned_decoder_.scanned_lines(); }

 private:
  SymbolTable scanned_symbols_, reference_symbols_;
  internal::NativeJsonDecoder scanned_decoder_, reference_decoder_;
};

// Compares one line with fresh decoders.
inline std::string CompareScannerWithSimdjson(std::string_view line) {
  return ScannerComparison().Compare(line);
}

}  // namespace timescan::testing_util

#endif  // TIMESCAN_TESTS_FUZZ_NATIVE_SCANNER_EXERCISE_H_
