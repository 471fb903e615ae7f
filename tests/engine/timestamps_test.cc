#include "timescan/timestamps.h"

#include <random>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace timescan {
namespace {

TEST(ParseRfc3339, AgreesWithAbseilOnRandomTimes) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    // Any second in 1970..2262, with a random fraction and zone offset.
    const int64_t seconds = static_cast<int64_t>(rng() % 9'200'000'000ULL);
    const int64_t nanos = static_cast<int64_t>(rng() % 1'000'000'000);
    const int offset_minutes = static_cast<int>(rng() % (2 * 14 * 60 + 1)) - 14 * 60;
    const absl::Time t = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
    const absl::TimeZone zone = absl::FixedTimeZone(offset_minutes * 60);
    const std::string text = absl::FormatTime("%Y-%m-%d%ET%H:%M:%E9S%Ez", t, zone);
    absl::StatusOr<int64_t> parsed = ParseRfc3339(text);
    const int64_t expected = absl::ToUnixNanos(t);
    if (expected < 0 || seconds > 9'223'372'035LL) continue;
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(ParseRfc3339, AcceptsTheRfcVariants) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("1970-01-01t00:00:01.5z"), 1'500'000'000);
  EXPECT_EQ(*ParseRfc3339("1970-01-01 01:00:00+01:00"), 0);
  EXPECT_EQ(*ParseRfc3339("2016-08-04T16:17:57.881781397Z") % 1'000'000'000, 881781397);
  // More than nine fraction digits are read and truncated.
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00.1234567891Z"), 123456789);
  EXPECT_EQ(*ParseRfc3339("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
}

TEST(ParseRfc3339, RejectsWhatIsNotOne) {
  for (const char* bad : {"", "2026", "2026-11-02", "2026-11-02T10:00:00", "2026-02-30T00:00:00Z",
                          "2026-11-02T24:00:00Z", "2026-11-02T10:00:00.Z", "2026-11-02T10:00:00Zjunk",
                          "2026-11-02T10:00:00+2500", "26-11-02T10:00:00Z", "2026-11-02T10:0:00Z"}) {
    EXPECT_EQ(ParseRfc3339(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59Z").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseRfc3339("2262-04-11T23:47:17Z").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59Z").status().code(), absl::StatusCode::kOutOfRange);
}

TEST(UnixSecondsToNanos, ConvertsAndRejectsNonFinite) {
  EXPECT_EQ(*UnixSecondsToNanos(1.5), 1'500'000'000);
  EXPECT_EQ(*UnixSecondsToNanos(1700000000), 1'700'000'000'000'000'000);
  EXPECT_FALSE(UnixSecondsToNanos(std::nan("")).ok());
  EXPECT_FALSE(UnixSecondsToNanos(INFINITY).ok());
  EXPECT_FALSE(UnixSecondsToNanos(-1).ok());
  EXPECT_FALSE(UnixSecondsToNanos(1e19).ok());
}

TEST(FormatRfc3339, RoundTrips) {
  for (int64_t t : {int64_t{0}, int64_t{1'793'577'600'000'000'000}, int64_t{1'793'577'600'123'000'000},
                    int64_t{1'793'577'600'123'456'789}, INT64_MAX}) {
    EXPECT_EQ(*ParseRfc3339(FormatRfc3339(t)), t);
  }
  EXPECT_EQ(FormatRfc3339(1'793'577'600'123'000'000), "2026-11-02T00:00:00.123Z");
}

TEST(ParseDuration, ReadsTheUnitsOfTheCli) {
  EXPECT_EQ(*ParseDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("1min"), absl::Minutes(1));
  EXPECT_EQ(*ParseDuration("1m"), absl::Minutes(1));
  EXPECT_EQ(*ParseDuration("24h"), absl::Hours(24));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("2d"), absl::Hours(48));
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("1.5h"), absl::Minutes(90));
  for (const char* bad : {"", "1", "m", "1 fortnight", "-1s", "1e9999h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatCompactDuration(absl::Minutes(1)), "1m");
  EXPECT_EQ(FormatCompactDuration(absl::Seconds(90)), "90s");
  EXPECT_EQ(FormatCompactDuration(absl::Hours(24)), "24h");
}

}  // namespace
}  // namespace timescan
