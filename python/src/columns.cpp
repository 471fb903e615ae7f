// Column conversions that numpy would do with several full-size temporaries:
// kind names to codes, and float statuses (NaN = absent) to int32, each in
// one pass; and ObjectSymbols, the memo _Engine.intern_column keeps across
// the chunks of one input.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "columns.h"
#include "timescan/event.h"

namespace timescan::python {
namespace {

// Kind codes of kind_column() for rows that are not a kind.
constexpr uint8_t kMissingKind = 254;
constexpr uint8_t kUnknownKind = 255;

// Returns the kind code of every row of a 1-d object array: 0..8, 254 for
// a missing value, 255 for anything not a kind name.
py::array_t<uint8_t> KindColumn(const py::array& values) {
  ObjectColumn column(values);
  py::array_t<uint8_t> out(column.size());
  uint8_t* o = out.mutable_data();
  auto cache = std::make_unique<ObjectCache<uint8_t>>();
  std::string storage;
  auto code = [&](PyObject* x) -> uint8_t {
    if (IsMissing(x)) return kMissingKind;
    if (!PyUnicode_Check(x)) return kUnknownKind;
    std::optional<Kind> kind = KindFromName(ToUtf8(py::handle(x), &storage));
    return kind ? static_cast<uint8_t>(*kind) : kUnknownKind;
  };
  for (py::ssize_t i = 0; i < column.size(); ++i) o[i] = cache->Get(column[i], code);
  return out;
}

// Returns `v` clamped into [lo, hi]; lo for NaN. Without a branch (GCC
// turns the portable form into two).
inline double Clamp(double v, double lo, double hi) {
#if defined(__SSE2__)
  // maxsd returns its second operand when either is NaN.
  const __m128d x = _mm_max_sd(_mm_set_sd(v), _mm_set_sd(lo));
  return _mm_cvtsd_f64(_mm_min_sd(x, _mm_set_sd(hi)));
#else
  const double x = v > lo ? v : lo;
  return x < hi ? x : hi;
#endif
}

// Returns (status int32, present bool, bad rows int64) of float statuses:
// NaN is absent; a value that is not an integer in the 32-bit range is a
// bad row (status 0, absent).
py::tuple StatusColumn(const py::array_t<double, py::array::c_style | py::array::forcecast>& x) {
  const py::ssize_t n = x.size();
  py::array_t<int32_t> status(n);
  py::array_t<bool> present(n);
  std::vector<int64_t> bad;
  const double* __restrict in = x.data();
  int32_t* __restrict s = status.mutable_data();
  bool* __restrict p = present.mutable_data();
  {
    py::gil_scoped_release release;
    constexpr double kLo = std::numeric_limits<int32_t>::min();
    constexpr double kHi = std::numeric_limits<int32_t>::max();
    // Without a branch on the value: statuses are absent at random (a
    // status per request, none per exec), which a branch mispredicts. The
    // value clamped into range (NaN becomes kLo) truncates safely; it is a
    // status when truncation gives it back unchanged (std::floor is a
    // library call on baseline x86-64).
    size_t bad_count = 0;
    for (py::ssize_t i = 0; i < n; ++i) {
      const double v = in[i];
      const int32_t truncated = static_cast<int32_t>(Clamp(v, kLo, kHi));
      const bool ok = static_cast<double>(truncated) == v;  // false for NaN
      s[i] = truncated & -static_cast<int32_t>(ok);
      p[i] = ok;
      bad_count += static_cast<size_t>(!ok & (v == v));
    }
    if (bad_count > 0) {  // rare: find them
      bad.reserve(bad_count);
      for (py::ssize_t i = 0; i < n; ++i) {
        if (!p[i] && !std::isnan(in[i])) bad.push_back(i);
      }
    }
  }
  py::array_t<int64_t> bad_rows(static_cast<py::ssize_t>(bad.size()));
  std::copy(bad.begin(), bad.end(), bad_rows.mutable_data());
  return py::make_tuple(status, present, bad_rows);
}

}  // namespace

void register_columns(py::module_& m) {
  py::class_<ObjectSymbols>(m, "ObjectSymbols",
                            "The symbols of the objects of one input's string column, by "
                            "address (see _Engine.intern_column).")
      .def(py::init<>())
      .def("__len__", &ObjectSymbols::size);
  m.def("kind_column", &KindColumn, py::arg("values"),
        "Returns the kind code of every row of an object array (254 missing, 255 unknown).");
  m.def("status_column", &StatusColumn, py::arg("values"),
        "Returns (status int32, present bool, bad rows) of float statuses (NaN = absent).");
}

}  // namespace timescan::python
