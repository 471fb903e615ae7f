#include "readers/native_jsonl.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "timescan/timestamps.h"

namespace timescan::internal {
namespace {

using simdjson::ondemand::json_type;

enum FieldBit : uint32_t {
  kTimeBit = 1, kEntityBit = 2, kGroupBit = 4, kKindBit = 8,
  kSubjectBit = 16, kActorBit = 32, kValueBit = 64, kStatusBit = 128,
};

constexpr std::string_view kKindsExpected =
    "one of exec, exit, connect, accept, request, api, file, syscall, metric";

// Reads a JSON number as a double. Debian 12's simdjson (3.0.1) misreads
// "0." followed by 20 or more digits (simdjson issue #2093), so its check
// of the number stays but the token is read again with std::from_chars,
// which rounds correctly (as the plain-line scanner does).
simdjson::error_code GetDouble(simdjson::ondemand::value& value, double* out) {
  std::string_view token = value.raw_json_token();
  if (auto e = value.get_double().get(*out); e) return e;
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  double exact;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), exact);
  if (ec == std::errc() && end == token.data() + token.size()) *out = exact;
  return simdjson::SUCCESS;
}

// The scanner of the plain subset (see native_jsonl.h). It returns false as
// soon as anything falls outside the subset or looks wrong, leaving the line
// to simdjson; what it accepts, simdjson reads to the same fields.
class PlainLineScanner {
 public:
  PlainLineScanner(std::string_view line, NativeJsonDecoder::SecondMemo* memo,
                   const InternCache* interned)
      : p_(line.data()), end_(line.data() + line.size()), memo_(memo), interned_(interned) {}

  bool Scan(NativeJsonDecoder::Fields* fields) {
    SkipSpace();
    if (!Consume('{')) return false;
    SkipSpace();
    if (Consume('}')) return AtEnd();
    while (true) {
      std::string_view key;
      if (!String(&key)) return false;
      SkipSpace();
      if (!Consume(':')) return false;
      SkipSpace();
      if (!Field(key, fields)) return false;
      SkipSpace();
      if (Consume(',')) {
        SkipSpace();
        continue;
      }
      return Consume('}') && AtEnd();
    }
  }

 private:
  bool Field(std::string_view key, NativeJsonDecoder::Fields* fields) {
    const FieldBit bit = BitOf(key);
    if (fields->seen & bit) return false;  // a duplicate: simdjson words the error
    fields->seen |= bit;
    switch (bit) {
      case kTimeBit: return Time(&fields->time_ns);
      case kEntityBit: return SymbolText(bit, &fields->entity, fields);
      case kGroupBit: return SymbolText(bit, &fields->group, fields);
      case kKindBit: return StringOrNull(bit, &fields->kind_name, fields);
      case kSubjectBit: return SymbolText(bit, &fields->subject, fields);
      case kActorBit: return SymbolText(bit, &fields->actor, fields);
      case kValueBit: return Value(fields);
      case kStatusBit: return Status(fields);
    }
    return SkipUnknownValue();
  }

  // kNoBit for a key that is not the schema's.
  static constexpr FieldBit kNoBit = static_cast<FieldBit>(0);
  static FieldBit BitOf(std::string_view key) {
    switch (key.size()) {
      case 4:
        if (key == "time") return kTimeBit;
        if (key == "kind") return kKindBit;
        break;
      case 5:
        if (key == "group") return kGroupBit;
        if (key == "actor") return kActorBit;
        if (key == "value") return kValueBit;
        break;
      case 6:
        if (key == "entity") return kEntityBit;
        if (key == "status") return kStatusBit;
        break;
      case 7:
        if (key == "subject") return kSubjectBit;
        break;
    }
    return kNoBit;
  }

  bool Time(int64_t* time_ns) {
    if (Peek() == '"') {
      std::string_view text;
      if (!String(&text)) return false;
      const std::optional<int64_t> nanos = UtcFraction(text);
      if (nanos && memo_->seconds_ns >= 0 && SameSecond(text.data(), memo_->prefix)) {
        *time_ns = memo_->seconds_ns + *nanos;
        return true;
      }
      absl::StatusOr<int64_t> t = ParseRfc3339(text);
      if (!t.ok()) return false;
      *time_ns = *t;
      // Then memo + fraction is what ParseRfc3339 gives for any fraction,
      // unless the sum could leave int64 (times near 2262 are not memoised).
      if (nanos && *t - *nanos <= std::numeric_limits<int64_t>::max() - 999'999'999) {
        std::memcpy(memo_->prefix, text.data(), kSecondsPrefix);
        memo_->seconds_ns = *t - *nanos;
      }
      return true;
    }
    double seconds;
    if (!Number(&seconds)) return false;
    absl::StatusOr<int64_t> t = UnixSecondsToNanos(seconds);
    if (!t.ok()) return false;
    *time_ns = *t;
    return true;
  }

  static constexpr ptrdiff_t kMaxNumberToken = 32;
  // "YYYY-MM-DDTHH:MM:SS" is this long.
  static constexpr size_t kSecondsPrefix = 19;

  // Whether the first kSecondsPrefix bytes of `a` and `b` are equal, by
  // three overlapping words: a memcmp call cost more than the comparison.
  static bool SameSecond(const char* a, const char* b) {
    static_assert(kSecondsPrefix > 16 && kSecondsPrefix <= 24);
    uint64_t a0, a1, a2, b0, b1, b2;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + 8, 8);
    std::memcpy(&b1, b + 8, 8);
    std::memcpy(&a2, a + kSecondsPrefix - 8, 8);
    std::memcpy(&b2, b + kSecondsPrefix - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
  }

  // The nanoseconds of an RFC 3339 text's tail after its seconds when that
  // tail is "Z" or "." and 1 to 9 digits then "Z"; nullopt for any other
  // form (zone offsets, lower case, more digits: ParseRfc3339 reads those).
  static std::optional<int64_t> UtcFraction(std::string_view text) {
    if (text.size() < kSecondsPrefix + 1 || text.back() != 'Z') return std::nullopt;
    const std::string_view tail = text.substr(kSecondsPrefix, text.size() - kSecondsPrefix - 1);
    if (tail.empty()) return 0;
    if (tail[0] != '.' || tail.size() < 2 || tail.size() > 10) return std::nullopt;
    int64_t nanos = 0;
    for (char c : tail.substr(1)) {
      if (!IsDigit(c)) return std::nullopt;
      nanos = nanos * 10 + (c - '0');
    }
    // Nanoseconds per unit of the last of 1..9 fraction digits.
    static constexpr int64_t kUnitNanos[10] = {
        0, 100'000'000, 10'000'000, 1'000'000, 100'000, 10'000, 1'000, 100, 10, 1};
    return nanos * kUnitNanos[tail.size() - 1];
  }

  // A string, or null for absent (the bit stays out of `given`).
  bool StringOrNull(FieldBit bit, std::string_view* out, NativeJsonDecoder::Fields* fields) {
    if (Peek() == 'n') return Literal("null");
    if (!String(out)) return false;
    fields->given |= bit;
    return true;
  }

  // A string to be interned: its cache set is fetched now, so that the
  // cache miss overlaps the scan of the rest of the line.
  bool SymbolText(FieldBit bit, std::string_view* out, NativeJsonDecoder::Fields* fields) {
    if (!StringOrNull(bit, out, fields)) return false;
    if (fields->given & bit) interned_->Prefetch(*out);
    return true;
  }

  bool Value(NativeJsonDecoder::Fields* fields) {
    if (Peek() == 'n') return Literal("null");
    if (!Number(&fields->value)) return false;
    fields->given |= kValueBit;
    return true;
  }

  bool Status(NativeJsonDecoder::Fields* fields) {
    if (Peek() == 'n') return Literal("null");
    const char* start = p_;
    if (!NumberToken(/*integer_only=*/true)) return false;
    int64_t status;
    const auto [end, error] = std::from_chars(start, p_, status);
    if (error != std::errc() || end != p_) return false;
    if (status < std::numeric_limits<int32_t>::min() ||
        status > std::numeric_limits<int32_t>::max()) {
      return false;
    }
    fields->status = static_cast<int32_t>(status);
    fields->given |= kStatusBit;
    return true;
  }

  // Unknown fields are ignored, as in the simdjson path, but only flat ones
  // are skipped here.
  bool SkipUnknownValue() {
    switch (Peek()) {
      case '"': {
        std::string_view ignored;
        return String(&ignored);
      }
      case 'n': return Literal("null");
      case 't': return Literal("true");
      case 'f': return Literal("false");
      default: {
        double ignored;
        return Number(&ignored);
      }
    }
  }

  // A string of printable ASCII without escapes; its text is a view of the
  // line. Anything else (escapes, control characters, UTF-8 that simdjson
  // must validate) is left to simdjson.
  bool String(std::string_view* out) {
    if (!Consume('"')) return false;
    const char* start = p_;
    if (!MoveToClosingQuote()) return false;
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

  // Moves to the first byte that is a quote, a backslash, a control
  // character or part of a UTF-8 sequence; true if it is a quote. Eight
  // bytes at a time (SWAR): each term below flags its bytes exactly up to
  // its first flagged one, so the lowest flagged byte is the first special.
  bool MoveToClosingQuote() {
    if constexpr (std::endian::native == std::endian::little) {
      constexpr uint64_t kOnes = 0x0101010101010101ULL;
      constexpr uint64_t kHighs = 0x8080808080808080ULL;
      while (end_ - p_ >= 8) {
        uint64_t word;
        std::memcpy(&word, p_, 8);
        const uint64_t quote = word ^ (kOnes * '"');
        const uint64_t backslash = word ^ (kOnes * '\\');
        const uint64_t flagged = (((quote - kOnes) & ~quote) |
                                  ((backslash - kOnes) & ~backslash) |
                                  (word - kOnes * 0x20) | word) & kHighs;
        if (flagged != 0) {
          p_ += std::countr_zero(flagged) / 8;
          return *p_ == '"';
        }
        p_ += 8;
      }
    }
    for (; p_ < end_; ++p_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') return true;
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }

  // A JSON number as a double, correctly rounded like simdjson's; false
  // for a value out of the double range.
  bool Number(double* out) {
    const char* start = p_;
    if (!NumberToken(/*integer_only=*/false)) return false;
    if (ExactDecimal(start, p_, out)) return true;
    const auto [end, error] = std::from_chars(start, p_, *out);
    return error == std::errc() && end == p_ && std::isfinite(*out);
  }

  // Reads a number token without an exponent and of at most 19 digits
  // whose digits make an integer up to 2^53, as sensors write latencies and
  // byte counts ("12.5"). Both that integer and the power of ten are exact
  // doubles, so their quotient is correctly rounded (Clinger's fast path),
  // bit for bit what std::from_chars gives, at a fraction of its cost.
  // False for every other token.
  static bool ExactDecimal(const char* p, const char* end, double* out) {
    static constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                              1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                              1e14, 1e15, 1e16, 1e17, 1e18};
    const bool negative = *p == '-';
    p += negative;
    uint64_t mantissa = 0;
    int digits = 0, fraction_digits = 0;
    bool in_fraction = false;
    for (; p < end; ++p) {
      if (*p == '.') {
        in_fraction = true;
        continue;
      }
      if (!IsDigit(*p) || ++digits > 19) return false;
      mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
      fraction_digits += in_fraction;
    }
    if (mantissa > (uint64_t{1} << 53)) return false;
    const double value = static_cast<double>(mantissa) / kPowersOfTen[fraction_digits];
    *out = negative ? -value : value;
    return true;
  }

  // Moves past a token of JSON's number grammar:
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  // Tokens longer than kMaxNumberToken, and exponents of more than three
  // digits, are left to simdjson: it refuses some that std::from_chars
  // reads (0E-333...3 is 0 to one, "a problem while parsing" to the other).
  bool NumberToken(bool integer_only) {
    const char* start = p_;
    Consume('-');
    if (Consume('0')) {
      if (IsDigit(Peek())) return false;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.' || Peek() == 'e' || Peek() == 'E') {
      if (integer_only) return false;
      if (Consume('.') && !Digits()) return false;
      if (Consume('e') || Consume('E')) {
        if (!Consume('+')) Consume('-');
        const char* exponent = p_;
        if (!Digits() || p_ - exponent > 3) return false;
      }
    }
    if (p_ - start > kMaxNumberToken) return false;
    return AtValueEnd();
  }

  // Whether a number or literal ends here: at the next structural character
  // or a space, as simdjson requires (it rejects "12abc" and "nullx").
  bool AtValueEnd() const {
    const char next = Peek();
    return next == ',' || next == '}' || next == ' ' || next == '\t' || next == '\r';
  }

  bool Digits() {
    const char* start = p_;
    while (IsDigit(Peek())) ++p_;
    return p_ != start;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return AtValueEnd();
  }

  // Most calls find no space: one comparison settles those.
  void SkipSpace() {
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) {
      ++p_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }
  // The next byte; '\0' at the end of the line.
  char Peek() const { return p_ < end_ ? *p_ : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || p_ == end_) return false;
    ++p_;
    return true;
  }

  const char* p_;
  const char* end_;
  NativeJsonDecoder::SecondMemo* memo_;
  const InternCache* interned_;
};

}  // namespace

bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

std::string_view JsonErrorText(simdjson::error_code error) {
  return simdjson::error_message(error);
}

absl::Status NativeJsonDecoder::Decode(std::string_view line, bool padded,
                                       SymbolTable& symbols, Event* event) {
  scanned_.seen = 0;
  scanned_.given = 0;
  if (PlainLineScanner(line, &second_memo_, &interned_).Scan(&scanned_)) {
    ++scanned_lines_;
    return Finish(scanned_, symbols, event);
  }
  return DecodeWithSimdjson(line, padded, symbols, event);
}

absl::Status NativeJsonDecoder::DecodeWithSimdjson(std::string_view line, bool padded,
                                                   SymbolTable& symbols, Event* event) {
  simdjson::padded_string_view input;
  if (padded) {
    input = simdjson::padded_string_view(line.data(), line.size(),
                                         line.size() + simdjson::SIMDJSON_PADDING);
  } else {
    padded_copy_.assign(line);
    padded_copy_.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
    input = simdjson::padded_string_view(padded_copy_.data(), line.size(), padded_copy_.size());
  }
  auto not_json = [](simdjson::error_code e) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one JSON object per line: ", ToAbsl(JsonErrorText(e))));
  };

  simdjson::ondemand::document doc;
  if (auto e = parser_.iterate(input).get(doc); e) return not_json(e);
  simdjson::ondemand::object object;
  if (auto e = doc.get_object().get(object); e) return not_json(e);

  Fields out;
  uint32_t& seen = out.seen;
  for (auto field_result : object) {
    if (auto e = field_result.error(); e) return not_json(e);
    simdjson::ondemand::field field = field_result.value_unsafe();
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return not_json(e);
    simdjson::ondemand::value value = field.value();

    auto mark = [&](FieldBit bit) -> absl::Status {
      if (seen & bit) {
        return FieldError(key, "appears twice; expected each field at most once");
      }
      seen |= bit;
      return absl::OkStatus();
    };
    // Reads a string field; null counts as absent.
    auto read_string = [&](FieldBit bit, std::string_view* out_text) -> absl::Status {
      if (auto s = mark(bit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) return CheckNull(value, key);
      if (type != json_type::string) {
        return FieldError(key, absl::StrCat("expected a string, got ", ToAbsl(JsonTypeName(type))));
      }
      if (auto e = value.get_string().get(*out_text); e) return FieldError(key, JsonErrorText(e));
      out.given |= bit;
      return absl::OkStatus();
    };

    if (key == "time") {
      if (auto s = mark(kTimeBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::string) {
        std::string_view text;
        if (auto e = value.get_string().get(text); e) return FieldError(key, JsonErrorText(e));
        absl::StatusOr<int64_t> t = ParseRfc3339(text);
        if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("field 'time': ", t.status().message()));
        out.time_ns = *t;
      } else if (type == json_type::number) {
        double seconds;
        if (auto e = GetDouble(value, &seconds); e) {
          return FieldError(key, absl::StrCat("expected unix seconds as a finite number: ",
                                              ToAbsl(JsonErrorText(e))));
        }
        absl::StatusOr<int64_t> t = UnixSecondsToNanos(seconds);
        if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat("field 'time': ", t.status().message()));
        out.time_ns = *t;
      } else {
        return FieldError(key, absl::StrCat("expected an RFC 3339 string or unix seconds, got ",
                                            ToAbsl(JsonTypeName(type))));
      }
    } else if (key == "entity") {
      if (auto s = read_string(kEntityBit, &out.entity); !s.ok()) return s;
    } else if (key == "group") {
      if (auto s = read_string(kGroupBit, &out.group); !s.ok()) return s;
    } else if (key == "kind") {
      if (auto s = read_string(kKindBit, &out.kind_name); !s.ok()) return s;
    } else if (key == "subject") {
      if (auto s = read_string(kSubjectBit, &out.subject); !s.ok()) return s;
    } else if (key == "actor") {
      if (auto s = read_string(kActorBit, &out.actor); !s.ok()) return s;
    } else if (key == "value") {
      if (auto s = mark(kValueBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) {
        if (absl::Status s = CheckNull(value, key); !s.ok()) return s;
        continue;
      }
      if (type != json_type::number) {
        return FieldError(key, absl::StrCat("expected a number, got ", ToAbsl(JsonTypeName(type))));
      }
      double v;
      if (auto e = GetDouble(value, &v); e || !std::isfinite(v)) {
        return FieldError(key, "expected a finite number (a double)");
      }
      out.value = v;
      out.given |= kValueBit;
    } else if (key == "status") {
      if (auto s = mark(kStatusBit); !s.ok()) return s;
      json_type type;
      if (auto e = value.type().get(type); e) return FieldError(key, JsonErrorText(e));
      if (type == json_type::null) {
        if (absl::Status s = CheckNull(value, key); !s.ok()) return s;
        continue;
      }
      if (type != json_type::number) {
        return FieldError(key, absl::StrCat("expected an integer, got ", ToAbsl(JsonTypeName(type))));
      }
      int64_t v;
      if (auto e = value.get_int64().get(v); e || v < std::numeric_limits<int32_t>::min() ||
                                             v > std::numeric_limits<int32_t>::max()) {
        return FieldError(key, "expected an integer in the 32-bit range");
      }
      out.status = static_cast<int32_t>(v);
      out.given |= kStatusBit;
    }
    // Unknown fields are ignored; On-Demand skips their values.
  }
  // simdjson 3.0 has no document::at_end(): a location inside the input
  // means bytes follow the object.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError("expected the line to end after its JSON object");
  }
  return Finish(out, symbols, event);
}

absl::Status NativeJsonDecoder::Finish(const Fields& fields, SymbolTable& symbols, Event* event) {
  auto text = [&](FieldBit bit, std::string_view given) {
    return fields.given & bit ? given : std::string_view();
  };
  const std::string_view entity = text(kEntityBit, fields.entity);
  const std::string_view group = text(kGroupBit, fields.group);
  const std::string_view kind_name = text(kKindBit, fields.kind_name);
  if (!(fields.seen & kTimeBit)) {
    return FieldError("time", "missing; expected an RFC 3339 string or unix seconds");
  }
  if (entity.empty()) return FieldError("entity", "missing or empty; expected the container id");
  if (kind_name.empty()) {
    return FieldError("kind", absl::StrCat("missing; expected ", ToAbsl(kKindsExpected)));
  }
  std::optional<Kind> kind = KindFromName(kind_name);
  if (!kind) {
    return FieldError("kind", absl::StrCat("expected ", ToAbsl(kKindsExpected), "; got ",
                                           QuotedForError(kind_name)));
  }
  Event out;
  out.time_ns = fields.time_ns;
  out.kind = *kind;
  out.entity = interned_.Intern(symbols, entity);
  out.group = group.empty() ? kNoSymbol : interned_.Intern(symbols, group);
  out.subject = interned_.Intern(symbols, text(kSubjectBit, fields.subject));
  out.actor = interned_.Intern(symbols, text(kActorBit, fields.actor));
  out.has_value = fields.given & kValueBit;
  out.value = out.has_value ? fields.value : 0;
  out.has_status = fields.given & kStatusBit;
  out.status = out.has_status ? fields.status : 0;
  *event = out;
  return absl::OkStatus();
}

}  // namespace timescan::internal
