// Writing a whole buffer to a file descriptor, for everything timescan
// writes with write(2) (snapshots, the CLI's findings).

#ifndef TIMESCAN_LIB_WRITE_ALL_H_
#define TIMESCAN_LIB_WRITE_ALL_H_

#include <string_view>

namespace timescan::internal {

// Writes all of `bytes` to `fd`, resuming after short writes and after a
// signal interrupts the call (the CLI's stop handlers have no SA_RESTART).
// Returns 0, or the errno of the failure (EIO for a write that wrote
// nothing yet reported no error, which would otherwise be retried forever).
int WriteAll(int fd, std::string_view bytes);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_WRITE_ALL_H_
