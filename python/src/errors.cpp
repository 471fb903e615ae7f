// timescan.Error: the one exception type of the Python API, a ValueError
// carrying the C++ Status message, and the string helpers every area uses.

#include <Python.h>

#include <string>

#include "absl/status/status.h"
#include "bindings.h"

namespace timescan::python {

StatusError::StatusError(const absl::Status& status)
    : std::runtime_error(std::string(status.message())),
      code_(absl::StatusCodeToString(status.code())) {}

py::str ToPyStr(std::string_view text) {
  PyObject* object = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()),
                                          "replace");
  if (object == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(object);
}

std::string_view ToUtf8(py::handle object, std::string* storage) {
  if (PyUnicode_Check(object.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
    if (data != nullptr) return {data, static_cast<size_t>(size)};
    PyErr_Clear();  // lone surrogates: escape them rather than fail
    py::bytes bytes = py::reinterpret_steal<py::bytes>(
        PyUnicode_AsEncodedString(object.ptr(), "utf-8", "surrogateescape"));
    if (!bytes) throw py::error_already_set();
    *storage = std::string(bytes);
    return *storage;
  }
  if (PyBytes_Check(object.ptr())) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(object.ptr(), &data, &size);
    return {data, static_cast<size_t>(size)};
  }
  py::str text = py::str(object);  // numbers, other objects: their str()
  std::string converted;
  const std::string_view view = ToUtf8(text, &converted);
  *storage = std::string(view);
  return *storage;
}

void register_errors(py::module_& m) {
  static py::handle error_type =
      PyErr_NewExceptionWithDoc("timescan.Error",
                                "Raised for every failure reported by timescan: bad options,\n"
                                "bad input rows or lines, unknown entities or features.\n\n"
                                "A ValueError whose message says what was wrong, where (row,\n"
                                "column, file, line) and what was expected, as the C++ library\n"
                                "reports it. `code` names the canonical absl status code\n"
                                "(\"INVALID_ARGUMENT\", \"NOT_FOUND\", \"OUT_OF_RANGE\", ...).",
                                PyExc_ValueError, nullptr);
  if (!error_type) throw py::error_already_set();
  m.add_object("Error", error_type);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(error_type)(e.what());
      exc.attr("code") = e.code();
      PyErr_SetObject(error_type.ptr(), exc.ptr());
    }
  });
}

}  // namespace timescan::python
