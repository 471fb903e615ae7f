// libFuzzer target for ReaderOptions::decode_thread: for any bytes, the
// reader decoding on its own thread must give what the plain reader gives
// (the same events with the same symbols, errors in the same places, the
// same stats and symbol table), and must end. Run as docs/formats.md
// ("Fuzzing") shows.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "timescan/event.h"
#include "timescan/reader.h"
#include "timescan/symbol_table.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string> Transcript(const std::string& bytes, timescan::SymbolTable& symbols,
                                    bool decode_thread) {
  timescan::ReaderOptions options;
  options.max_line_bytes = 4096;
  options.max_document_bytes = 64 << 10;
  options.decode_thread = decode_thread;
  auto reader = timescan::EventReader::OpenBytes(bytes, "fuzz", symbols, options);
  Check(reader.ok());
  std::vector<std::string> lines;
  timescan::Event e;
  const bool gzip = bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b';
  const size_t max_calls = (gzip ? 1100 : 2) * bytes.size() + 16;
  for (size_t calls = 0;; ++calls) {
    Check(calls <= max_calls);
    absl::StatusOr<bool> got = (*reader)->Next(&e);
    const timescan::ReaderStats& s = (*reader)->stats();
    if (!got.ok()) {
      lines.push_back(absl::StrCat("error ", got.status().ToString(), " ", s.records, " ",
                                   s.events, " ", s.bad_records));
      continue;
    }
    if (!*got) break;
    lines.push_back(absl::StrCat(e.time_ns, " ", e.entity, " ", e.group, " ",
                                 static_cast<int>(e.kind), " ", e.subject, " ", e.actor, " ",
                                 e.has_value, " ", e.value, " ", e.has_status, " ", e.status));
  }
  const timescan::ReaderStats& s = (*reader)->stats();
  lines.push_back(absl::StrCat("end ", static_cast<int>((*reader)->format()), " ", s.records, " ",
                               s.events, " ", s.bad_records, " ", s.skipped.size()));
  for (const auto& [reason, n] : s.skipped) lines.push_back(absl::StrCat(reason, " ", n));
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  timescan::SymbolTable plain_symbols, threaded_symbols;
  Check(Transcript(bytes, plain_symbols, false) == Transcript(bytes, threaded_symbols, true));
  Check(plain_symbols.size() == threaded_symbols.size());
  for (size_t i = 0; i < plain_symbols.size(); ++i) {
    const auto s = static_cast<timescan::Symbol>(i);
    Check(plain_symbols.Name(s) == threaded_symbols.Name(s));
  }
  return 0;
}
