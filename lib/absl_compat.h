// Debian 12's Abseil is built with its own absl::string_view (not an alias of
// std::string_view). timescan's API speaks std::string_view; these convert at
// the boundary with Abseil's string functions.

#ifndef TIMESCAN_LIB_ABSL_COMPAT_H_
#define TIMESCAN_LIB_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace timescan::internal {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ABSL_COMPAT_H_
