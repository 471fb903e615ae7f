#include "reader_test_util.h"

#include <zlib.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "json_escape.h"
#include "timescan/timestamps.h"

namespace timescan::testing_util {
namespace {

ReadResult Drain(absl::StatusOr<std::unique_ptr<EventReader>> reader, int max_calls) {
  ReadResult result;
  result.open_status = reader.status();
  if (!reader.ok()) return result;
  Event event;
  while (result.calls < max_calls) {
    ++result.calls;
    absl::StatusOr<bool> got = (*reader)->Next(&event);
    if (!got.ok()) {
      result.errors.push_back(got.status());
      continue;
    }
    if (!*got) break;
    result.events.push_back(event);
  }
  result.stats = (*reader)->stats();
  result.format = (*reader)->format();
  return result;
}

}  // namespace

ReadResult ReadBytes(std::string bytes, std::string_view name, SymbolTable& symbols,
                     ReaderOptions options, int max_calls) {
  return Drain(EventReader::OpenBytes(std::move(bytes), name, symbols, std::move(options)),
               max_calls);
}

ReadResult ReadFile(std::string_view path, SymbolTable& symbols, ReaderOptions options,
                    int max_calls) {
  return Drain(EventReader::Open(path, symbols, std::move(options)), max_calls);
}

std::unique_ptr<Reading> ReadAs(std::string bytes, Format format, ReaderOptions options) {
  auto reading = std::make_unique<Reading>();
  options.format = format;
  reading->result = ReadBytes(std::move(bytes), "in", reading->symbols, std::move(options));
  for (const Event& e : reading->result.events) {
    reading->events.push_back(EventLine(e, reading->symbols));
  }
  for (const absl::Status& s : reading->result.errors) {
    reading->errors.push_back(std::string(s.message()));
  }
  return reading;
}

std::string EventLine(const Event& event, const SymbolTable& symbols) {
  std::string out = absl::StrCat("{\"time\":\"", FormatRfc3339(event.time_ns), "\",\"entity\":");
  internal::AppendJsonString(symbols.Name(event.entity), &out);
  if (event.group != kNoSymbol) {
    out += ",\"group\":";
    internal::AppendJsonString(symbols.Name(event.group), &out);
  }
  absl::StrAppend(&out, ",\"kind\":\"", std::string(KindName(event.kind)), "\",\"subject\":");
  internal::AppendJsonString(symbols.Name(event.subject), &out);
  out += ",\"actor\":";
  internal::AppendJsonString(symbols.Name(event.actor), &out);
  if (event.has_value) {
    out += ",\"value\":";
    internal::AppendJsonNumber(event.value, &out);
  }
  if (event.has_status) absl::StrAppend(&out, ",\"status\":", event.status);
  out += "}";
  return out;
}

std::string EventLines(const std::vector<Event>& events, const SymbolTable& symbols) {
  std::string out;
  for (const Event& e : events) absl::StrAppend(&out, EventLine(e, symbols), "\n");
  return out;
}

std::string StatsText(const ReadResult& result) {
  std::string out = absl::StrCat("format: ", std::string(FormatName(result.format)), "\n",
                                 "records: ", result.stats.records, "\n",
                                 "events: ", result.stats.events, "\n",
                                 "bad_records: ", result.stats.bad_records, "\n");
  for (const auto& [reason, count] : result.stats.skipped) {
    absl::StrAppend(&out, "skipped: ", reason, ": ", count, "\n");
  }
  for (const absl::Status& error : result.errors) {
    absl::StrAppend(&out, "error: ", error.ToString(), "\n");
  }
  return out;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Gzip(std::string_view bytes, bool finish) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, bytes.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, finish ? Z_FINISH : Z_SYNC_FLUSH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string DataDir() { return std::string(TIMESCAN_TEST_DATA_DIR) + "/readers"; }

}  // namespace timescan::testing_util
