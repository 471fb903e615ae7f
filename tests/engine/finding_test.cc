#include "timescan/finding.h"

#include "gtest/gtest.h"
#include "simdjson.h"

namespace timescan {
namespace {

TEST(FindingToJson, WritesEveryFieldAndEscapesHostileStrings) {
  Finding f;
  f.entity = "c\"1\n";
  f.group = "web\xff";  // invalid UTF-8
  f.window_start_ns = 1'793'577'600'000'000'000;
  f.window_end_ns = f.window_start_ns + 60'000'000'000;
  f.score = 7.25;
  f.severity = Severity::kHigh;
  f.reasons.push_back(Reason{"categorical", "exec.subject", "/tmp/x\x01 (new)", "known: /bin/sh", 1e-8});
  const std::string json = FindingToJson(f);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(doc["entity"]), "c\"1\n");
  EXPECT_EQ(std::string_view(doc["group"]), "web\xEF\xBF\xBD");
  EXPECT_EQ(std::string_view(doc["window_start"]), "2026-11-02T00:00:00Z");
  EXPECT_EQ(std::string_view(doc["window_end"]), "2026-11-02T00:01:00Z");
  EXPECT_EQ(double(doc["score"]), 7.25);
  EXPECT_EQ(std::string_view(doc["severity"]), "high");
  simdjson::dom::element reason = doc["reasons"].at(0);
  EXPECT_EQ(std::string_view(reason["model"]), "categorical");
  EXPECT_EQ(std::string_view(reason["observed"]), "/tmp/x\x01 (new)");
  EXPECT_EQ(double(reason["p_value"]), 1e-8);
}

}  // namespace
}  // namespace timescan
