#include "timescan/event.h"

#include <array>

namespace timescan {
namespace {
constexpr std::array<std::string_view, kKindCount> kKindNames = {
    "exec", "exit", "connect", "accept", "request",
    "api",  "file", "syscall", "metric"};
}  // namespace

std::string_view KindName(Kind kind) {
  const auto index = static_cast<size_t>(kind);
  return index < kKindNames.size() ? kKindNames[index] : "invalid";
}

std::optional<Kind> KindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

}  // namespace timescan
