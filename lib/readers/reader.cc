#include "timescan/reader.h"

#include <array>
#include <deque>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/line_source.h"
#include "readers/native_jsonl.h"
#include "readers/record_decoder.h"

namespace timescan {
namespace {

using internal::LineSource;
using internal::RecordDecoder;

constexpr std::array<std::pair<Format, std::string_view>, 7> kFormatNames = {{
    {Format::kAuto, "auto"},
    {Format::kNative, "native"},
    {Format::kProto, "proto"},
    {Format::kFalco, "falco"},
    {Format::kTetragon, "tetragon"},
    {Format::kCloudTrail, "cloudtrail"},
    {Format::kCsv, "csv"},
}};

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

// Guesses the format from the first bytes of the input.
Format DetectFormat(std::string_view head) {
  size_t i = 0;
  while (i < head.size() && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' ||
                             head[i] == '\t'))
    ++i;
  if (i == head.size()) return Format::kNative;
  const std::string_view first_line = head.substr(i, head.find('\n', i) - i);
  if (head[i] == '{' || head[i] == '[') {
    if (absl::StrContains(internal::ToAbsl(first_line), "\"output_fields\"") ||
        (absl::StrContains(internal::ToAbsl(first_line), "\"rule\"") && absl::StrContains(internal::ToAbsl(first_line), "\"priority\"")))
      return Format::kFalco;
    if (absl::StrContains(internal::ToAbsl(first_line), "\"process_exec\"") ||
        absl::StrContains(internal::ToAbsl(first_line), "\"process_exit\"") ||
        absl::StrContains(internal::ToAbsl(first_line), "\"process_kprobe\""))
      return Format::kTetragon;
    if (absl::StrContains(internal::ToAbsl(head), "\"eventSource\"") || absl::StrContains(internal::ToAbsl(head), "\"Records\""))
      return Format::kCloudTrail;
    return Format::kNative;
  }
  return Format::kCsv;
}

class LineEventReader final : public EventReader {
 public:
  LineEventReader(std::unique_ptr<LineSource> source, SymbolTable& symbols,
                  ReaderOptions options)
      : source_(std::move(source)), symbols_(symbols), options_(std::move(options)) {}

  absl::StatusOr<bool> Next(Event* event) override {
    while (queue_.empty()) {
      if (decoder_ == nullptr) {
        if (absl::Status s = ChooseDecoder(); !s.ok()) {
          done_ = true;
          return s;
        }
      }
      if (done_) return false;
      std::string_view line;
      absl::StatusOr<bool> got = source_->Next(&line);
      if (!got.ok()) {
        ++stats_.bad_records;
        if (absl::IsDataLoss(got.status())) done_ = true;
        return got.status();
      }
      if (!*got) {
        done_ = true;
        return false;
      }
      if (internal::IsBlankLine(line)) continue;
      ++stats_.records;
      std::string skip_reason;
      batch_.clear();
      absl::Status s = decoder_->Decode(line, /*padded=*/true, symbols_, &batch_, &skip_reason);
      if (!s.ok()) {
        ++stats_.bad_records;
        return absl::Status(s.code(), absl::StrCat(source_->name(), ":", source_->line_number(),
                                                   ": ", s.message()));
      }
      if (batch_.empty()) {
        ++stats_.skipped[skip_reason.empty() ? std::string("no event in record") : skip_reason];
      }
      queue_.insert(queue_.end(), batch_.begin(), batch_.end());
    }
    *event = queue_.front();
    queue_.pop_front();
    ++stats_.events;
    return true;
  }

  Format format() const override { return format_; }
  const ReaderStats& stats() const override { return stats_; }

 private:
  absl::Status ChooseDecoder() {
    format_ = options_.format;
    if (format_ == Format::kAuto) {
      absl::StatusOr<std::string_view> head = source_->Peek(4096);
      if (!head.ok()) return head.status();
      format_ = DetectFormat(*head);
    }
    switch (format_) {
      case Format::kNative:
        decoder_ = std::make_unique<NativeDecoder>();
        return absl::OkStatus();
      default:
        return absl::UnimplementedError(absl::StrCat(
            source_->name(), ": the ", internal::ToAbsl(FormatName(format_)), " reader is not built yet"));
    }
  }

  std::unique_ptr<LineSource> source_;
  SymbolTable& symbols_;
  ReaderOptions options_;
  Format format_ = Format::kAuto;
  std::unique_ptr<RecordDecoder> decoder_;
  std::vector<Event> batch_;
  std::deque<Event> queue_;
  ReaderStats stats_;
  bool done_ = false;
};

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

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Open(std::string_view path,
                                                               SymbolTable& symbols,
                                                               ReaderOptions options) {
  if (options.max_line_bytes < 64 || options.max_line_bytes > (size_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReaderOptions::max_line_bytes is ", options.max_line_bytes, "; expected 64..1 GiB"));
  }
  absl::StatusOr<std::unique_ptr<LineSource>> source =
      LineSource::Open(path, options.max_line_bytes);
  if (!source.ok()) return source.status();
  return std::unique_ptr<EventReader>(
      new LineEventReader(std::move(*source), symbols, std::move(options)));
}

}  // namespace timescan
