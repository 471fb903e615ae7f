// Reading pandas/numpy columns of Python objects in C++: what counts as a
// missing value, an object column read in place, and a per-call cache of
// the value computed for each distinct object.

#ifndef TIMESCAN_PYTHON_COLUMNS_H_
#define TIMESCAN_PYTHON_COLUMNS_H_

#include <Python.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "bindings.h"

namespace timescan::python {

// Returns whether `item` stands for a missing value: None, a float NaN,
// pandas.NA or pandas.NaT.
inline bool IsMissing(PyObject* item) {
  if (item == Py_None) return true;
  if (PyFloat_Check(item)) return std::isnan(PyFloat_AS_DOUBLE(item));
  if (PyUnicode_Check(item) || PyBytes_Check(item) || PyLong_Check(item)) return false;
  const std::string_view type = Py_TYPE(item)->tp_name;
  return type.ends_with("NAType") || type.ends_with("NaTType");
}

// A 1-d numpy array of Python objects, read in place (copied only when not
// contiguous). The objects live as long as this does.
class ObjectColumn {
 public:
  explicit ObjectColumn(const py::array& values) {
    if (values.dtype().kind() != 'O' || values.ndim() != 1) {
      throw StatusError(absl::InvalidArgumentError("expected a 1-d numpy array of objects"));
    }
    array_ = py::array::ensure(values, py::array::c_style);
    items_ = static_cast<PyObject* const*>(array_.data());
  }
  py::ssize_t size() const { return array_.size(); }
  PyObject* operator[](py::ssize_t i) const { return items_[i]; }

 private:
  py::array array_;
  PyObject* const* items_ = nullptr;
};

// Remembers the value computed for recently seen objects, by address, in a
// direct-mapped table: a column that repeats a few objects (the usual case)
// computes each once. Valid only while the objects live: one per call.
template <typename T>
class ObjectCache {
 public:
  template <typename Compute>
  T Get(PyObject* object, Compute&& compute) {
    Slot& slot = slots_[(reinterpret_cast<uintptr_t>(object) >> 4) & (kSlots - 1)];
    if (slot.object != object) {
      slot.value = compute(object);
      slot.object = object;
    }
    return slot.value;
  }

 private:
  static constexpr size_t kSlots = 4096;
  struct Slot {
    PyObject* object = nullptr;
    T value{};
  };
  std::array<Slot, kSlots> slots_{};
};

}  // namespace timescan::python

#endif  // TIMESCAN_PYTHON_COLUMNS_H_
