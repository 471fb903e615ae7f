// ReaderOptions::decode_thread: the reader decoding on its own thread gives
// what the plain reader gives (events with the same symbols, errors,
// stats, format, and the same symbol table), for every format, hostile
// input included; and it can be abandoned half-way without hanging.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

namespace fs = std::filesystem;
using testing_util::DataDir;
using testing_util::ReadBytes;
using testing_util::ReadResult;
using testing_util::ReadTextFile;
using testing_util::StatsText;

std::string RawEvent(const Event& e) {
  return absl::StrCat(e.time_ns, " ", e.entity, " ", e.group, " ", static_cast<int>(e.kind), " ",
                      e.subject, " ", e.actor, " ", e.has_value, " ", e.value, " ", e.has_status,
                      " ", e.status);
}

// What a reader gave, in order: "event ..." and "error ..." lines (an
// error with the stats just after it), then its stats and format.
struct Transcript {
  absl::Status open_status;
  std::vector<std::string> lines;
  std::string stats;
};

Transcript ReadAll(const std::string& bytes, const std::string& name, SymbolTable& symbols,
                   const ReaderOptions& options) {
  Transcript t;
  absl::StatusOr<std::unique_ptr<EventReader>> reader =
      EventReader::OpenBytes(bytes, name, symbols, options);
  t.open_status = reader.status();
  if (!reader.ok()) return t;
  auto stats_text = [&] {
    ReadResult counters;
    counters.stats = (*reader)->stats();
    counters.format = (*reader)->format();
    return StatsText(counters);
  };
  Event event;
  for (int calls = 0; calls < 10'000'000; ++calls) {
    absl::StatusOr<bool> got = (*reader)->Next(&event);
    if (!got.ok()) {
      // The stats too: a caller stopping at its first error reports them.
      t.lines.push_back(absl::StrCat("error ", got.status().ToString(), " with ", stats_text()));
      continue;
    }
    if (!*got) break;
    t.lines.push_back(absl::StrCat("event ", RawEvent(event)));
  }
  t.stats = stats_text();
  return t;
}

// Reads `bytes` plainly and with the decoding thread, into tables that both
// start with a name (an engine's table is never empty), and expects the same
// events and errors in the same order, the same stats and format, and the
// same symbol tables.
void ExpectSameAsPlainReader(const std::string& bytes, const std::string& name,
                             ReaderOptions options = {}) {
  SCOPED_TRACE(name);
  SymbolTable plain_symbols, threaded_symbols;
  for (SymbolTable* t : {&plain_symbols, &threaded_symbols}) t->Intern("*");
  options.decode_thread = false;
  const Transcript plain = ReadAll(bytes, name, plain_symbols, options);
  options.decode_thread = true;
  const Transcript threaded = ReadAll(bytes, name, threaded_symbols, options);

  ASSERT_EQ(plain.open_status, threaded.open_status);
  ASSERT_EQ(plain.lines.size(), threaded.lines.size());
  for (size_t i = 0; i < plain.lines.size(); ++i) {
    ASSERT_EQ(plain.lines[i], threaded.lines[i]) << "item " << i;
  }
  EXPECT_EQ(plain.stats, threaded.stats);
  ASSERT_EQ(plain_symbols.size(), threaded_symbols.size());
  for (size_t s = 0; s < plain_symbols.size(); ++s) {
    EXPECT_EQ(plain_symbols.Name(static_cast<Symbol>(s)),
              threaded_symbols.Name(static_cast<Symbol>(s)));
  }
}

// Native JSONL over many batches: new names all along, and bad lines of
// several kinds between good ones, some at batch edges.
std::string LongNativeInput(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    if (i % 97 == 5) {
      absl::StrAppend(&text, "{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"c\",\"kind\":\"nope\"}\n");
    } else if (i % 1024 == 1023) {
      absl::StrAppend(&text, "not json at all\n");
    } else if (i % 211 == 7) {
      absl::StrAppend(&text, "\n");  // blank: not a record
    } else {
      absl::StrAppend(&text, "{\"time\":", 1'793'613'600 + i / 10, ",\"entity\":\"container-",
                      i % 37, "\",\"group\":\"app-", i % 5, "\",\"kind\":\"request\",\"subject\":\"/r/",
                      i % 1500, "\",\"actor\":\"client-", i % 3, "\",\"value\":", i % 17,
                      ".25,\"status\":", 200 + i % 3, "}\n");
    }
  }
  return text;
}

TEST(ReadAhead, NativeInputOverManyBatchesIsReadAsByThePlainReader) {
  ExpectSameAsPlainReader(LongNativeInput(20'000), "long.jsonl");
}

TEST(ReadAhead, GzipAndATruncatedGzipAreReadAsByThePlainReader) {
  const std::string gz = testing_util::Gzip(LongNativeInput(5'000));
  ExpectSameAsPlainReader(gz, "long.jsonl.gz");
  // The truncated stream's kDataLoss comes after the events before it.
  ExpectSameAsPlainReader(gz.substr(0, gz.size() / 2), "truncated.jsonl.gz");
}

TEST(ReadAhead, AnInputOfOnlyBadLinesIsReadAsByThePlainReader) {
  std::string text;
  for (int i = 0; i < 3'000; ++i) absl::StrAppend(&text, "{\"entity\":", i, "}\n");
  ExpectSameAsPlainReader(text, "bad.jsonl");
  ExpectSameAsPlainReader("", "empty.jsonl");
}

TEST(ReadAhead, EverySampleAndFuzzCorpusFileIsReadAsByThePlainReader) {
  int files = 0;
  for (const char* dir : {"falco", "tetragon", "cloudtrail", "corpus"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(DataDir()) / dir)) {
      if (!entry.is_regular_file() || entry.path().filename() == "SOURCE.md") continue;
      const std::string relative = fs::relative(entry.path(), DataDir()).string();
      ReaderOptions options;
      // The corpus's folders name the format each file was fuzzed as.
      if (relative.rfind("corpus/", 0) == 0) {
        const std::string format = entry.path().parent_path().filename().string();
        if (std::optional<Format> f = FormatFromName(format)) options.format = *f;
      }
      ExpectSameAsPlainReader(ReadTextFile(entry.path().string()), relative, options);
      ++files;
    }
  }
  EXPECT_GT(files, 100);
}

TEST(ReadAhead, ManyRecordsWithoutEventsAreReadAsByThePlainReader) {
  // Falco's metrics snapshots are records skipped by design: batches end
  // by records read too.
  const std::string snapshots =
      ReadTextFile(DataDir() + "/falco/falco-website-docs-metrics-snapshots.jsonl");
  ASSERT_FALSE(snapshots.empty());
  std::string text;
  for (int i = 0; i < 2'000; ++i) text += snapshots;
  ExpectSameAsPlainReader(text, "snapshots.jsonl");
}

TEST(ReadAhead, AReaderAbandonedHalfWayStopsItsThread) {
  // Far more than the batches decoded ahead: the thread is waiting for room
  // when the reader is destroyed.
  const std::string text = LongNativeInput(200'000);
  SymbolTable symbols;
  ReaderOptions options;
  options.decode_thread = true;
  for (int taken : {0, 1, 5'000}) {
    auto reader = EventReader::OpenBytes(text, "long.jsonl", symbols, options);
    ASSERT_TRUE(reader.ok()) << reader.status();
    Event event;
    for (int i = 0; i < taken; ++i) (void)(*reader)->Next(&event);
    reader->reset();  // joins the thread; a hang here fails by timeout
  }
}

TEST(ReadAhead, AReaderBlockedOnAnEmptyPipeIsDestroyedWithoutWaitingForIt) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string path = absl::StrCat("/dev/fd/", fds[0]);
  EXPECT_FALSE(DecodeThreadPays(path));  // a pipe may be a live stream
  SymbolTable symbols;
  ReaderOptions options;
  options.decode_thread = true;
  auto reader = EventReader::Open(path, symbols, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  close(fds[0]);  // the reader has its own descriptor
  // Its thread is blocked reading: nothing was written, nothing closed.
  const auto before = std::chrono::steady_clock::now();
  reader->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
  // The thread ends once its read returns, and frees what it used.
  close(fds[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

TEST(ReadAhead, ItPaysForRegularFilesOnly) {
  const std::string path = ::testing::TempDir() + "/pays.jsonl";
  std::ofstream(path) << "\n";
  EXPECT_EQ(DecodeThreadPays(path), std::thread::hardware_concurrency() >= 2);
  EXPECT_FALSE(DecodeThreadPays("-"));
  EXPECT_FALSE(DecodeThreadPays(path + ".missing"));
  EXPECT_FALSE(DecodeThreadPays(::testing::TempDir()));
}

TEST(ReadAhead, AFileIsReadAsByThePlainReaderAndAMissingOneIsRefusedAtOpen) {
  const std::string path = ::testing::TempDir() + "/read_ahead.jsonl";
  std::ofstream(path) << LongNativeInput(3'000);
  SymbolTable plain_symbols, threaded_symbols;
  ReaderOptions options;
  const ReadResult plain = testing_util::ReadFile(path, plain_symbols, options);
  options.decode_thread = true;
  const ReadResult threaded = testing_util::ReadFile(path, threaded_symbols, options);
  ASSERT_EQ(plain.events.size(), threaded.events.size());
  for (size_t i = 0; i < plain.events.size(); ++i) {
    ASSERT_EQ(RawEvent(plain.events[i]), RawEvent(threaded.events[i]));
  }
  EXPECT_EQ(StatsText(plain), StatsText(threaded));

  auto missing = EventReader::Open(path + ".missing", threaded_symbols, options);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

// Names cut to kMaxSymbolBytes are counted in the reader's stats whichever
// table it reads into: with the decode thread that is a table of its own,
// and the caller's only ever sees the cut names.
TEST(ReadAhead, TruncatedNamesAreCountedInTheStatsAsByThePlainReader) {
  const std::string text =
      "{\"time\":1793613600,\"entity\":\"" + std::string(3000, 'x') + "\",\"kind\":\"exec\"}\n"
      "{\"time\":1793613601,\"entity\":\"c1\",\"kind\":\"exec\",\"subject\":\"" +
      std::string(2000, 'y') + "\"}\n"
      "{\"time\":1793613602,\"entity\":\"c2\",\"kind\":\"exec\"}\n";
  for (const bool decode_thread : {false, true}) {
    SCOPED_TRACE(decode_thread ? "decode thread" : "plain");
    SymbolTable symbols;
    ReaderOptions options;
    options.decode_thread = decode_thread;
    const ReadResult result = testing_util::ReadBytes(text, "in", symbols, options);
    EXPECT_EQ(result.events.size(), 3u);
    EXPECT_EQ(result.stats.symbols_truncated, 2u);
    EXPECT_EQ(symbols.truncated(), decode_thread ? 0u : 2u);
    EXPECT_EQ(symbols.Name(result.events[0].entity), std::string(kMaxSymbolBytes, 'x'));
  }
}

}  // namespace
}  // namespace timescan
