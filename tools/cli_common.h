// Small helpers shared by the timescan subcommands.

#ifndef TIMESCAN_TOOLS_CLI_COMMON_H_
#define TIMESCAN_TOOLS_CLI_COMMON_H_

#include <string>
#include <string_view>

namespace timescan::cli {

// Exit codes: 0 success (findings or not), 1 a runtime failure (I/O),
// 2 bad usage or, with --strict, bad input.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// "1,234,567".
std::string WithCommas(uint64_t n);

int RunDemo(int argc, char** argv);
int RunSimulate(int argc, char** argv);
int RunMerge(int argc, char** argv);
int RunInspect(int argc, char** argv);

}  // namespace timescan::cli

#endif  // TIMESCAN_TOOLS_CLI_COMMON_H_
