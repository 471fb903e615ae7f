// The private extension module behind the `timescan` Python package. Each
// area registers itself; the pure-Python package on top re-exports.

#include <pybind11/pybind11.h>

#include "bindings.h"

PYBIND11_MODULE(_timescan, m) {
  m.doc() = "Private compiled core of the timescan package; use `import timescan`.";
  timescan::python::register_errors(m);
  timescan::python::register_time(m);
  timescan::python::register_columns(m);
  timescan::python::register_engine(m);
  timescan::python::register_sim(m);
}
