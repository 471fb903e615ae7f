// libFuzzer target for one EventReader format (TIMESCAN_FUZZ_FORMAT, set by
// tests/fuzz/CMakeLists.txt): any bytes must neither crash nor hang the
// reader, every event it yields must be valid, and its counters must agree
// with what Next() returned. Run as docs/formats.md ("Fuzzing") shows.

#include <cstddef>
#include <cstdint>
#include <string>

#include "timescan/event.h"
#include "timescan/reader.h"
#include "timescan/symbol_table.h"

namespace {

constexpr timescan::Format kFormat = timescan::Format::TIMESCAN_FUZZ_FORMAT;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timescan::SymbolTable symbols;
  timescan::ReaderOptions options;
  options.format = kFormat;
  // Small limits, so that overlong lines, oversize messages and documents
  // over the limit are reached with small inputs.
  options.max_line_bytes = 4096;
  options.max_document_bytes = 64 << 10;
  auto reader = timescan::EventReader::OpenBytes(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz", symbols, options);
  Check(reader.ok());
  uint64_t events = 0, errors = 0;
  timescan::Event event;
  // Each call yields an event or an error for at least one byte of input,
  // or ends: more calls than that is a reader that does not end. Gzip input
  // inflates at most 1032 times (deflate's limit).
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const size_t max_calls = (gzip ? 1100 : 2) * size + 16;
  for (size_t calls = 0;; ++calls) {
    Check(calls <= max_calls);
    absl::StatusOr<bool> got = (*reader)->Next(&event);
    if (!got.ok()) {
      ++errors;
      continue;
    }
    if (!*got) break;
    ++events;
    Check(event.time_ns >= 0);
    Check(static_cast<int>(event.kind) >= 0 &&
          static_cast<int>(event.kind) < timescan::kKindCount);
    Check(event.entity != timescan::kNoSymbol && symbols.Contains(event.entity));
    Check(symbols.Contains(event.group) && symbols.Contains(event.subject) &&
          symbols.Contains(event.actor));
  }
  const timescan::ReaderStats& stats = (*reader)->stats();
  Check(stats.events == events);
  Check(stats.bad_records == errors);
  uint64_t skipped = 0;
  for (const auto& [reason, count] : stats.skipped) skipped += count;
  // A record gives events, a skip or an error; stream errors (a cut gzip)
  // are errors without a record.
  Check(skipped <= stats.records);
  Check(kFormat != timescan::Format::kAuto || (*reader)->format() != timescan::Format::kAuto ||
        events == 0);
  // Every record-level decoder gives at most one event per record.
  Check(events + skipped <= stats.records);
  return 0;
}
