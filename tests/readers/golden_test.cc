// Every real sample copied into tests/data/readers maps to the events in its
// golden file (tests/data/readers/golden/<sample>.events.jsonl), with the
// counters, skip reasons and errors in <sample>.stats.txt.
//
// To regenerate after a deliberate mapping change, run the test with
// TIMESCAN_UPDATE_GOLDEN=1 and review the diff line by line against the
// source records: a golden file that freezes a bug is worthless.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

namespace fs = std::filesystem;
using testing_util::DataDir;
using testing_util::EventLines;
using testing_util::ReadBytes;
using testing_util::ReadResult;
using testing_util::ReadTextFile;
using testing_util::StatsText;

// Sample paths relative to DataDir(), sorted.
std::vector<std::string> SampleFiles() {
  std::vector<std::string> files;
  for (const char* dir : {"falco", "tetragon", "cloudtrail"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(DataDir()) / dir)) {
      if (!entry.is_regular_file() || entry.path().filename() == "SOURCE.md") continue;
      files.push_back(fs::relative(entry.path(), DataDir()).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Format FormatOfSample(const std::string& relative) {
  if (relative.rfind("falco/", 0) == 0) return Format::kFalco;
  if (relative.rfind("tetragon/", 0) == 0) return Format::kTetragon;
  return Format::kCloudTrail;
}

bool UpdateGolden() {
  const char* update = std::getenv("TIMESCAN_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, SampleMapsToGoldenEvents) {
  const std::string relative = GetParam();
  const std::string bytes = ReadTextFile(DataDir() + "/" + relative);
  ASSERT_FALSE(bytes.empty()) << relative;
  SymbolTable symbols;
  const ReadResult result = ReadBytes(bytes, relative, symbols);
  ASSERT_TRUE(result.open_status.ok()) << result.open_status;
  const std::string events = EventLines(result.events, symbols);
  const std::string stats = StatsText(result);

  const fs::path golden = fs::path(DataDir()) / "golden" / relative;
  const std::string events_path = golden.string() + ".events.jsonl";
  const std::string stats_path = golden.string() + ".stats.txt";
  if (UpdateGolden()) {
    WriteFile(events_path, events);
    WriteFile(stats_path, stats);
  }
  EXPECT_EQ(result.format, FormatOfSample(relative));
  EXPECT_EQ(events, ReadTextFile(events_path)) << "golden file " << events_path;
  EXPECT_EQ(stats, ReadTextFile(stats_path)) << "golden file " << stats_path;

  // Every record yields one event, a counted skip or an error.
  uint64_t skipped = 0;
  for (const auto& [reason, count] : result.stats.skipped) skipped += count;
  EXPECT_EQ(result.stats.records, result.stats.events + skipped + result.stats.bad_records);
  EXPECT_EQ(result.stats.events, result.events.size());
  EXPECT_EQ(result.stats.bad_records, result.errors.size());
}

TEST_P(GoldenTest, GzippedSampleGivesTheSameEvents) {
  const std::string relative = GetParam();
  const std::string bytes = ReadTextFile(DataDir() + "/" + relative);
  SymbolTable plain_symbols, gzip_symbols;
  const ReadResult plain = ReadBytes(bytes, relative, plain_symbols);
  const ReadResult gzipped = ReadBytes(testing_util::Gzip(bytes), relative, gzip_symbols);
  EXPECT_EQ(EventLines(gzipped.events, gzip_symbols), EventLines(plain.events, plain_symbols));
  EXPECT_EQ(StatsText(gzipped), StatsText(plain));
}

TEST_P(GoldenTest, GoldenEventsReadBackAsNativeJsonl) {
  // The golden lines are native JSONL with full nanosecond times: reading
  // them back gives the same lines, so nothing is lost in the format.
  const std::string events_path =
      (fs::path(DataDir()) / "golden" / GetParam()).string() + ".events.jsonl";
  const std::string golden = ReadTextFile(events_path);
  if (golden.empty()) GTEST_SKIP() << "no events in " << events_path;
  SymbolTable symbols;
  ReaderOptions options;
  options.format = Format::kNative;
  const ReadResult result = ReadBytes(golden, events_path, symbols, options);
  EXPECT_THAT(result.errors, ::testing::IsEmpty());
  EXPECT_EQ(EventLines(result.events, symbols), golden);
}

INSTANTIATE_TEST_SUITE_P(Samples, GoldenTest, ::testing::ValuesIn(SampleFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace timescan
