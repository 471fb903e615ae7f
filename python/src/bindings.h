// Shared declarations of the _timescan extension module.
//
// module.cpp calls one register_<area>(m) per file; this header declares them
// and the helpers every area uses to turn an absl::Status into the one Python
// exception type, timescan.Error (a ValueError).

#ifndef TIMESCAN_PYTHON_BINDINGS_H_
#define TIMESCAN_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace timescan::python {

namespace py = pybind11;

// A failed absl::Status on its way to Python, where it becomes
// timescan.Error with the same message and a `code` attribute naming the
// canonical code ("INVALID_ARGUMENT", "NOT_FOUND", ...).
class StatusError : public std::runtime_error {
 public:
  StatusError(std::string message, std::string code)
      : std::runtime_error(std::move(message)), code_(std::move(code)) {}
  explicit StatusError(const absl::Status& status);
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Throws StatusError for a failed `status`; does nothing for OK.
inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw StatusError(status);
}

// Returns the value of `result` or throws StatusError.
template <typename T>
T ValueOrThrow(absl::StatusOr<T> result) {
  if (!result.ok()) throw StatusError(result.status());
  return *std::move(result);
}

// Returns `text` (arbitrary bytes, UTF-8 expected) as a Python str; invalid
// UTF-8 becomes U+FFFD, as in FindingToJson.
py::str ToPyStr(std::string_view text);

// Returns the UTF-8 bytes of a Python str (lone surrogates are escaped) or
// bytes object in `*storage`'s backing, as a view valid while `object`
// and `*storage` live. Other objects are converted with str() first.
std::string_view ToUtf8(py::handle object, std::string* storage);

void register_errors(py::module_& m);
void register_time(py::module_& m);
void register_columns(py::module_& m);
void register_engine(py::module_& m);
void register_sim(py::module_& m);

}  // namespace timescan::python

#endif  // TIMESCAN_PYTHON_BINDINGS_H_
