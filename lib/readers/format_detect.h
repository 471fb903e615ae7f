// Format detection from the first bytes of an input (after gunzip), for
// ReaderOptions::format = kAuto. The rules, in order (docs/formats.md):
//
//   1. a varint size then the tag of Event.time_ns or Event.entity: proto
//   2. nothing but whitespace: native (an empty input)
//   3. '[': cloudtrail (a JSON array of records)
//   4. '{': the top-level keys of the first record decide: output_fields or
//      rule+priority: falco; a "process_*" event key: tetragon; eventSource,
//      eventName, userIdentity, eventVersion or Records: cloudtrail; else
//      native. A first record spanning lines is looked up by text instead.
//   5. anything else: csv (the first line is its header)

#ifndef TIMESCAN_LIB_READERS_FORMAT_DETECT_H_
#define TIMESCAN_LIB_READERS_FORMAT_DETECT_H_

#include <cstddef>
#include <string_view>

#include "timescan/reader.h"

namespace timescan::internal {

// How many bytes detection looks at.
inline constexpr size_t kDetectBytes = 64 << 10;

// Returns the format of an input that starts with `head` (at most
// kDetectBytes; less only when the input is shorter). Never kAuto.
Format DetectFormat(std::string_view head);

// Returns whether `head`, the first bytes of an input, decides its format
// as kDetectBytes of it would: a complete first line holding a JSON object
// (JSON Lines). Anything else (a document spanning lines, CSV, protobuf)
// is detected from kDetectBytes or the whole input if shorter.
bool HeadDecidesFormat(std::string_view head);

// Returns whether the first JSON value in `head` continues past its first
// line (a pretty-printed document), so the input must be read whole rather
// than line by line.
bool IsMultiLineDocument(std::string_view head);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_FORMAT_DETECT_H_
