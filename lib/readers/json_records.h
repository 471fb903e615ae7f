// JsonRecordSplitter finds the records in JSON text that holds containers of
// records, the way CloudTrail is stored: a file {"Records":[...]} as AWS
// delivers it to S3, a JSON array [...] (exports, the Stratus Red Team
// detonation logs), or several such documents one after another. Each record
// is returned as its raw JSON text, a view into the input, so a record
// decoder parses it in place.
//
//   JsonRecordSplitter splitter;
//   splitter.Reset(text);
//   std::string_view record;
//   size_t offset;
//   while (true) {
//     absl::StatusOr<bool> got = splitter.Next(&record, &offset);
//     if (!got.ok()) { report(got.status()); continue; }  // ends when done()
//     if (!*got) break;
//     decoder->Decode(record, ...);
//   }
//
// Only the structure around records is checked here (brackets, strings,
// commas); the records themselves are validated by their decoder. Memory is
// a stack of open brackets bounded by kMaxJsonDepth; there is no recursion.

#ifndef TIMESCAN_LIB_READERS_JSON_RECORDS_H_
#define TIMESCAN_LIB_READERS_JSON_RECORDS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace timescan::internal {

// Deeper nesting is an error (simdjson's own default limit).
inline constexpr size_t kMaxJsonDepth = 1024;

// Returns whether `text` holds a container of records rather than one
// record: its first non-blank byte is '[', or it is an object whose first
// key is "Records".
bool IsRecordContainer(std::string_view text);

// Splits JSON text into records. Not thread-safe.
class JsonRecordSplitter {
 public:
  // Starts splitting `text`. REQUIRES: `text` stays valid while Next() is
  // called.
  void Reset(std::string_view text);

  // Finds the next record: true with its text and the offset of its first
  // byte, or false at the end. An array element that is not an object
  // returns kInvalidArgument and splitting goes on after it; broken
  // structure (a truncated document, unbalanced brackets, bytes between
  // values) returns kInvalidArgument and ends the splitting (done()).
  absl::StatusOr<bool> Next(std::string_view* record, size_t* offset);

  // Returns whether the text is used up or was found broken.
  bool done() const { return state_ == State::kDone; }

  // Returns the offset at which the last error was found.
  size_t error_offset() const { return error_offset_; }

 private:
  enum class State {
    kTop,           // between top-level values
    kArray,         // inside an array of records
    kWrapperTail,   // after the "Records" array, before the wrapper's '}'
    kDone,
  };

  void SkipSpace();
  // Moves past the value that starts at pos_. Returns false (after setting
  // the error) when it is malformed or truncated.
  bool SkipValue();
  bool SkipString();
  // If an object whose first key is "Records" starts at pos_, moves past
  // the '[' of its array and returns true.
  bool EnterWrapper();
  // Ends the splitting with an error at pos_.
  absl::Status Fail(std::string_view what);

  std::string_view text_;
  size_t pos_ = 0;
  State state_ = State::kDone;
  bool in_wrapper_ = false;     // the current array is a "Records" value
  bool first_element_ = true;   // no element of the current array read yet
  size_t element_index_ = 0;    // 0-based index of the next element
  size_t error_offset_ = 0;
  std::string error_;           // set by SkipValue and friends
  std::string closers_;         // stack of expected closing brackets
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_JSON_RECORDS_H_
