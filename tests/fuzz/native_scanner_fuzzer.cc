// Differential libFuzzer target: every line of the input must decode to the
// same status and event through the native decoder's scanner and through
// simdjson alone (native_scanner_exercise.h), the lines of one input as one
// stream.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "native_scanner_exercise.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  timescan::testing_util::ScannerComparison comparison;
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    if (!comparison.Compare(line).empty()) __builtin_trap();
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  return 0;
}
