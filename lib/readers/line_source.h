// LineSource reads lines from a file or stdin, gzip or plain, with a bounded
// buffer. Every line it returns is followed by at least kLinePadding readable
// bytes, so simdjson can parse it in place without a copy.

#ifndef TIMESCAN_LIB_READERS_LINE_SOURCE_H_
#define TIMESCAN_LIB_READERS_LINE_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace timescan::internal {

inline constexpr size_t kLinePadding = 64;  // >= SIMDJSON_PADDING
inline constexpr int kStreamWaitCheckMs = 100;

class LineSource {
 public:
  // Opens `path` ("-": stdin). gzip is detected by its magic bytes. Opening
  // a FIFO waits for its writer; when a signal interrupts that wait,
  // `keep_waiting` (if set) is asked: false returns kCancelled, otherwise
  // (and without it) the open is retried.
  static absl::StatusOr<std::unique_ptr<LineSource>> Open(
      std::string_view path, size_t max_line_bytes,
      const std::function<bool()>& keep_waiting = {});
  // Wraps in-memory bytes (tests, fuzzers); gzip is detected too.
  static absl::StatusOr<std::unique_ptr<LineSource>> FromBytes(std::string bytes,
                                                               std::string name,
                                                               size_t max_line_bytes);
  ~LineSource();

  // Reads the next line into `line` (without "\n" or "\r\n"); the view is
  // valid until the next call. Returns false at the end of input.
  // An overlong line is skipped to its end and returns kInvalidArgument; a
  // corrupt or cut gzip stream returns kDataLoss and the source then ends.
  absl::StatusOr<bool> Next(std::string_view* line);

  // Reads up to `n` raw bytes (binary formats). Returns the bytes read; fewer
  // than `n` only at the end of input. Shares the buffer with Next().
  absl::StatusOr<std::string_view> ReadBytes(size_t n);

  // Returns the first bytes of the input without consuming them (format
  // detection). May return fewer at the end of input, or once
  // `enough(bytes so far)` holds: a live stream's first line may be all
  // there is for a while.
  absl::StatusOr<std::string_view> Peek(size_t n, bool (*enough)(std::string_view) = nullptr);

  // The 1-based number of the line last returned.
  int64_t line_number() const { return line_number_; }
  const std::string& name() const { return name_; }

  // Calls `hook` before each read of a stream (stdin, a pipe) that would
  // wait for its writer: a reader decoding ahead hands over what it has.
  void SetBeforeWait(std::function<void()> hook);
  // While a read of a stream waits for its writer, calls `keep_waiting`
  // about every kStreamWaitCheckMs and after each signal; false ends the
  // source (kCancelled).
  void SetKeepWaiting(std::function<bool()> keep_waiting);
  size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  struct Input;
  LineSource(std::unique_ptr<Input> input, std::string name, size_t max_line_bytes);
  // Moves unread bytes to the front and reads more. Returns bytes added.
  absl::StatusOr<size_t> Fill();

  std::unique_ptr<Input> input_;
  std::string name_;
  size_t max_line_bytes_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last valid byte
  bool eof_ = false;
  int64_t line_number_ = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_LINE_SOURCE_H_
