#include "timescan/timestamps.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl_compat.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace timescan {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / kNanosPerSecond;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil; tested against absl::FromCivil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate { int64_t year; unsigned month; unsigned day; };

CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, int n, int64_t* out) {
  if (*pos + n > s.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

absl::Status Malformed(std::string_view text, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "expected an RFC 3339 time like 2026-11-02T10:00:00.123Z, got \"",
      absl::CHexEscape(internal::ToAbsl(text.substr(0, 64))), "\": ", internal::ToAbsl(what)));
}

absl::Status OutOfRange(std::string_view text) {
  return absl::OutOfRangeError(absl::StrCat(
      "time \"", absl::CHexEscape(internal::ToAbsl(text.substr(0, 64))),
      "\" is outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z"));
}

}  // namespace

absl::StatusOr<int64_t> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year)) return Malformed(text, "bad year");
  if (pos >= text.size() || text[pos++] != '-') return Malformed(text, "expected '-' after the year");
  if (!ReadDigits(text, &pos, 2, &month) || month < 1 || month > 12)
    return Malformed(text, "bad month");
  if (pos >= text.size() || text[pos++] != '-') return Malformed(text, "expected '-' after the month");
  if (!ReadDigits(text, &pos, 2, &day) || day < 1 ||
      day > DaysInMonth(year, static_cast<unsigned>(month)))
    return Malformed(text, "bad day of month");
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
    return Malformed(text, "expected 'T' between date and time");
  ++pos;
  if (!ReadDigits(text, &pos, 2, &hour) || hour > 23) return Malformed(text, "bad hour");
  if (pos >= text.size() || text[pos++] != ':') return Malformed(text, "expected ':' after the hour");
  if (!ReadDigits(text, &pos, 2, &minute) || minute > 59) return Malformed(text, "bad minute");
  if (pos >= text.size() || text[pos++] != ':') return Malformed(text, "expected ':' after the minute");
  // 60 is a leap second; it is folded into the next second as POSIX time does.
  if (!ReadDigits(text, &pos, 2, &second) || second > 60) return Malformed(text, "bad second");
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return Malformed(text, "expected digits after '.'");
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos >= text.size()) return Malformed(text, "missing zone ('Z' or +HH:MM)");
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int64_t oh, om;
    if (!ReadDigits(text, &pos, 2, &oh) || oh > 23) return Malformed(text, "bad zone hour");
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (!ReadDigits(text, &pos, 2, &om) || om > 59) return Malformed(text, "bad zone minute");
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return Malformed(text, "bad zone ('Z' or +HH:MM expected)");
  }
  if (pos != text.size()) return Malformed(text, "unexpected characters after the zone");

  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  if (seconds < 0 || seconds > kMaxSeconds) return OutOfRange(text);
  int64_t result;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &result) ||
      __builtin_add_overflow(result, nanos, &result)) {
    return OutOfRange(text);
  }
  return result;
}

absl::StatusOr<int64_t> UnixSecondsToNanos(double seconds) {
  if (!std::isfinite(seconds)) {
    return absl::InvalidArgumentError("expected finite unix seconds, got NaN or infinity");
  }
  if (seconds < 0 || seconds >= static_cast<double>(kMaxSeconds)) {
    return absl::OutOfRangeError(absl::StrFormat(
        "unix seconds %.17g are outside 0..%d (1970..2262)", seconds, kMaxSeconds));
  }
  const double whole = std::floor(seconds);
  const auto nanos = static_cast<int64_t>(std::llround((seconds - whole) * 1e9));
  return static_cast<int64_t>(whole) * kNanosPerSecond + nanos;
}

std::string FormatRfc3339(int64_t time_ns) {
  int64_t seconds = time_ns / kNanosPerSecond;
  int64_t nanos = time_ns % kNanosPerSecond;
  if (nanos < 0) { nanos += kNanosPerSecond; --seconds; }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) { rem += 86400; --days; }
  const CivilDate date = CivilFromDays(days);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", date.year, date.month,
                                    date.day, rem / 3600, rem / 60 % 60, rem % 60);
  if (nanos != 0) {
    if (nanos % 1'000'000 == 0) {
      absl::StrAppendFormat(&out, ".%03d", nanos / 1'000'000);
    } else {
      absl::StrAppendFormat(&out, ".%09d", nanos);
    }
  }
  out += 'Z';
  return out;
}

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  const std::string_view original = text;
  text = internal::ToStd(absl::StripAsciiWhitespace(internal::ToAbsl(text)));
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a duration like 90s, 1min, 1m, 24h or 1h30m, got \"",
        absl::CHexEscape(internal::ToAbsl(original.substr(0, 64))), "\": ", internal::ToAbsl(why)));
  };
  if (text.empty()) return bad("empty");
  absl::Duration total = absl::ZeroDuration();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t number_end = pos;
    while (number_end < text.size() &&
           ((text[number_end] >= '0' && text[number_end] <= '9') || text[number_end] == '.'))
      ++number_end;
    if (number_end == pos) return bad("expected a number");
    double number = 0;
    if (!absl::SimpleAtod(internal::ToAbsl(text.substr(pos, number_end - pos)), &number)) return bad("bad number");
    size_t unit_end = number_end;
    while (unit_end < text.size() && absl::ascii_isalpha(text[unit_end])) ++unit_end;
    const std::string_view unit = text.substr(number_end, unit_end - number_end);
    absl::Duration one;
    if (unit == "ns") one = absl::Nanoseconds(1);
    else if (unit == "us") one = absl::Microseconds(1);
    else if (unit == "ms") one = absl::Milliseconds(1);
    else if (unit == "s" || unit == "sec") one = absl::Seconds(1);
    else if (unit == "m" || unit == "min") one = absl::Minutes(1);
    else if (unit == "h") one = absl::Hours(1);
    else if (unit == "d") one = absl::Hours(24);
    else return bad(unit.empty() ? "missing unit (ns, us, ms, s, m, min, h, d)"
                                 : "unknown unit (ns, us, ms, s, m, min, h, d)");
    if (number > 1e12) return bad("too large");
    total += number * one;
    pos = unit_end;
  }
  return total;
}

std::string FormatCompactDuration(absl::Duration duration) {
  struct Unit { absl::Duration size; const char* name; };
  static const Unit kUnits[] = {{absl::Hours(1), "h"},          {absl::Minutes(1), "m"},
                                {absl::Seconds(1), "s"},        {absl::Milliseconds(1), "ms"},
                                {absl::Microseconds(1), "us"}};
  if (duration == absl::ZeroDuration()) return "0s";
  for (const Unit& unit : kUnits) {
    absl::Duration rem;
    const int64_t n = absl::IDivDuration(duration, unit.size, &rem);
    if (n > 0 && rem == absl::ZeroDuration()) return absl::StrCat(n, unit.name);
  }
  return absl::StrCat(absl::ToInt64Nanoseconds(duration), "ns");
}

}  // namespace timescan
