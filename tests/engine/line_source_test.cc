#include "readers/line_source.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

std::string Gzip(const std::string& text) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(text.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  s.avail_in = static_cast<uInt>(text.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::vector<std::string> ReadAll(LineSource& source, std::vector<std::string>* errors) {
  std::vector<std::string> lines;
  std::string_view line;
  while (true) {
    absl::StatusOr<bool> got = source.Next(&line);
    if (!got.ok()) {
      errors->push_back(std::string(got.status().message()));
      if (absl::IsDataLoss(got.status())) break;
      continue;
    }
    if (!*got) break;
    lines.emplace_back(line);
  }
  return lines;
}

TEST(LineSource, SplitsLinesAndStripsCarriageReturns) {
  auto source = *LineSource::FromBytes("a\r\nbb\n\nlast", "mem", 1024);
  std::vector<std::string> errors;
  EXPECT_EQ(ReadAll(*source, &errors), (std::vector<std::string>{"a", "bb", "", "last"}));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(source->line_number(), 4);
}

TEST(LineSource, SkipsAnOverlongLineAndReportsIt) {
  const std::string text = "ok1\n" + std::string(5'000'000, 'x') + "\nok2\n";
  auto source = *LineSource::FromBytes(text, "mem", 1000);
  std::vector<std::string> errors;
  EXPECT_EQ(ReadAll(*source, &errors), (std::vector<std::string>{"ok1", "ok2"}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("mem:2: line longer than the limit of 1000 bytes"), std::string::npos);
}

TEST(LineSource, ReadsGzipTransparently) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "line " + std::to_string(i) + "\n";
  auto source = *LineSource::FromBytes(Gzip(text), "mem.gz", 1024);
  std::vector<std::string> errors;
  const std::vector<std::string> lines = ReadAll(*source, &errors);
  ASSERT_EQ(lines.size(), 100000u);
  EXPECT_EQ(lines.back(), "line 99999");
  EXPECT_TRUE(errors.empty());
}

TEST(LineSource, AGzipStreamCutInHalfIsDataLoss) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "line " + std::to_string(i) + "\n";
  std::string gz = Gzip(text);
  gz.resize(gz.size() / 2);
  auto source = *LineSource::FromBytes(gz, "cut.gz", 1024);
  std::vector<std::string> errors;
  const std::vector<std::string> lines = ReadAll(*source, &errors);
  EXPECT_LT(lines.size(), 10000u);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("truncated"), std::string::npos) << errors.back();
}

TEST(LineSource, MissingFileIsNotFound) {
  EXPECT_EQ(LineSource::Open("/nonexistent/file.jsonl", 1024).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace timescan::internal
