#include "readers/line_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace timescan::internal {
namespace {
// Each read brings at most this much: lines are decoded while the bytes the
// kernel just copied are still in the core's L2 cache. A read of megabytes
// left them in L3 or memory by the time the decoder reached them.
constexpr size_t kReadChunk = size_t{64} << 10;
// zlib reads plain input straight into our buffer only when a read asks
// for well over twice its buffer (at exactly twice, strace showed it
// reading into its own buffer and copying); otherwise every byte is copied
// once more.
constexpr unsigned kZlibBuffer = kReadChunk / 4;
}  // namespace

// A byte input: plain, or inflated from gzip. A regular file goes through
// zlib's gzread, which inflates gzip members and passes any other bytes
// through unchanged; gzread fills the whole of each request, which for a
// file only means reading ahead. A stream (stdin, a pipe, a device) may be
// live, its writer sending a line now and then: it is read with read(2),
// which returns what has arrived, so each line reaches the decoder as soon
// as it is complete rather than once 64 KiB have come.
struct LineSource::Input {
  gzFile file = nullptr;  // a regular file
  int fd = -1;            // a stream
  // In-memory source; for a stream, its first bytes (read to detect gzip).
  std::string bytes;
  size_t bytes_pos = 0;
  bool in_memory = false;
  bool stream_started = false;  // a stream's first bytes were read
  z_stream stream{};
  bool stream_gzip = false;
  bool stream_done = false;
  bool member_ended = false;  // a gzip member ended; another may follow
  std::unique_ptr<char[]> compressed;  // a gzip stream's read buffer
  std::function<void()> before_wait;   // LineSource::SetBeforeWait
  std::function<bool()> keep_waiting;  // LineSource::SetKeepWaiting

  ~Input() {
    if (file != nullptr) gzclose(file);
    if (fd >= 0) close(fd);
    if (stream_gzip) inflateEnd(&stream);
  }

  // Reads up to `n` bytes into `out`. Returns bytes read, 0 at the end. A
  // stream returns as soon as some bytes are there.
  absl::StatusOr<size_t> Read(char* out, size_t n, const std::string& name) {
    if (file != nullptr) {
      const int got = gzread(file, out, static_cast<unsigned>(n));
      if (got < 0) {
        const int read_errno = errno;
        int errnum = 0;
        const char* message = gzerror(file, &errnum);
        // zlib's message names its descriptor ("<fd:3>: ..."), not the path.
        if (errnum == Z_ERRNO) {
          return absl::DataLossError(
              absl::StrCat(name, ": cannot read: ", std::strerror(read_errno)));
        }
        return absl::DataLossError(absl::StrCat(name, ": corrupt input: ", message));
      }
      if (got == 0) {
        // gzread reports a stream cut in the middle only through gzerror.
        int errnum = 0;
        const char* message = gzerror(file, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END) {
          return absl::DataLossError(absl::StrCat(name, ": truncated or corrupt gzip: ", message));
        }
      }
      return static_cast<size_t>(got);
    }
    if (fd >= 0 && !stream_started) {
      stream_started = true;
      // Two bytes tell gzip's magic from anything else.
      char head[2];
      size_t have = 0;
      while (have < 2) {
        absl::StatusOr<size_t> got = ReadStream(head + have, 2 - have, name);
        if (!got.ok()) return got.status();
        if (*got == 0) break;
        have += *got;
      }
      bytes.assign(head, have);
      if (have == 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
          static_cast<unsigned char>(head[1]) == 0x8b) {
        if (absl::Status s = StartInflate(); !s.ok()) return s;
        compressed = std::make_unique<char[]>(kReadChunk);
      }
    }
    if (stream_gzip) return Inflate(out, n, name);
    if (bytes_pos < bytes.size() || fd < 0) {
      const size_t k = std::min(n, bytes.size() - bytes_pos);
      std::memcpy(out, bytes.data() + bytes_pos, k);
      bytes_pos += k;
      return k;
    }
    return ReadStream(out, n, name);
  }

  absl::Status StartInflate() {
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
      return absl::ResourceExhaustedError("cannot initialise zlib");
    }
    stream_gzip = true;
    return absl::OkStatus();
  }

 private:
  // One read(2) of the stream: what has arrived, up to `n` bytes; 0 at its
  // end. Waits for data when the descriptor was left non-blocking.
  absl::StatusOr<size_t> ReadStream(char* out, size_t n, const std::string& name) {
    if (before_wait || keep_waiting) {
      pollfd ready{fd, POLLIN, 0};
      if (poll(&ready, 1, 0) == 0) {  // nothing there yet
        if (before_wait) before_wait();
        if (keep_waiting && !WaitForWriter()) return Cancelled(name);
      }
    }
    while (true) {
      const ssize_t got = read(fd, out, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR) {
        if (keep_waiting && !keep_waiting()) return Cancelled(name);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (keep_waiting) {
          if (!WaitForWriter()) return Cancelled(name);
        } else {
          pollfd wait{fd, POLLIN, 0};
          (void)poll(&wait, 1, -1);
        }
        continue;
      }
      return absl::DataLossError(absl::StrCat(name, ": cannot read: ", std::strerror(errno)));
    }
  }

  // Waits until the stream has data (or its end, or an error, which the
  // read then reports), asking keep_waiting at each check. Returns false
  // when it says to stop.
  bool WaitForWriter() {
    while (true) {
      pollfd wait{fd, POLLIN, 0};
      const int ready = poll(&wait, 1, kStreamWaitCheckMs);
      if (ready > 0 || (ready < 0 && errno != EINTR)) return true;
      if (!keep_waiting()) return false;
    }
  }

  static absl::Status Cancelled(const std::string& name) {
    return absl::CancelledError(
        absl::StrCat(name, ": reading stopped while waiting for the writer"));
  }

  // Gives inflate more input: the rest of `bytes`, then what the stream
  // brings. Returns false at the end of the input.
  absl::StatusOr<bool> Refill(const std::string& name) {
    if (bytes_pos < bytes.size()) {
      stream.next_in = reinterpret_cast<Bytef*>(bytes.data() + bytes_pos);
      stream.avail_in = static_cast<uInt>(bytes.size() - bytes_pos);
      bytes_pos = bytes.size();
      return true;
    }
    if (fd < 0) return false;
    absl::StatusOr<size_t> got = ReadStream(compressed.get(), kReadChunk, name);
    if (!got.ok()) return got.status();
    stream.next_in = reinterpret_cast<Bytef*>(compressed.get());
    stream.avail_in = static_cast<uInt>(*got);
    return *got > 0;
  }

  absl::StatusOr<size_t> Inflate(char* out, size_t n, const std::string& name) {
    if (stream_done) return size_t{0};
    stream.next_out = reinterpret_cast<Bytef*>(out);
    stream.avail_out = static_cast<uInt>(n);
    auto truncated = [&] {
      return absl::DataLossError(absl::StrCat(name, ": truncated gzip stream (cut before its end)"));
    };
    while (stream.avail_out > 0) {
      if (stream.avail_in == 0) {
        // A stream's next read may wait for its writer: what is inflated
        // goes first.
        if (fd >= 0 && stream.avail_out < n) break;
        absl::StatusOr<bool> more = Refill(name);
        if (!more.ok()) return more.status();
        if (!*more) {
          if (member_ended) {
            stream_done = true;
            break;
          }
          if (stream.avail_out == n) return truncated();
          break;
        }
        if (member_ended) {
          // A following gzip member continues the stream (as gzip -d does).
          inflateReset(&stream);
          member_ended = false;
        }
      }
      const int rc = inflate(&stream, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        if (stream.avail_in > 0) {
          inflateReset(&stream);
        } else {
          member_ended = true;
        }
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::DataLossError(absl::StrCat(name, ": corrupt gzip: ",
                                                stream.msg ? stream.msg : "inflate error"));
      }
    }
    return n - stream.avail_out;
  }
};

LineSource::LineSource(std::unique_ptr<Input> input, std::string name, size_t max_line_bytes)
    : input_(std::move(input)), name_(std::move(name)), max_line_bytes_(max_line_bytes) {
  buffer_.resize(std::max(kReadChunk, max_line_bytes_ + 1) + kReadChunk + kLinePadding);
}

LineSource::~LineSource() = default;

absl::StatusOr<std::unique_ptr<LineSource>> LineSource::Open(
    std::string_view path, size_t max_line_bytes, const std::function<bool()>& keep_waiting) {
  auto input = std::make_unique<Input>();
  const std::string name(path);
  int fd;
  while (true) {
    fd = path == "-" ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0)
                     : open(name.c_str(), O_RDONLY | O_CLOEXEC);
    // A FIFO's open waits for its writer; a signal (Ctrl-C) interrupts it.
    if (fd >= 0 || errno != EINTR) break;
    if (keep_waiting && !keep_waiting()) {
      return absl::CancelledError(
          absl::StrCat(name, ": opening stopped while waiting for a writer"));
    }
  }
  if (fd < 0) {
    const int err = errno;
    const std::string message = absl::StrCat(name, ": cannot open: ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  }
  struct stat info;
  const bool stated = fstat(fd, &info) == 0;
  if (stated && S_ISDIR(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": is a directory; name the files in it (e.g. ", name, "/*.jsonl)"));
  }
  if (stated && !S_ISREG(info.st_mode)) {
    input->fd = fd;  // a stream: read as its data arrives
  } else {
    input->file = gzdopen(fd, "rb");
    if (input->file == nullptr) {
      close(fd);
      return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot open a zlib stream"));
    }
    gzbuffer(input->file, kZlibBuffer);
  }
  return std::unique_ptr<LineSource>(new LineSource(std::move(input), name, max_line_bytes));
}

absl::StatusOr<std::unique_ptr<LineSource>> LineSource::FromBytes(std::string bytes,
                                                                  std::string name,
                                                                  size_t max_line_bytes) {
  auto input = std::make_unique<Input>();
  input->in_memory = true;
  input->bytes = std::move(bytes);
  if (input->bytes.size() >= 2 && static_cast<unsigned char>(input->bytes[0]) == 0x1f &&
      static_cast<unsigned char>(input->bytes[1]) == 0x8b) {
    if (absl::Status s = input->StartInflate(); !s.ok()) return s;
  }
  return std::unique_ptr<LineSource>(
      new LineSource(std::move(input), std::move(name), max_line_bytes));
}

void LineSource::SetBeforeWait(std::function<void()> hook) {
  input_->before_wait = std::move(hook);
}

void LineSource::SetKeepWaiting(std::function<bool()> keep_waiting) {
  input_->keep_waiting = std::move(keep_waiting);
}

absl::StatusOr<size_t> LineSource::Fill() {
  if (eof_) return size_t{0};
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const size_t room = std::min(buffer_.size() - kLinePadding - end_, kReadChunk);
  if (room == 0) return size_t{0};
  absl::StatusOr<size_t> got = input_->Read(buffer_.data() + end_, room, name_);
  if (!got.ok()) {
    eof_ = true;
    return got.status();
  }
  if (*got == 0) eof_ = true;
  end_ += *got;
  std::memset(buffer_.data() + end_, 0, kLinePadding);
  return *got;
}

absl::StatusOr<bool> LineSource::Next(std::string_view* line) {
  auto overlong = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        name_, ":", line_number_, ": line longer than the limit of ", max_line_bytes_,
        " bytes (ReaderOptions::max_line_bytes); skipped"));
  };
  bool skipping = false;  // inside an overlong line, discarding its bytes
  size_t scanned = 0;     // bytes after begin_ known to hold no newline
  // Hands out [begin_, line_end) without a trailing '\r' and moves on.
  auto take = [&](size_t line_end, size_t next_begin) -> absl::StatusOr<bool> {
    ++line_number_;
    const size_t line_begin = begin_;
    begin_ = next_begin;
    size_t length = line_end - line_begin;
    if (skipping || length > max_line_bytes_) return overlong();
    if (length > 0 && buffer_[line_begin + length - 1] == '\r') --length;
    *line = std::string_view(buffer_.data() + line_begin, length);
    return true;
  };
  while (true) {
    const char* start = buffer_.data() + begin_ + scanned;
    const void* newline = std::memchr(start, '\n', end_ - begin_ - scanned);
    if (newline != nullptr) {
      const size_t line_end = static_cast<const char*>(newline) - buffer_.data();
      return take(line_end, line_end + 1);
    }
    scanned = end_ - begin_;
    if (skipping || scanned > max_line_bytes_) {
      // Too long: drop what we have and keep reading to the next newline, so
      // memory stays bounded by the buffer whatever the line length.
      skipping = true;
      begin_ = end_;
      scanned = 0;
    }
    absl::StatusOr<size_t> got = Fill();
    if (!got.ok()) return got.status();
    if (*got == 0 && eof_) {
      if (begin_ == end_) {
        if (!skipping) return false;
        ++line_number_;
        return overlong();
      }
      // The last line has no newline.
      return take(end_, end_);
    }
  }
}

absl::StatusOr<std::string_view> LineSource::Peek(size_t n, bool (*enough)(std::string_view)) {
  while (end_ - begin_ < n && !eof_) {
    if (enough != nullptr && enough(std::string_view(buffer_.data() + begin_, end_ - begin_))) break;
    absl::StatusOr<size_t> got = Fill();
    if (!got.ok()) return got.status();
    if (*got == 0) break;
  }
  return std::string_view(buffer_.data() + begin_, std::min(n, end_ - begin_));
}

absl::StatusOr<std::string_view> LineSource::ReadBytes(size_t n) {
  if (n > buffer_.size() - kLinePadding) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": record of ", n,
                                                   " bytes exceeds the buffer"));
  }
  absl::StatusOr<std::string_view> peeked = Peek(n);
  if (!peeked.ok()) return peeked.status();
  begin_ += peeked->size();
  return *peeked;
}

}  // namespace timescan::internal
