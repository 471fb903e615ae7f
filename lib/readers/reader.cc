#include "timescan/reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/cloudtrail.h"
#include "readers/csv.h"
#include "readers/falco.h"
#include "readers/format_detect.h"
#include "readers/json_records.h"
#include "readers/line_source.h"
#include "readers/native_jsonl.h"
#include "readers/proto_stream.h"
#include "readers/read_ahead.h"
#include "readers/record_decoder.h"
#include "readers/tetragon.h"
#include "simdjson.h"

namespace timescan {
namespace {

using internal::LineSource;
using internal::RecordDecoder;

static_assert(internal::kLinePadding >= simdjson::SIMDJSON_PADDING,
              "decoders parse lines in place");

constexpr std::array<std::pair<Format, std::string_view>, 7> kFormatNames = {{
    {Format::kAuto, "auto"},
    {Format::kNative, "native"},
    {Format::kProto, "proto"},
    {Format::kFalco, "falco"},
    {Format::kTetragon, "tetragon"},
    {Format::kCloudTrail, "cloudtrail"},
    {Format::kCsv, "csv"},
}};

// Whole documents are read in chunks of this size.
constexpr size_t kDocumentChunk = size_t{1} << 20;

class NativeDecoder final : public RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override {
    Event event;
    if (absl::Status s = decoder_.Decode(record, padded, symbols, &event); !s.ok()) return s;
    out->push_back(event);
    return absl::OkStatus();
  }

 private:
  internal::NativeJsonDecoder decoder_;
};

// Reads every format. How records are found depends on the format:
//   lines     one record per line (native, falco, tetragon, csv after its
//             header, cloudtrail); a CloudTrail line holding {"Records":
//             [...]} or [...] is split into its records
//   document  a CloudTrail document spanning lines, read whole (bounded by
//             max_document_bytes) and split into records
//   proto     size-prefixed timescan.v1.Event messages
// Every record goes through DecodeRecord(), which does the counting, so each
// record yields events, a counted skip, or an error.
class StreamEventReader final : public EventReader {
 public:
  StreamEventReader(std::unique_ptr<LineSource> source, SymbolTable& symbols,
                    ReaderOptions options)
      : source_(std::move(source)),
        symbols_(symbols),
        options_(std::move(options)),
        truncated_before_(symbols.truncated()) {
    if (options_.keep_waiting) source_->SetKeepWaiting(options_.keep_waiting);
  }

  absl::StatusOr<bool> Next(Event* event) override {
    while (queue_pos_ == queue_.size()) {
      queue_.clear();
      queue_pos_ = 0;
      if (done_) return false;
      absl::Status s = started_ ? Pump() : Start();
      stats_.symbols_truncated = symbols_.truncated() - truncated_before_;
      if (!s.ok()) {
        // Stopped by keep_waiting: no record was bad.
        if (!absl::IsCancelled(s)) ++stats_.bad_records;
        return s;
      }
    }
    *event = queue_[queue_pos_++];
    ++stats_.events;
    return true;
  }

  Format format() const override { return format_; }
  const ReaderStats& stats() const override { return stats_; }

  void SetBeforeWait(std::function<void()> hook) { source_->SetBeforeWait(std::move(hook)); }

 private:
  enum class Mode { kLines, kDocument, kProto };

  // Detects the format and prepares its decoder.
  absl::Status Start();
  // Reads the CSV header and builds the CSV decoder.
  absl::Status StartCsv();
  // Reads the whole input into document_ and starts splitting it.
  absl::Status StartDocument();
  // Processes the next record (or line, or message); each call makes
  // progress, so Next() never spins.
  absl::Status Pump();
  absl::Status PumpLine();
  absl::Status PumpSplitter();
  absl::Status PumpProto();
  // Decodes one record found at `line` and counts the outcome.
  absl::Status DecodeRecord(std::string_view record, int64_t line);
  // Returns the line of `offset` in the text being split.
  int64_t LineAt(size_t offset);
  // Ends the input after a stream error.
  absl::Status Fatal(absl::Status status) {
    done_ = true;
    return status;
  }
  absl::Status AtLine(const absl::Status& s, int64_t line) const {
    return absl::Status(s.code(), absl::StrCat(source_->name(), ":", line, ": ", s.message()));
  }

  std::unique_ptr<LineSource> source_;
  SymbolTable& symbols_;
  ReaderOptions options_;
  uint64_t truncated_before_;  // symbols_.truncated() when opened
  Format format_ = Format::kAuto;
  Mode mode_ = Mode::kLines;
  std::unique_ptr<RecordDecoder> decoder_;
  internal::ProtoEventDecoder proto_decoder_;
  std::vector<Event> queue_;
  size_t queue_pos_ = 0;
  std::string skip_reason_;
  ReaderStats stats_;
  bool started_ = false;
  bool done_ = false;

  // Splitting of CloudTrail containers: the text being split (a line, or
  // document_), the line it starts on, and a cursor for counting lines.
  internal::JsonRecordSplitter splitter_;
  bool splitting_ = false;
  std::string_view split_text_;
  int64_t split_first_line_ = 1;
  size_t counted_offset_ = 0;
  int64_t counted_lines_ = 0;
  std::string document_;

  // Protobuf stream position, for errors.
  uint64_t message_index_ = 0;
  uint64_t byte_offset_ = 0;
};

absl::Status StreamEventReader::Start() {
  started_ = true;
  absl::StatusOr<std::string_view> head =
      source_->Peek(internal::kDetectBytes, internal::HeadDecidesFormat);
  if (!head.ok()) return Fatal(head.status());
  format_ = options_.format == Format::kAuto ? internal::DetectFormat(*head) : options_.format;
  switch (format_) {
    case Format::kProto:
      mode_ = Mode::kProto;
      return absl::OkStatus();
    case Format::kNative:
      decoder_ = std::make_unique<NativeDecoder>();
      return absl::OkStatus();
    case Format::kFalco:
      decoder_ = internal::NewFalcoDecoder();
      return absl::OkStatus();
    case Format::kTetragon:
      decoder_ = internal::NewTetragonDecoder();
      return absl::OkStatus();
    case Format::kCloudTrail:
      decoder_ = internal::NewCloudTrailDecoder();
      if (internal::IsMultiLineDocument(*head)) return StartDocument();
      return absl::OkStatus();
    case Format::kCsv:
      return StartCsv();
    case Format::kAuto:
      break;
  }
  return Fatal(absl::InvalidArgumentError(
      absl::StrCat(source_->name(), ": no reader for format ", static_cast<int>(format_))));
}

absl::Status StreamEventReader::StartCsv() {
  std::string_view header;
  while (true) {
    absl::StatusOr<bool> got = source_->Next(&header);
    if (!got.ok()) return Fatal(got.status());
    if (!*got) {
      done_ = true;  // no header: an empty input
      return absl::OkStatus();
    }
    if (!internal::IsBlankLine(header)) break;
  }
  absl::StatusOr<std::unique_ptr<internal::CsvDecoder>> csv =
      internal::CsvDecoder::Create(header, options_.csv_field_map);
  if (!csv.ok()) return Fatal(AtLine(csv.status(), source_->line_number()));
  decoder_ = std::move(*csv);
  return absl::OkStatus();
}

absl::Status StreamEventReader::StartDocument() {
  mode_ = Mode::kDocument;
  while (true) {
    absl::StatusOr<std::string_view> chunk = source_->ReadBytes(kDocumentChunk);
    if (!chunk.ok()) return Fatal(chunk.status());
    if (document_.size() + chunk->size() > options_.max_document_bytes) {
      document_ = std::string();
      return Fatal(absl::ResourceExhaustedError(absl::StrCat(
          source_->name(), ": the JSON document is larger than the limit of ",
          options_.max_document_bytes,
          " bytes (ReaderOptions::max_document_bytes); raise the limit or convert it to one "
          "record per line (jq -c '.Records[]')")));
    }
    document_.append(chunk->data(), chunk->size());
    if (chunk->size() < kDocumentChunk) break;
  }
  const size_t size = document_.size();
  // Decoders parse records in place: padding after the last one.
  document_.append(simdjson::SIMDJSON_PADDING, '\0');
  splitter_.Reset(std::string_view(document_.data(), size));
  split_text_ = std::string_view(document_.data(), size);
  split_first_line_ = 1;
  counted_offset_ = 0;
  counted_lines_ = 0;
  splitting_ = true;
  return absl::OkStatus();
}

absl::Status StreamEventReader::Pump() {
  if (splitting_) return PumpSplitter();
  switch (mode_) {
    case Mode::kLines: return PumpLine();
    case Mode::kProto: return PumpProto();
    case Mode::kDocument: done_ = true; return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status StreamEventReader::PumpLine() {
  std::string_view line;
  absl::StatusOr<bool> got = source_->Next(&line);
  if (!got.ok()) {
    if (absl::IsDataLoss(got.status()) || absl::IsCancelled(got.status())) {
      return Fatal(got.status());
    }
    ++stats_.records;  // an overlong line: a record, reported and skipped
    return got.status();
  }
  if (!*got) {
    done_ = true;
    return absl::OkStatus();
  }
  if (internal::IsBlankLine(line)) return absl::OkStatus();
  if (format_ == Format::kCloudTrail && internal::IsRecordContainer(line)) {
    splitter_.Reset(line);
    split_text_ = line;
    split_first_line_ = source_->line_number();
    counted_offset_ = 0;
    counted_lines_ = 0;
    splitting_ = true;
    return absl::OkStatus();
  }
  return DecodeRecord(line, source_->line_number());
}

int64_t StreamEventReader::LineAt(size_t offset) {
  offset = std::min(offset, split_text_.size());
  if (offset < counted_offset_) {
    counted_offset_ = 0;
    counted_lines_ = 0;
  }
  counted_lines_ += std::count(split_text_.begin() + counted_offset_,
                               split_text_.begin() + offset, '\n');
  counted_offset_ = offset;
  return split_first_line_ + counted_lines_;
}

absl::Status StreamEventReader::PumpSplitter() {
  std::string_view record;
  size_t offset = 0;
  absl::StatusOr<bool> got = splitter_.Next(&record, &offset);
  if (!got.ok()) {
    ++stats_.records;
    if (splitter_.done()) {
      splitting_ = false;
      if (mode_ == Mode::kDocument) done_ = true;
    }
    return AtLine(got.status(), LineAt(splitter_.error_offset()));
  }
  if (!*got) {
    splitting_ = false;
    if (mode_ == Mode::kDocument) done_ = true;
    return absl::OkStatus();
  }
  return DecodeRecord(record, LineAt(offset));
}

absl::Status StreamEventReader::PumpProto() {
  absl::StatusOr<std::string_view> head = source_->Peek(internal::kMaxLengthPrefixBytes);
  if (!head.ok()) return Fatal(head.status());
  if (head->empty()) {
    done_ = true;
    return absl::OkStatus();
  }
  // Built only for errors: the happy path does not allocate.
  const uint64_t index = message_index_ + 1, at_byte = byte_offset_;
  auto where = [&] {
    return absl::StrCat(source_->name(), ": message ", index, " at byte ", at_byte);
  };
  uint64_t length = 0;
  size_t prefix = 0;
  switch (internal::ParseLengthPrefix(*head, &length, &prefix)) {
    case internal::PrefixResult::kOk:
      break;
    case internal::PrefixResult::kNeedMore:
      return Fatal(absl::DataLossError(
          absl::StrCat(where(), ": the stream ends inside a size prefix (truncated)")));
    case internal::PrefixResult::kMalformed:
      return Fatal(absl::DataLossError(absl::StrCat(
          where(), ": expected a varint message size below 2^32; the stream is corrupt")));
  }
  ++message_index_;
  ++stats_.records;
  if (absl::StatusOr<std::string_view> s = source_->ReadBytes(prefix); !s.ok()) {
    return Fatal(s.status());
  }
  byte_offset_ += prefix + length;
  auto truncated = [&] {
    return Fatal(absl::DataLossError(absl::StrCat(
        where(), ": the stream ends inside a message of ", length, " bytes (truncated)")));
  };
  if (length > options_.max_line_bytes) {
    // The framing is intact: skip the message and go on with the next.
    for (uint64_t left = length; left > 0;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, kDocumentChunk));
      absl::StatusOr<std::string_view> skipped = source_->ReadBytes(n);
      if (!skipped.ok()) return Fatal(skipped.status());
      if (skipped->size() < n) return truncated();
      left -= n;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        where(), ": message of ", length, " bytes is longer than the limit of ",
        options_.max_line_bytes, " bytes (ReaderOptions::max_line_bytes); skipped"));
  }
  absl::StatusOr<std::string_view> message = source_->ReadBytes(static_cast<size_t>(length));
  if (!message.ok()) return Fatal(message.status());
  if (message->size() < length) return truncated();
  Event event;
  if (absl::Status s = proto_decoder_.Decode(*message, symbols_, &event); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
  }
  queue_.push_back(event);
  return absl::OkStatus();
}

absl::Status StreamEventReader::DecodeRecord(std::string_view record, int64_t line) {
  ++stats_.records;
  skip_reason_.clear();
  const size_t before = queue_.size();
  absl::Status s = decoder_->Decode(record, /*padded=*/true, symbols_, &queue_, &skip_reason_);
  if (!s.ok()) {
    queue_.resize(before);
    return AtLine(s, line);
  }
  if (queue_.size() == before) {
    ++stats_.skipped[skip_reason_.empty() ? std::string("no event in record") : skip_reason_];
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const ReaderOptions& options) {
  if (FormatName(options.format) == "invalid") {
    return absl::InvalidArgumentError(absl::StrCat("ReaderOptions::format is ",
                                                   static_cast<int>(options.format),
                                                   "; expected a Format value"));
  }
  if (options.max_line_bytes < 64 || options.max_line_bytes > (size_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReaderOptions::max_line_bytes is ", options.max_line_bytes, "; expected 64..1 GiB"));
  }
  if (options.max_document_bytes < 64 || options.max_document_bytes > (size_t{4} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat("ReaderOptions::max_document_bytes is ",
                                                   options.max_document_bytes,
                                                   "; expected 64..4 GiB"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view FormatName(Format format) {
  for (const auto& [f, name] : kFormatNames) {
    if (f == format) return name;
  }
  return "invalid";
}

std::optional<Format> FormatFromName(std::string_view name) {
  for (const auto& [f, n] : kFormatNames) {
    if (n == name) return f;
  }
  return std::nullopt;
}

namespace internal {

void SetBeforeWait(EventReader& reader, std::function<void()> hook) {
  if (auto* stream = dynamic_cast<StreamEventReader*>(&reader)) stream->SetBeforeWait(std::move(hook));
}

}  // namespace internal

bool DecodeThreadPays(std::string_view path) {
  if (path == "-" || std::thread::hardware_concurrency() < 2) return false;
  // Not a pipe or a device either (`<(zcat x.gz)`, /dev/stdin): only a
  // regular file is never a live stream, paced by its writer.
  struct stat info;
  return stat(std::string(path).c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool IsStream(std::string_view path) {
  struct stat info;
  const int rc = path == "-" ? fstat(STDIN_FILENO, &info) : stat(std::string(path).c_str(), &info);
  return rc == 0 && !S_ISREG(info.st_mode);
}

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Open(std::string_view path,
                                                               SymbolTable& symbols,
                                                               ReaderOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  if (options.decode_thread) {
    options.decode_thread = false;
    return internal::OpenReadAhead(
        [&](SymbolTable& private_symbols) { return Open(path, private_symbols, options); },
        symbols);
  }
  absl::StatusOr<std::unique_ptr<LineSource>> source =
      LineSource::Open(path, options.max_line_bytes, options.keep_waiting);
  if (!source.ok()) return source.status();
  return std::unique_ptr<EventReader>(
      new StreamEventReader(std::move(*source), symbols, std::move(options)));
}

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::OpenBytes(std::string bytes,
                                                                    std::string_view name,
                                                                    SymbolTable& symbols,
                                                                    ReaderOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  if (options.decode_thread) {
    options.decode_thread = false;
    return internal::OpenReadAhead(
        [&](SymbolTable& private_symbols) {
          return OpenBytes(std::move(bytes), name, private_symbols, options);
        },
        symbols);
  }
  absl::StatusOr<std::unique_ptr<LineSource>> source =
      LineSource::FromBytes(std::move(bytes), std::string(name), options.max_line_bytes);
  if (!source.ok()) return source.status();
  return std::unique_ptr<EventReader>(
      new StreamEventReader(std::move(*source), symbols, std::move(options)));
}

}  // namespace timescan
