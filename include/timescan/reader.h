// timescan/reader.h
//
// Provides EventReader, which turns a file or stdin in one of the supported
// formats into events, transparently gunzipping, with every bad record
// reported with its file, line, field and what was expected.
//
//   timescan::SymbolTable& symbols = engine->symbols();
//   auto reader = timescan::EventReader::Open("events.jsonl.gz", symbols, {});
//   if (!reader.ok()) return reader.status();
//   timescan::Event event;
//   while (true) {
//     absl::StatusOr<bool> got = (*reader)->Next(&event);
//     if (!got.ok()) { log(got.status()); continue; }  // skip the bad record
//     if (!*got) break;                                // end of input
//     engine->Ingest(event);
//   }

#ifndef TIMESCAN_READER_H_
#define TIMESCAN_READER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan {

// Input formats.
enum class Format {
  kAuto,        // decided from the first record
  kNative,      // timescan JSONL (see README, "Event schema")
  kProto,       // length-delimited timescan.v1.Event messages
  kFalco,       // Falco json_output alerts
  kTetragon,    // Tetragon JSON export
  kCloudTrail,  // CloudTrail records, one per line or {"Records":[...]}
  kCsv,         // CSV with a header row
};

// Returns "auto", "native", "proto", "falco", "tetragon", "cloudtrail", "csv".
std::string_view FormatName(Format format);

// Returns the format named `name`, or nullopt.
std::optional<Format> FormatFromName(std::string_view name);

struct ReaderOptions {
  // The input format. Default: detected from the first record.
  Format format = Format::kAuto;

  // The longest line (or protobuf message) accepted. A longer one is skipped
  // and reported as a bad record; at most this much is ever buffered for one
  // record. Default 1 MiB.
  size_t max_line_bytes = size_t{1} << 20;

  // The largest JSON document read whole: a CloudTrail file whose first
  // record spans lines ({"Records":[...]} or [...] pretty-printed) is read
  // into memory before it is split into records. A larger one is reported
  // (kResourceExhausted) and not read. Memory is about this much plus one
  // record. Default 256 MiB; JSON Lines input has no such limit.
  size_t max_document_bytes = size_t{256} << 20;

  // CSV only: event field -> column name, for columns not named like the
  // event fields ("time=ts", "entity=container_id"). Default: identity.
  std::vector<std::pair<std::string, std::string>> csv_field_map;

  // Decode on a thread of the reader's own, ahead of the caller, so that on
  // two cores reading and ingesting overlap (`timescan score` does this for
  // files). The events, symbols, errors and final stats are those of the
  // plain reader, in the same order; stats() are updated batch by batch
  // (1,024 events) and are exact just after an error. Costs a second copy
  // of the input's distinct strings and up to 8 batches of events decoded
  // ahead. A live stream's events are handed over whenever its writer
  // pauses. Default false: a library starts no thread unasked.
  bool decode_thread = false;

  // For a stream (stdin, a pipe, a device) whose writer has nothing new:
  // called about every 100 ms while Next() waits, and whenever a signal
  // interrupts the wait, on the thread that reads (the decode thread, with
  // decode_thread). Returning false ends the input: Next() returns
  // kCancelled, not counted as a bad record, and then false. This is how a
  // caller stops reading a live sensor that has gone quiet: at shutdown, or
  // on Ctrl-C (the Python ingest_jsonl checks for signals here). Also asked
  // when a signal interrupts Open() waiting for a FIFO's writer to appear:
  // false makes Open() return kCancelled. Default: none; Next() waits for
  // as long as the writer takes, and Open() for a writer to come.
  std::function<bool()> keep_waiting;
};

// Returns whether ReaderOptions::decode_thread pays for input `path`: a
// regular file on a machine with two cores or more. Stdin, a pipe or a
// device is usually a live stream, whose writer sets the pace: a second
// thread would only add a hand-over at each pause (`zcat x.gz |` is the
// exception; ask for the thread there). What `timescan score` and the
// Python ingest_jsonl do unless told.
bool DecodeThreadPays(std::string_view path);

// Returns whether input `path` ("-": stdin) is a stream, read as its data
// arrives (a pipe, a device), rather than a regular file: a live sensor's
// events should reach the engine one by one, not wait in a batch for the
// next ones. `timescan score` and the Python ingest_jsonl batch files only.
bool IsStream(std::string_view path);

// Counters of one reader.
struct ReaderStats {
  uint64_t records = 0;      // lines or messages read, blank lines excluded
  uint64_t events = 0;       // events produced
  uint64_t bad_records = 0;  // records that failed to decode (each reported)
  // Names cut to kMaxSymbolBytes while decoding (the SymbolTable read into
  // counts them too; a decode thread reads into a table of its own).
  uint64_t symbols_truncated = 0;
  // Records deliberately not mapped to an event, by reason ("falco metrics
  // snapshot"); they are counted here so nothing vanishes unaccounted.
  std::map<std::string, uint64_t> skipped;
};

// Reads events from one input. Not thread-safe.
class EventReader {
 public:
  // Opens `path` ("-" for stdin); gzip input is detected by its magic bytes.
  // Returns kNotFound or kPermissionDenied for a file that cannot be opened.
  // REQUIRES: `symbols` outlives the reader.
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(
      std::string_view path, SymbolTable& symbols, ReaderOptions options);

  // Reads `bytes` held in memory, like Open reads a file (gzip is detected
  // too); `name` stands for the path in errors.
  // REQUIRES: `symbols` outlives the reader.
  static absl::StatusOr<std::unique_ptr<EventReader>> OpenBytes(
      std::string bytes, std::string_view name, SymbolTable& symbols, ReaderOptions options);

  virtual ~EventReader() = default;

  // Reads the next event into `event`. Returns true when an event was read
  // and false at the end of input. A bad record returns kInvalidArgument
  // ("path:line: field 'time': expected ...") or kOutOfRange (a time outside
  // 1970..2262); the reader stays usable and the next call continues after
  // the bad record. kDataLoss (a truncated or corrupt stream) and
  // kResourceExhausted (a document over max_document_bytes) end the input.
  // Every error is counted in stats().bad_records.
  virtual absl::StatusOr<bool> Next(Event* event) = 0;

  // Returns the format in use (after detection: never kAuto once a record
  // was read, unless the input was empty).
  virtual Format format() const = 0;

  virtual const ReaderStats& stats() const = 0;
};

}  // namespace timescan

#endif  // TIMESCAN_READER_H_
