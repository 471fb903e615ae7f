// Replays the fuzz regression corpus (tests/data/readers/corpus/<reader>/)
// through the readers, so the normal test command exercises every input a
// fuzzer once found interesting, without clang or libFuzzer.

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "readers/proto_stream.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

namespace fs = std::filesystem;

struct CorpusFile {
  std::string reader;  // the folder: a format name, or "auto"
  std::string path;
};

std::vector<CorpusFile> CorpusFiles() {
  std::vector<CorpusFile> files;
  const fs::path root = fs::path(testing_util::DataDir()) / "corpus";
  if (!fs::exists(root)) return files;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      if (entry.is_regular_file()) {
        files.push_back({dir.path().filename().string(), entry.path().string()});
      }
    }
  }
  std::sort(files.begin(), files.end(),
            [](const CorpusFile& a, const CorpusFile& b) { return a.path < b.path; });
  return files;
}

TEST(CorpusReplay, EveryInputEndsAndIsCounted) {
  const std::vector<CorpusFile> files = CorpusFiles();
  ASSERT_FALSE(files.empty()) << "no corpus under " << testing_util::DataDir();
  for (const CorpusFile& file : files) {
    SCOPED_TRACE(file.path);
    const std::string bytes = testing_util::ReadTextFile(file.path);
    if (file.reader == "proto_decoder") {
      // Single messages, without framing.
      SymbolTable symbols;
      internal::ProtoEventDecoder decoder;
      Event event;
      if (decoder.Decode(bytes, symbols, &event).ok()) {
        EXPECT_GE(event.time_ns, 0);
        EXPECT_NE(event.entity, kNoSymbol);
      }
      continue;
    }
    // native_scanner/ holds native JSONL found by the scanner's differential
    // fuzzer (native_jsonl_test compares the two paths on it too).
    const std::optional<Format> format =
        FormatFromName(file.reader == "native_scanner" ? "native" : file.reader);
    ASSERT_TRUE(format.has_value()) << "corpus folder is not a format name: " << file.reader;
    ReaderOptions options;
    options.format = *format;
    options.max_line_bytes = 4096;  // as the fuzzers run
    options.max_document_bytes = 64 << 10;
    SymbolTable symbols;
    const testing_util::ReadResult result =
        testing_util::ReadBytes(bytes, file.path, symbols, options, /*max_calls=*/1'000'000);
    ASSERT_TRUE(result.open_status.ok()) << result.open_status;
    EXPECT_LT(result.calls, 1'000'000) << "the reader did not end";
    EXPECT_EQ(result.stats.events, result.events.size());
    EXPECT_EQ(result.stats.bad_records, result.errors.size());
    for (const Event& e : result.events) {
      EXPECT_GE(e.time_ns, 0);
      EXPECT_LT(static_cast<int>(e.kind), kKindCount);
      EXPECT_TRUE(symbols.Contains(e.entity) && e.entity != kNoSymbol);
    }
  }
}

}  // namespace
}  // namespace timescan
