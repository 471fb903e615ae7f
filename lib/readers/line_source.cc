#include "readers/line_source.h"

#include <fcntl.h>
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

// A byte input: plain, or inflated from gzip. zlib's gzread inflates gzip
// members and passes any other bytes through unchanged.
struct LineSource::Input {
  gzFile file = nullptr;
  // In-memory source.
  std::string bytes;
  size_t bytes_pos = 0;
  bool in_memory = false;
  z_stream stream{};
  bool stream_gzip = false;
  bool stream_done = false;

  ~Input() {
    if (file != nullptr) gzclose(file);
    if (stream_gzip) inflateEnd(&stream);
  }

  // Reads up to `n` bytes into `out`. Returns bytes read, 0 at the end.
  absl::StatusOr<size_t> Read(char* out, size_t n, const std::string& name) {
    if (!in_memory) {
      const int got = gzread(file, out, static_cast<unsigned>(n));
      if (got < 0) {
        int errnum = 0;
        const char* message = gzerror(file, &errnum);
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
    if (!stream_gzip) {
      const size_t k = std::min(n, bytes.size() - bytes_pos);
      std::memcpy(out, bytes.data() + bytes_pos, k);
      bytes_pos += k;
      return k;
    }
    if (stream_done) return size_t{0};
    stream.next_out = reinterpret_cast<Bytef*>(out);
    stream.avail_out = static_cast<uInt>(n);
    while (stream.avail_out > 0) {
      if (stream.avail_in == 0) {
        if (bytes_pos >= bytes.size()) {
          if (stream.avail_out == n) {
            return absl::DataLossError(
                absl::StrCat(name, ": truncated gzip stream (cut before its end)"));
          }
          break;
        }
        stream.next_in = reinterpret_cast<Bytef*>(bytes.data() + bytes_pos);
        stream.avail_in = static_cast<uInt>(bytes.size() - bytes_pos);
        bytes_pos = bytes.size();
      }
      const int rc = inflate(&stream, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // A following gzip member continues the stream (as gzip -d does).
        if (stream.avail_in > 0 || bytes_pos < bytes.size()) {
          inflateReset(&stream);
          continue;
        }
        stream_done = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::DataLossError(absl::StrCat(name, ": corrupt gzip: ",
                                                stream.msg ? stream.msg : "inflate error"));
      }
      if (rc == Z_BUF_ERROR && stream.avail_in == 0 && bytes_pos >= bytes.size()) {
        return absl::DataLossError(
            absl::StrCat(name, ": truncated gzip stream (cut before its end)"));
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

absl::StatusOr<std::unique_ptr<LineSource>> LineSource::Open(std::string_view path,
                                                             size_t max_line_bytes) {
  auto input = std::make_unique<Input>();
  const std::string name(path);
  if (path == "-") {
    const int fd = dup(STDIN_FILENO);
    input->file = fd < 0 ? nullptr : gzdopen(fd, "rb");
  } else {
    const int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      const std::string message = absl::StrCat(name, ": cannot open: ", std::strerror(err));
      if (err == ENOENT) return absl::NotFoundError(message);
      if (err == EACCES) return absl::PermissionDeniedError(message);
      return absl::UnavailableError(message);
    }
    input->file = gzdopen(fd, "rb");
    if (input->file == nullptr) close(fd);
  }
  if (input->file == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot open a zlib stream"));
  }
  gzbuffer(input->file, kZlibBuffer);
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
    input->stream_gzip = true;
    if (inflateInit2(&input->stream, 16 + MAX_WBITS) != Z_OK) {
      input->stream_gzip = false;
      return absl::ResourceExhaustedError("cannot initialise zlib");
    }
  }
  return std::unique_ptr<LineSource>(
      new LineSource(std::move(input), std::move(name), max_line_bytes));
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

absl::StatusOr<std::string_view> LineSource::Peek(size_t n) {
  while (end_ - begin_ < n && !eof_) {
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
