// Helpers for the reader tests: read a whole input into events, errors and
// stats, and print events in the golden-file format (one native JSONL line
// per event, keys in schema order, full nanosecond times).

#ifndef TIMESCAN_TESTS_READERS_READER_TEST_UTIL_H_
#define TIMESCAN_TESTS_READERS_READER_TEST_UTIL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "timescan/event.h"
#include "timescan/reader.h"
#include "timescan/symbol_table.h"

namespace timescan::testing_util {

// Everything a reader produced from one input.
struct ReadResult {
  absl::Status open_status;        // of Open/OpenBytes
  std::vector<Event> events;
  std::vector<absl::Status> errors;  // in order
  ReaderStats stats;
  Format format = Format::kAuto;
  int calls = 0;                   // calls to Next(), to prove it ends
};

// Reads `bytes` named `name` to its end (at most `max_calls` calls to
// Next(), so a reader that never ends fails the test instead of hanging).
ReadResult ReadBytes(std::string bytes, std::string_view name, SymbolTable& symbols,
                     ReaderOptions options = {}, int max_calls = 10'000'000);

// The same for a file.
ReadResult ReadFile(std::string_view path, SymbolTable& symbols, ReaderOptions options = {},
                    int max_calls = 10'000'000);

// A reading with its own symbol table, for tests that compare event lines.
struct Reading {
  SymbolTable symbols;
  ReadResult result;
  std::vector<std::string> events;  // EventLine() of each event
  std::vector<std::string> errors;  // the message of each error
};

// Reads `bytes` as `format` (kAuto: detected); errors name the input "in".
std::unique_ptr<Reading> ReadAs(std::string bytes, Format format, ReaderOptions options = {});

// Returns `event` as one native-schema JSON line (no newline).
std::string EventLine(const Event& event, const SymbolTable& symbols);

// Returns the events as lines, each ending in "\n".
std::string EventLines(const std::vector<Event>& events, const SymbolTable& symbols);

// Returns the format, counters, skip reasons and error messages, one per
// line, for golden files.
std::string StatsText(const ReadResult& result);

// Returns the contents of the file at `path` ("" if it cannot be read).
std::string ReadTextFile(const std::string& path);

// Returns `bytes` gzip-compressed; with `finish` false, a member that goes
// on (flushed, so every byte inflates, but not ended).
std::string Gzip(std::string_view bytes, bool finish = true);

// The test data directory (tests/data/readers).
std::string DataDir();

}  // namespace timescan::testing_util

#endif  // TIMESCAN_TESTS_READERS_READER_TEST_UTIL_H_
