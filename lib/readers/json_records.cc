#include "readers/json_records.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"

namespace timescan::internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The bytes that matter while skipping a nested value.
constexpr std::array<bool, 256> kStructural = [] {
  std::array<bool, 256> table{};
  for (char c : {'"', '{', '}', '[', ']'}) table[static_cast<uint8_t>(c)] = true;
  return table;
}();

// Ends a scalar (number, true, false, null) at a delimiter.
bool EndsScalar(char c) {
  return IsSpace(c) || c == ',' || c == ']' || c == '}' || c == '[' || c == '{' || c == '"' ||
         c == ':';
}

std::string Shown(char c) {
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(&c, 1)), "'");
}

constexpr std::string_view kRecordsKey = "\"Records\"";

// Returns the offset past the '[' of a "Records" array if an object whose
// first key is "Records" starts at `pos`, else 0; `*not_array` tells that
// the key is there but its value is not an array.
size_t WrapperArrayStart(std::string_view text, size_t pos, bool* not_array) {
  *not_array = false;
  if (pos >= text.size() || text[pos] != '{') return 0;
  ++pos;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (text.substr(pos, kRecordsKey.size()) != kRecordsKey) return 0;
  pos += kRecordsKey.size();
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (pos >= text.size() || text[pos] != ':') return 0;
  ++pos;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (pos >= text.size() || text[pos] != '[') {
    *not_array = true;
    return 0;
  }
  return pos + 1;
}

}  // namespace

bool IsRecordContainer(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (pos < text.size() && text[pos] == '[') return true;
  bool not_array = false;
  return WrapperArrayStart(text, pos, &not_array) != 0 || not_array;
}

void JsonRecordSplitter::Reset(std::string_view text) {
  text_ = text;
  pos_ = 0;
  state_ = State::kTop;
  in_wrapper_ = false;
  first_element_ = true;
  element_index_ = 0;
  error_offset_ = 0;
  error_.clear();
  closers_.clear();
}

void JsonRecordSplitter::SkipSpace() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
}

absl::Status JsonRecordSplitter::Fail(std::string_view what) {
  state_ = State::kDone;
  error_offset_ = pos_ < text_.size() ? pos_ : text_.size();
  return absl::InvalidArgumentError(ToAbsl(what));
}

bool JsonRecordSplitter::SkipString() {
  // pos_ is at the opening quote. Strings are most of CloudTrail's bytes:
  // memchr jumps to the next quote, which ends the string unless an odd
  // number of backslashes precedes it.
  const char* const content = text_.data() + pos_ + 1;
  const char* const end = text_.data() + text_.size();
  for (const char* p = content; p < end;) {
    const auto* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
    if (quote == nullptr) break;
    const char* escapes = quote;
    while (escapes > content && escapes[-1] == '\\') --escapes;
    if ((quote - escapes) % 2 == 0) {
      pos_ = static_cast<size_t>(quote - text_.data()) + 1;
      return true;
    }
    p = quote + 1;
  }
  pos_ = text_.size();
  error_ = "the document ends inside a string (truncated?)";
  return false;
}

bool JsonRecordSplitter::SkipValue() {
  if (pos_ >= text_.size()) {
    error_ = "the document ends where a value was expected (truncated?)";
    return false;
  }
  const char first = text_[pos_];
  if (first == '"') return SkipString();
  if (first != '{' && first != '[') {
    const size_t start = pos_;
    while (pos_ < text_.size() && !EndsScalar(text_[pos_])) ++pos_;
    if (pos_ == start) {
      error_ = absl::StrCat("expected a JSON value, got ", Shown(first));
      return false;
    }
    return true;
  }
  closers_.clear();
  while (pos_ < text_.size()) {
    while (pos_ < text_.size() && !kStructural[static_cast<uint8_t>(text_[pos_])]) ++pos_;
    if (pos_ == text_.size()) break;
    const char c = text_[pos_];
    if (c == '"') {
      if (!SkipString()) return false;
      continue;
    }
    if (c == '{' || c == '[') {
      if (closers_.size() >= kMaxJsonDepth) {
        error_ = absl::StrCat("JSON nested deeper than ", kMaxJsonDepth, " levels");
        return false;
      }
      closers_.push_back(c == '{' ? '}' : ']');
    } else if (c == '}' || c == ']') {
      if (closers_.back() != c) {
        error_ = absl::StrCat("expected '", absl::string_view(&closers_.back(), 1), "', got ",
                              Shown(c));
        return false;
      }
      closers_.pop_back();
      if (closers_.empty()) {
        ++pos_;
        return true;
      }
    }
    ++pos_;
  }
  error_ = "the document ends inside an object or array (truncated?)";
  return false;
}

bool JsonRecordSplitter::EnterWrapper() {
  bool not_array = false;
  const size_t array_start = WrapperArrayStart(text_, pos_, &not_array);
  if (array_start == 0) return false;
  pos_ = array_start;
  return true;
}

absl::StatusOr<bool> JsonRecordSplitter::Next(std::string_view* record, size_t* offset) {
  while (true) {
    switch (state_) {
      case State::kDone:
        return false;

      case State::kTop: {
        SkipSpace();
        if (pos_ >= text_.size()) {
          state_ = State::kDone;
          return false;
        }
        const char c = text_[pos_];
        if (c == '[' || EnterWrapper()) {
          if (c == '[') ++pos_;
          in_wrapper_ = c != '[';
          state_ = State::kArray;
          first_element_ = true;
          continue;
        }
        if (c != '{') {
          return Fail(absl::StrCat("expected a JSON object or array, got ", Shown(c)));
        }
        bool not_array = false;
        WrapperArrayStart(text_, pos_, &not_array);
        if (not_array) return Fail("field 'Records': expected an array of records");
        const size_t start = pos_;
        if (!SkipValue()) return Fail(error_);
        *record = text_.substr(start, pos_ - start);
        *offset = start;
        ++element_index_;
        return true;
      }

      case State::kArray: {
        SkipSpace();
        if (pos_ >= text_.size()) {
          return Fail("the document ends inside the array of records (truncated?)");
        }
        if (text_[pos_] == ']' && first_element_) {
          ++pos_;
          state_ = in_wrapper_ ? State::kWrapperTail : State::kTop;
          continue;
        }
        if (!first_element_) {
          if (text_[pos_] == ']') {
            ++pos_;
            state_ = in_wrapper_ ? State::kWrapperTail : State::kTop;
            continue;
          }
          if (text_[pos_] != ',') {
            return Fail(absl::StrCat("expected ',' or ']' after record ", element_index_,
                                     ", got ", Shown(text_[pos_])));
          }
          ++pos_;
          SkipSpace();
        }
        first_element_ = false;
        const size_t start = pos_;
        if (!SkipValue()) return Fail(error_);
        ++element_index_;
        if (text_[start] != '{') {
          error_offset_ = start;
          return absl::InvalidArgumentError(absl::StrCat(
              "record ", element_index_, " of the array: expected a JSON object, got ",
              Shown(text_[start])));
        }
        *record = text_.substr(start, pos_ - start);
        *offset = start;
        return true;
      }

      case State::kWrapperTail: {
        // Members after "Records" are allowed and skipped.
        SkipSpace();
        if (pos_ >= text_.size()) return Fail("the document ends before the '}' of \"Records\"");
        if (text_[pos_] == '}') {
          ++pos_;
          state_ = State::kTop;
          continue;
        }
        if (text_[pos_] != ',') {
          return Fail(absl::StrCat("expected ',' or '}' after the \"Records\" array, got ",
                                   Shown(text_[pos_])));
        }
        ++pos_;
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a key");
        if (!SkipString()) return Fail(error_);
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':' after a key");
        ++pos_;
        SkipSpace();
        if (!SkipValue()) return Fail(error_);
        continue;
      }
    }
  }
}

}  // namespace timescan::internal
