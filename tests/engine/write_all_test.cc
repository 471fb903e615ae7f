#include "write_all.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace timescan::internal {
namespace {

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1); }

std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
  return bytes;
}

// A writer blocked on a full pipe is interrupted by a signal whose handler
// has no SA_RESTART (as the CLI's stop handlers): the write resumes, and the
// reader gets every byte in order.
TEST(WriteAll, ResumesAWriteASignalInterrupts) {
  struct sigaction action = {}, previous = {};
  action.sa_handler = CountSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string bytes = Pattern(1 << 20);  // far more than a pipe holds
  const pthread_t writer = pthread_self();
  std::string received;
  g_signals = 0;
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the pipe fills
    pthread_kill(writer, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    char chunk[1 << 16];
    for (ssize_t n; (n = read(fds[0], chunk, sizeof chunk)) != 0;) {
      if (n > 0) received.append(chunk, static_cast<size_t>(n));
      else if (errno != EINTR) break;
    }
  });
  const int error = WriteAll(fds[1], bytes);
  close(fds[1]);
  reader.join();
  close(fds[0]);
  sigaction(SIGUSR1, &previous, nullptr);

  EXPECT_EQ(error, 0);
  EXPECT_EQ(g_signals.load(), 1);
  EXPECT_EQ(received.size(), bytes.size());
  EXPECT_TRUE(received == bytes);
}

TEST(WriteAll, ReportsAFullDevice) {
  const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  EXPECT_EQ(WriteAll(fd, "findings\n"), ENOSPC);
  close(fd);
}

TEST(WriteAll, ReportsABadDescriptor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(WriteAll(fds[1], "x"), EBADF);
}

TEST(WriteAll, NothingToWriteIsNoCall) {
  EXPECT_EQ(WriteAll(-1, ""), 0);  // -1 would be EBADF had it called write
}

}  // namespace
}  // namespace timescan::internal
