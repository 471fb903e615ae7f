// timescan/timestamps.h
//
// Provides parsing and formatting of event times and durations.
//
//   absl::StatusOr<int64_t> t = timescan::ParseRfc3339("2026-11-02T10:00:00.123Z");
//   absl::StatusOr<absl::Duration> w = timescan::ParseDuration("1min");
//
// Times are int64 nanoseconds since the unix epoch, so the representable
// range is 1970-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z; timescan
// rejects earlier times (they are almost always a zero or a unit error).

#ifndef TIMESCAN_TIMESTAMPS_H_
#define TIMESCAN_TIMESTAMPS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace timescan {

// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
// 't' and ' ' are accepted for 'T', 'z' for 'Z'; up to 9 fraction digits are
// kept, more are read and truncated. Returns kInvalidArgument saying what was
// expected, or kOutOfRange outside 1970..2262.
absl::StatusOr<int64_t> ParseRfc3339(std::string_view text);

// Converts unix seconds (with fraction) to nanoseconds. Returns
// kInvalidArgument for NaN or infinity and kOutOfRange outside 1970..2262.
absl::StatusOr<int64_t> UnixSecondsToNanos(double seconds);

// Formats `time_ns` as RFC 3339 in UTC: seconds, then milliseconds only when
// non-zero ("2026-11-02T10:00:00Z", "2026-11-02T10:00:00.123Z").
std::string FormatRfc3339(int64_t time_ns);

// Parses a duration: a number and a unit (ns, us, ms, s, m, min, h, d), or
// a sequence of them ("1h30m"). Returns kInvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);

// Formats a duration compactly with the same units ("1m", "24h", "90s").
std::string FormatCompactDuration(absl::Duration duration);

}  // namespace timescan

#endif  // TIMESCAN_TIMESTAMPS_H_
