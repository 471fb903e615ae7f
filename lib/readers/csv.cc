#include "readers/csv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "simdjson.h"
#include "timescan/timestamps.h"

namespace timescan::internal {
namespace {

constexpr std::array<std::string_view, CsvDecoder::kFieldCount> kFieldNames = {
    "time", "entity", "kind", "group", "subject", "actor", "value", "status",
};
constexpr int kRequiredFields = 3;  // time, entity, kind
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string_view Trim(std::string_view text) {
  return ToStd(absl::StripAsciiWhitespace(ToAbsl(text)));
}

int FieldIndex(std::string_view name) {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i] == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

absl::Status SplitCsvLine(std::string_view line, std::vector<std::string_view>* cells,
                          std::string* storage) {
  cells->clear();
  storage->clear();
  // Unescaped text is never longer than the line, so views into `storage`
  // stay valid: it never reallocates below.
  storage->reserve(line.size());
  size_t pos = 0;
  while (true) {
    const size_t column = cells->size() + 1;
    if (pos < line.size() && line[pos] == '"') {
      const size_t begin = storage->size();
      ++pos;
      while (true) {
        const size_t quote = line.find('"', pos);
        if (quote == std::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat(
              "column ", column,
              ": quoted cell not closed on this line (cells spanning lines are not supported)"));
        }
        storage->append(line.data() + pos, quote - pos);
        pos = quote + 1;
        if (pos < line.size() && line[pos] == '"') {
          storage->push_back('"');
          ++pos;
          continue;
        }
        break;
      }
      cells->push_back(std::string_view(storage->data() + begin, storage->size() - begin));
      if (pos < line.size() && line[pos] != ',') {
        return absl::InvalidArgumentError(
            absl::StrCat("column ", column, ": expected ',' after the closing quote"));
      }
    } else {
      const size_t comma = std::min(line.find(',', pos), line.size());
      cells->push_back(line.substr(pos, comma - pos));
      pos = comma;
    }
    if (pos >= line.size()) return absl::OkStatus();
    ++pos;  // the comma
  }
}

absl::StatusOr<std::unique_ptr<CsvDecoder>> CsvDecoder::Create(
    std::string_view header, const std::vector<std::pair<std::string, std::string>>& field_map) {
  if (header.substr(0, kUtf8Bom.size()) == kUtf8Bom) header.remove_prefix(kUtf8Bom.size());
  if (!simdjson::validate_utf8(header.data(), header.size())) {
    return absl::InvalidArgumentError("CSV header: expected UTF-8 text");
  }
  std::unique_ptr<CsvDecoder> decoder(new CsvDecoder());
  std::vector<std::string_view> names;
  std::string storage;
  if (absl::Status s = SplitCsvLine(header, &names, &storage); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("CSV header: ", s.message()));
  }
  for (std::string_view& name : names) name = Trim(name);
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (!names[i].empty() && names[i] == names[j]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "CSV header: column ", QuotedForError(names[i]), " appears twice (columns ", j + 1,
            " and ", i + 1, "); expected unique names"));
      }
    }
  }
  decoder->column_count_ = names.size();
  decoder->column_of_.fill(-1);
  auto column_named = [&](std::string_view name) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  std::array<bool, kFieldCount> mapped{};
  for (const auto& [field_name, column] : field_map) {
    const int field = FieldIndex(field_name);
    if (field < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "csv_field_map: unknown event field ", QuotedForError(field_name), "; expected one of ",
          absl::StrJoin(kFieldNames, ", ", [](std::string* out, std::string_view n) {
            out->append(n);
          })));
    }
    if (mapped[field]) {
      return absl::InvalidArgumentError(absl::StrCat("csv_field_map: field '", ToAbsl(kFieldNames[field]),
                                                     "' is mapped twice"));
    }
    mapped[field] = true;
    const int index = column_named(column);
    if (index < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "csv_field_map: column ", QuotedForError(column), " (for ", ToAbsl(kFieldNames[field]),
          ") is not in the CSV header"));
    }
    decoder->column_of_[field] = index;
  }
  for (int field = 0; field < kFieldCount; ++field) {
    if (!mapped[field]) decoder->column_of_[field] = column_named(kFieldNames[field]);
    if (decoder->column_of_[field] >= 0) {
      decoder->column_name_[field] = std::string(names[decoder->column_of_[field]]);
    } else if (field < kRequiredFields) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CSV header: no column for '", ToAbsl(kFieldNames[field]), "'; expected a column named ",
          ToAbsl(kFieldNames[field]), " or a mapping ", ToAbsl(kFieldNames[field]), "=COLUMN"));
    }
  }
  return decoder;
}

absl::Status CsvDecoder::CellError(Field field, std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat("field '", ToAbsl(kFieldNames[field]),
                                                 "' (column ",
                                                 QuotedForError(column_name_[field]), "): ",
                                                 ToAbsl(what)));
}

absl::Status CsvDecoder::Decode(std::string_view record, bool padded, SymbolTable& symbols,
                                std::vector<Event>* out, std::string* skip_reason) {
  if (!simdjson::validate_utf8(record.data(), record.size())) {
    return absl::InvalidArgumentError("expected UTF-8 text");
  }
  if (absl::Status s = SplitCsvLine(record, &cells_, &storage_); !s.ok()) return s;
  if (cells_.size() != column_count_) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", column_count_,
                                                   " columns as in the header, got ",
                                                   cells_.size()));
  }
  auto cell = [&](Field field) -> std::string_view {
    return column_of_[field] < 0 ? std::string_view() : cells_[column_of_[field]];
  };

  Event event;
  const std::string_view time = Trim(cell(kTime));
  if (time.empty()) return CellError(kTime, "empty; expected an RFC 3339 time or unix seconds");
  double seconds = 0;
  absl::StatusOr<int64_t> time_ns = absl::SimpleAtod(ToAbsl(time), &seconds)
                                        ? UnixSecondsToNanos(seconds)
                                        : ParseRfc3339(time);
  if (!time_ns.ok()) {
    return absl::Status(time_ns.status().code(),
                        absl::StrCat("field 'time' (column ", QuotedForError(column_name_[kTime]),
                                     "): ", time_ns.status().message()));
  }
  event.time_ns = *time_ns;

  if (cell(kEntity).empty()) return CellError(kEntity, "empty; expected the container id");
  const std::string_view kind_name = Trim(cell(kKind));
  const std::optional<Kind> kind = KindFromName(kind_name);
  if (!kind) {
    return CellError(kKind, absl::StrCat("expected one of exec, exit, connect, accept, request, "
                                         "api, file, syscall, metric; got ",
                                         QuotedForError(kind_name)));
  }
  event.kind = *kind;

  if (const std::string_view text = Trim(cell(kValue)); !text.empty()) {
    double v = 0;
    if (!absl::SimpleAtod(ToAbsl(text), &v) || !std::isfinite(v)) {
      return CellError(kValue, absl::StrCat("expected a finite number, got ", QuotedForError(text)));
    }
    event.value = v;
    event.has_value = true;
  }
  if (const std::string_view text = Trim(cell(kStatus)); !text.empty()) {
    int32_t v = 0;
    if (!absl::SimpleAtoi(ToAbsl(text), &v)) {
      return CellError(kStatus,
                       absl::StrCat("expected an integer in the 32-bit range, got ", QuotedForError(text)));
    }
    event.status = v;
    event.has_status = true;
  }
  event.entity = symbols.Intern(cell(kEntity));
  event.group = symbols.Intern(cell(kGroup));
  event.subject = symbols.Intern(cell(kSubject));
  event.actor = symbols.Intern(cell(kActor));
  out->push_back(event);
  return absl::OkStatus();
}

}  // namespace timescan::internal
