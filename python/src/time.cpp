// Times, durations and the names of enums, all parsed by the C++ library so
// that Python, the CLI and JSONL share one grammar.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bindings.h"
#include "timescan/event.h"
#include "timescan/finding.h"
#include "timescan/reader.h"
#include "timescan/timestamps.h"

namespace timescan::python {
namespace {

int64_t ParseDurationNs(const std::string& text) {
  const absl::Duration d = ValueOrThrow(ParseDuration(text));
  return absl::ToInt64Nanoseconds(d);
}

// Parses a sequence of RFC 3339 strings. Returns (times_ns, bad_rows,
// messages): bad rows hold 0 in times_ns; messages describe the first
// `max_messages` bad rows, each prefixed with "row N: ".
py::tuple ParseTimes(const py::sequence& values, size_t max_messages) {
  const size_t n = py::len(values);
  py::array_t<int64_t> times(static_cast<py::ssize_t>(n));
  int64_t* out = times.mutable_data();
  std::vector<int64_t> bad;
  py::list messages;
  std::string storage;
  for (size_t i = 0; i < n; ++i) {
    py::object item = values[i];
    std::string message;
    if (item.is_none() || (PyFloat_Check(item.ptr()) && PyFloat_AsDouble(item.ptr()) !=
                                                            PyFloat_AsDouble(item.ptr()))) {
      message = "missing; expected an RFC 3339 string or unix seconds";
    } else if (!PyUnicode_Check(item.ptr()) && !PyBytes_Check(item.ptr())) {
      message = "expected an RFC 3339 string";
    } else {
      absl::StatusOr<int64_t> t = ParseRfc3339(ToUtf8(item, &storage));
      if (t.ok()) {
        out[i] = *t;
        continue;
      }
      message = std::string(t.status().message());
    }
    out[i] = 0;
    bad.push_back(static_cast<int64_t>(i));
    if (messages.size() < max_messages) {
      messages.append("row " + std::to_string(i) + ": " + message);
    }
  }
  py::array_t<int64_t> bad_rows(static_cast<py::ssize_t>(bad.size()));
  std::copy(bad.begin(), bad.end(), bad_rows.mutable_data());
  return py::make_tuple(times, bad_rows, messages);
}

}  // namespace

void register_time(py::module_& m) {
  m.def("parse_duration", &ParseDurationNs, py::arg("text"),
        "Returns the nanoseconds of a duration such as '90s', '1min', '24h' or '1h30m'.");
  m.def(
      "format_duration", [](int64_t ns) { return timescan::FormatCompactDuration(absl::Nanoseconds(ns)); },
      py::arg("ns"), "Returns a compact duration ('1m', '24h', '90s') for nanoseconds.");
  m.def(
      "parse_time", [](const std::string& text) { return ValueOrThrow(ParseRfc3339(text)); },
      py::arg("text"), "Returns the unix nanoseconds of an RFC 3339 time.");
  m.def(
      "unix_seconds_to_ns", [](double seconds) { return ValueOrThrow(UnixSecondsToNanos(seconds)); },
      py::arg("seconds"), "Returns the unix nanoseconds of unix seconds (with fraction).");
  m.def(
      "format_time", [](int64_t ns) { return FormatRfc3339(ns); }, py::arg("ns"),
      "Returns unix nanoseconds as RFC 3339 in UTC.");
  m.def("parse_times", &ParseTimes, py::arg("values"), py::arg("max_messages") = 10,
        "Parses a sequence of RFC 3339 strings; returns (times_ns, bad_rows, messages).");
  m.def(
      "kind_names",
      [] {
        std::vector<std::string> names;
        for (int k = 0; k < kKindCount; ++k) names.emplace_back(KindName(static_cast<Kind>(k)));
        return names;
      },
      "Returns the event kind names in code order (exec = 0, ...).");
  m.def(
      "severity_names",
      [] {
        std::vector<std::string> names;
        for (int s = 0; s <= static_cast<int>(Severity::kCritical); ++s) {
          names.emplace_back(SeverityName(static_cast<Severity>(s)));
        }
        return names;
      },
      "Returns the severity names from lowest to highest.");
  m.def(
      "format_names",
      [] {
        std::vector<std::string> names;
        for (Format f : {Format::kAuto, Format::kNative, Format::kProto, Format::kFalco,
                         Format::kTetragon, Format::kCloudTrail, Format::kCsv}) {
          names.emplace_back(FormatName(f));
        }
        return names;
      },
      "Returns the input format names accepted by ingest_jsonl.");
}

}  // namespace timescan::python
