// The interface every line-oriented format implements. EventReader owns the
// line source, the error context (file and line) and the counters; a decoder
// only maps one record to events.

#ifndef TIMESCAN_LIB_READERS_RECORD_DECODER_H_
#define TIMESCAN_LIB_READERS_RECORD_DECODER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan::internal {

class RecordDecoder {
 public:
  virtual ~RecordDecoder() = default;

  // Decodes one non-blank record into zero or more events appended to `out`.
  // `padded`: SIMDJSON_PADDING readable bytes follow `record`. A record that
  // is valid but deliberately not mapped (a Falco metrics snapshot) appends
  // nothing and sets `skip_reason`. Errors name the field and what was
  // expected; the reader prefixes file and line.
  virtual absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                              std::vector<Event>* out, std::string* skip_reason) = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_RECORD_DECODER_H_
