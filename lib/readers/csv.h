// Decoder of CSV events with a header row (docs/formats.md, "CSV"). Each
// event field is read from the column of the same name, or from the column
// that ReaderOptions::csv_field_map names for it ("time=ts"):
//
//   time     RFC 3339, or unix seconds as a number     required
//   entity   text                                      required
//   kind     exec, exit, connect, ... (schema name)    required
//   group, subject, actor    text; empty is absent
//   value    finite number; empty is absent
//   status   32-bit integer; empty is absent
//
// Cells follow RFC 4180: comma separated, optionally in double quotes with
// "" for a quote. A quoted cell may not span lines. Other columns are
// ignored.

#ifndef TIMESCAN_LIB_READERS_CSV_H_
#define TIMESCAN_LIB_READERS_CSV_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "readers/record_decoder.h"

namespace timescan::internal {

// Splits one CSV line into cells. Unquoted cells are views into `line`;
// quoted cells are unescaped into `storage` (cleared first). Returns
// kInvalidArgument naming the 1-based column for a quote left open or text
// after a closing quote.
absl::Status SplitCsvLine(std::string_view line, std::vector<std::string_view>* cells,
                          std::string* storage);

class CsvDecoder final : public RecordDecoder {
 public:
  // The event fields, in the order of the header comment.
  enum Field { kTime, kEntity, kKind, kGroup, kSubject, kActor, kValue, kStatus, kFieldCount };

  // Creates a decoder for the columns of `header`, the first line.
  // `field_map` pairs an event field with a column name. Returns
  // kInvalidArgument for an unknown field, a column missing from the header,
  // a duplicate column name, or a required field without a column.
  static absl::StatusOr<std::unique_ptr<CsvDecoder>> Create(
      std::string_view header,
      const std::vector<std::pair<std::string, std::string>>& field_map);

  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override;

 private:
  CsvDecoder() = default;

  // Returns kInvalidArgument "field 'time' (column 'ts'): <what>".
  absl::Status CellError(Field field, std::string_view what) const;

  size_t column_count_ = 0;
  std::array<int, kFieldCount> column_of_{};  // -1: no column
  std::array<std::string, kFieldCount> column_name_;
  std::vector<std::string_view> cells_;
  std::string storage_;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_CSV_H_
