// An EventReader that decodes on a thread of its own while the caller
// ingests: on two cores, parsing and scoring overlap instead of taking turns.
//
// The decoding thread cannot intern into the caller's SymbolTable (it is not
// thread-safe, and the engine reads it), so it interns into a private table;
// each batch carries the names that table gained, and Next() interns them
// into the caller's table, in the same order the plain reader would have,
// before translating the batch's symbols. The caller therefore sees the same
// events, symbols, errors and final stats as from the plain reader, in the
// same order (tests/readers/read_ahead_test.cc holds the two to that).

#ifndef TIMESCAN_LIB_READERS_READ_AHEAD_H_
#define TIMESCAN_LIB_READERS_READ_AHEAD_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "timescan/reader.h"
#include "timescan/symbol_table.h"

namespace timescan::internal {

// Returns a reader that runs the reader `open(private_table)` returns on a
// thread of its own and hands its events to the caller with symbols of
// `symbols`. `open` runs on the calling thread, so its errors (a missing
// file) are returned here.
// REQUIRES: `symbols` outlives the reader.
// Calls `hook` on the reading thread before each read of a stream (stdin, a
// pipe) that would wait for its writer. No effect on other readers.
void SetBeforeWait(EventReader& reader, std::function<void()> hook);

absl::StatusOr<std::unique_ptr<EventReader>> OpenReadAhead(
    const std::function<absl::StatusOr<std::unique_ptr<EventReader>>(SymbolTable&)>& open,
    SymbolTable& symbols);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_READ_AHEAD_H_
