// Status propagation macros. Abseil 20220623 ships none.

#ifndef TIMESCAN_LIB_STATUS_MACROS_H_
#define TIMESCAN_LIB_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TIMESCAN_CONCAT_INNER_(a, b) a##b
#define TIMESCAN_CONCAT_(a, b) TIMESCAN_CONCAT_INNER_(a, b)

// Returns `expr`'s status from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    if (absl::Status status_macro_ = (expr); !status_macro_.ok()) \
      return status_macro_;                                     \
  } while (false)

// Evaluates `expr` (a StatusOr), returns its status when not OK, and
// otherwise moves its value into `lhs` ("auto x", "int y" or "z").
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(TIMESCAN_CONCAT_(statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TIMESCAN_LIB_STATUS_MACROS_H_
