// Streams (stdin, pipes): a live writer's line reaches the reader as soon as
// it is complete, not once 64 KiB have come; gzip and the other formats read
// over a pipe as from bytes.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

using testing_util::ReadBytes;
using testing_util::ReadResult;

// A pipe whose read end is opened as a path, as a shell's `<(...)` is.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  ~Pipe() {
    CloseWriter();
    if (read_fd_ >= 0) close(read_fd_);
  }
  std::string path() const { return absl::StrCat("/dev/fd/", read_fd_); }
  void Write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = write(write_fd_, bytes.data(), bytes.size());
      if (n <= 0) std::abort();
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void CloseWriter() {
    if (write_fd_ >= 0) close(write_fd_);
    write_fd_ = -1;
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

std::string NativeLine(int i) {
  return absl::StrCat("{\"time\":", 1'793'613'600 + i, ",\"entity\":\"c", i % 3,
                      "\",\"kind\":\"exec\",\"subject\":\"/bin/p", i, "\"}\n");
}

// Calls Next() on another thread; fails (without hanging) if it takes longer
// than two seconds, closing the writer so that the call returns.
absl::StatusOr<bool> NextWithin2s(EventReader& reader, Event* event, Pipe& pipe) {
  std::future<absl::StatusOr<bool>> next =
      std::async(std::launch::async, [&] { return reader.Next(event); });
  if (next.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    ADD_FAILURE() << "Next() still waits for input two seconds after a complete line";
    pipe.CloseWriter();
  }
  return next.get();
}

TEST(StreamInput, ALiveWritersLinesArriveOneByOne) {
  for (const Format format : {Format::kAuto, Format::kNative}) {
    for (const bool decode_thread : {false, true}) {
      SCOPED_TRACE(absl::StrCat(std::string(FormatName(format)), decode_thread ? ", decode thread" : ""));
      Pipe pipe;
      SymbolTable symbols;
      ReaderOptions options;
      options.format = format;
      options.decode_thread = decode_thread;
      auto reader = EventReader::Open(pipe.path(), symbols, options);
      ASSERT_TRUE(reader.ok()) << reader.status();
      Event event;
      // Each line as soon as it is complete, with the decode thread too (it
      // hands over what it has when the writer pauses).
      for (int i = 0; i < 3; ++i) {
        pipe.Write(NativeLine(i));
        absl::StatusOr<bool> got = NextWithin2s(**reader, &event, pipe);
        if (::testing::Test::HasFailure()) return;  // the writer is closed
        ASSERT_TRUE(got.ok() && *got) << got.status();
        EXPECT_EQ(symbols.Name(event.subject), absl::StrCat("/bin/p", i));
      }
      pipe.Write(NativeLine(7));
      pipe.CloseWriter();
      absl::StatusOr<bool> got = (*reader)->Next(&event);
      ASSERT_TRUE(got.ok() && *got) << got.status();
      EXPECT_EQ(symbols.Name(event.subject), "/bin/p7");
      got = (*reader)->Next(&event);
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(*got);
      EXPECT_EQ((*reader)->format(), Format::kNative);
    }
  }
}

// Reads `bytes` written into a pipe by another thread.
ReadResult ReadThroughPipe(const std::string& bytes, ReaderOptions options = {}) {
  Pipe pipe;
  std::thread writer([&] {
    pipe.Write(bytes);
    pipe.CloseWriter();
  });
  SymbolTable symbols;
  ReadResult result = testing_util::ReadFile(pipe.path(), symbols, options);
  writer.join();
  return result;
}

std::string EventsText(const ReadResult& r) {
  std::string out;
  for (const Event& e : r.events) {
    absl::StrAppend(&out, e.time_ns, " ", e.entity, " ", e.subject, "\n");
  }
  for (const absl::Status& s : r.errors) absl::StrAppend(&out, s.ToString(), "\n");
  return out;
}

TEST(StreamInput, GzipAndPlainOverAPipeReadAsFromBytes) {
  std::string text;
  for (int i = 0; i < 5'000; ++i) text += NativeLine(i);
  const std::string gz = testing_util::Gzip(text);
  for (const std::string* input : {static_cast<const std::string*>(&text), &gz}) {
    for (const bool decode_thread : {false, true}) {
      SymbolTable symbols;
      const ReadResult from_bytes = ReadBytes(*input, "x", symbols);
      ReaderOptions options;
      options.decode_thread = decode_thread;
      const ReadResult from_pipe = ReadThroughPipe(*input, options);
      ASSERT_EQ(from_pipe.events.size(), 5'000u);
      EXPECT_EQ(EventsText(from_pipe), EventsText(from_bytes));
    }
  }
  // Two gzip members read as one stream, as gzip -d reads them.
  const ReadResult two = ReadThroughPipe(gz + testing_util::Gzip(NativeLine(9)));
  EXPECT_EQ(two.events.size(), 5'001u);
  EXPECT_TRUE(two.errors.empty());
}

TEST(StreamInput, ACutOrCorruptGzipOverAPipeIsDataLoss) {
  std::string text;
  for (int i = 0; i < 2'000; ++i) text += NativeLine(i);
  const std::string gz = testing_util::Gzip(text);
  const ReadResult cut = ReadThroughPipe(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(cut.errors.empty());
  EXPECT_TRUE(absl::IsDataLoss(cut.errors.back())) << cut.errors.back();
  EXPECT_GT(cut.events.size(), 0u);
  EXPECT_LT(cut.events.size(), 2'000u);

  std::string corrupt = gz;
  corrupt[gz.size() / 2] ^= 0x55;
  const ReadResult bad = ReadThroughPipe(corrupt);
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_TRUE(absl::IsDataLoss(bad.errors.back())) << bad.errors.back();
}

TEST(StreamInput, OtherFormatsOverAPipeAreDetectedAsFromBytes) {
  const std::string csv = "ts,container,what\n2026-11-02T10:00:00Z,c1,exec\n";
  const std::string tiny = "{\"time\":1,\"entity\":\"c\",\"kind\":\"exec\"}";  // no newline
  for (const std::string* input : {static_cast<const std::string*>(&csv), &tiny}) {
    ReaderOptions options;
    options.csv_field_map = {{"time", "ts"}, {"entity", "container"}, {"kind", "what"}};
    SymbolTable symbols;
    const ReadResult from_bytes = ReadBytes(*input, "x", symbols, options);
    const ReadResult from_pipe = ReadThroughPipe(*input, options);
    EXPECT_EQ(from_pipe.format, from_bytes.format);
    EXPECT_EQ(EventsText(from_pipe), EventsText(from_bytes));
    EXPECT_EQ(from_pipe.events.size(), 1u);
  }
}

TEST(StreamInput, ADirectoryIsRefusedAtOpenNamingIt) {
  const std::string dir = ::testing::TempDir();
  SymbolTable symbols;
  auto reader = EventReader::Open(dir, symbols, {});
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(reader.status())) << reader.status();
  EXPECT_THAT(std::string(reader.status().message()),
              ::testing::AllOf(::testing::HasSubstr(dir), ::testing::HasSubstr("is a directory")));
}

// Opening `path` works; its first read fails: a DataLoss error that starts
// with the path and says "cannot read" (not zlib's "<fd:N>"), and the input
// has ended.
void ExpectUnreadableIsDataLossNamingIt(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << path << " is not readable here";
  SymbolTable symbols;
  auto reader = EventReader::Open(path, symbols, {});
  ASSERT_TRUE(reader.ok()) << reader.status();
  Event event;
  absl::StatusOr<bool> got = (*reader)->Next(&event);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::AllOf(::testing::StartsWith(path), ::testing::HasSubstr("cannot read"),
                               ::testing::Not(::testing::HasSubstr("<fd:"))));
  got = (*reader)->Next(&event);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
}

TEST(StreamInput, AnUnreadableStreamIsDataLossNamingIt) {
  // A character device, read with read(2) as streams are; with no
  // interface attached, reading fails (EBADFD).
  ExpectUnreadableIsDataLossNamingIt("/dev/net/tun");
}

TEST(StreamInput, AnUnreadableFileIsDataLossNamingIt) {
  // A regular file (read through zlib) whose read at offset 0 fails with
  // EIO: the process's address 0 is not mapped.
  ExpectUnreadableIsDataLossNamingIt("/proc/self/mem");
}

// A quiet writer: Next() asks keep_waiting about every 100 ms, and its
// false ends the input with kCancelled (not a bad record), after the events
// that came before; with the decode thread as without, plain and gzip.
TEST(StreamInput, KeepWaitingStopsAReadThatWaitsForAQuietWriter) {
  for (const bool decode_thread : {false, true}) {
    for (const bool gzip : {false, true}) {
      SCOPED_TRACE(absl::StrCat(decode_thread ? "decode thread" : "plain", gzip ? ", gzip" : ""));
      Pipe pipe;
      SymbolTable symbols;
      std::atomic<int> asked{0};
      ReaderOptions options;
      options.decode_thread = decode_thread;
      options.keep_waiting = [&] { return ++asked < 4; };
      // A gzip stream's member cut after its first line: the inflater has
      // that line and waits for more.
      pipe.Write(gzip ? testing_util::Gzip(NativeLine(0), /*finish=*/false) : NativeLine(0));
      auto reader = EventReader::Open(pipe.path(), symbols, options);
      ASSERT_TRUE(reader.ok()) << reader.status();
      Event event;
      absl::StatusOr<bool> got = NextWithin2s(**reader, &event, pipe);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_TRUE(*got);
      const auto started = std::chrono::steady_clock::now();
      got = NextWithin2s(**reader, &event, pipe);
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled) << got.status();
      EXPECT_THAT(got.status().message(), testing::HasSubstr(pipe.path()));
      EXPECT_EQ(asked.load(), 4);
      EXPECT_GE(waited, 0.25);  // three checks of 100 ms before the fourth said stop
      got = (*reader)->Next(&event);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_FALSE(*got);
      EXPECT_EQ((*reader)->stats().events, 1u);
      EXPECT_EQ((*reader)->stats().bad_records, 0u);
    }
  }
}

// While data is there, keep_waiting is not asked.
TEST(StreamInput, KeepWaitingIsNotAskedWhileDataIsThere) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += NativeLine(i);
  Pipe pipe;
  pipe.Write(text);
  pipe.CloseWriter();
  SymbolTable symbols;
  int asked = 0;
  ReaderOptions options;
  options.keep_waiting = [&] { return ++asked, false; };
  const ReadResult result = testing_util::ReadFile(pipe.path(), symbols, options);
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.events.size(), 100u);
  EXPECT_EQ(asked, 0);
}

// A FIFO with no writer: opening it waits until one comes. A signal (here
// SIGUSR1, with a handler installed without SA_RESTART, as Python installs
// its SIGINT handler) interrupts that wait; keep_waiting decides whether the
// open gives up (kCancelled) or goes on waiting.
class WriterlessFifo {
 public:
  WriterlessFifo() {
    char dir[] = "/tmp/timescan-fifo-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    path_ = dir_ + "/events";
    if (mkfifo(path_.c_str(), 0600) != 0) std::abort();
    struct sigaction action = {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: open(2) returns EINTR
    sigaction(SIGUSR1, &action, &previous_);
  }
  ~WriterlessFifo() {
    sigaction(SIGUSR1, &previous_, nullptr);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  // Signals `thread` every 20 ms until `stop` is set.
  static std::thread Interrupter(pthread_t thread, std::atomic<bool>& stop) {
    return std::thread([thread, &stop] {
      while (!stop) {
        pthread_kill(thread, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

 private:
  std::string dir_;
  std::string path_;
  struct sigaction previous_ = {};
};

TEST(StreamInput, KeepWaitingStopsAnOpenThatWaitsForAWriter) {
  WriterlessFifo fifo;
  SymbolTable symbols;
  int asked = 0;
  ReaderOptions options;
  options.keep_waiting = [&] { return ++asked, false; };
  std::atomic<bool> stop{false};
  std::thread interrupter = WriterlessFifo::Interrupter(pthread_self(), stop);
  auto reader = EventReader::Open(fifo.path(), symbols, options);
  stop = true;
  interrupter.join();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kCancelled) << reader.status();
  EXPECT_THAT(reader.status().message(), testing::HasSubstr(fifo.path()));
  EXPECT_EQ(asked, 1);
}

TEST(StreamInput, AnInterruptedOpenGoesOnWaitingWhileKeepWaitingSaysSo) {
  WriterlessFifo fifo;
  SymbolTable symbols;
  std::atomic<int> asked{0};
  ReaderOptions options;
  options.keep_waiting = [&] { return ++asked, true; };
  std::atomic<bool> stop{false};
  std::thread interrupter = WriterlessFifo::Interrupter(pthread_self(), stop);
  // The writer comes once the open has been interrupted twice (or not at
  // all if the open returned before: the test then fails, not hangs).
  std::atomic<bool> open_returned{false};
  std::thread writer([&] {
    while (asked < 2 && !open_returned) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    if (open_returned) return;
    const int fd = open(fifo.path().c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) std::abort();
    const std::string line = NativeLine(7);
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
    close(fd);
  });
  auto reader = EventReader::Open(fifo.path(), symbols, options);
  open_returned = true;
  writer.join();
  interrupter.join();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_GE(asked.load(), 2);
  Event event;
  absl::StatusOr<bool> got = (*reader)->Next(&event);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got);
  EXPECT_EQ(symbols.Name(event.subject), "/bin/p7");
  got = (*reader)->Next(&event);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(*got);
}

}  // namespace
}  // namespace timescan
