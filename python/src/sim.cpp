// timescan.sim: the labelled fleet simulator (timescan/sim.h) as columns.
//
// The simulator interns into a private SymbolTable; the columns it returns
// hold symbols of that table, and `names` maps a symbol (its index) to its
// string, so the Python layer builds categorical columns without touching
// one string per event.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bindings.h"
#include "timescan/event.h"
#include "timescan/sim.h"
#include "timescan/symbol_table.h"

namespace timescan::python {
namespace {

template <typename T>
py::array_t<T> ToNumpy(const std::vector<T>& values) {
  py::array_t<T> out(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(T));
  return out;
}

StatusError SimOptionError(const std::string& name, const std::string& what) {
  return StatusError(absl::InvalidArgumentError("sim option '" + name + "': " + what));
}

// Builds FleetOptions from {name: value}; durations and times are integer
// nanoseconds and attacks a list of names (the Python layer converts).
sim::FleetOptions ToFleetOptions(const py::dict& options) {
  sim::FleetOptions out;
  for (const auto& [key, value] : options) {
    const std::string name = py::str(key);
    try {
      if (name == "seed") {
        out.seed = value.cast<uint64_t>();
      } else if (name == "start") {
        out.start_ns = value.cast<int64_t>();
      } else if (name == "learning") {
        out.learning = absl::Nanoseconds(value.cast<int64_t>());
      } else if (name == "duration") {
        out.duration = absl::Nanoseconds(value.cast<int64_t>());
      } else if (name == "load") {
        out.load = value.cast<double>();
      } else if (name == "replicas") {
        out.replicas = value.cast<int>();
      } else if (name == "deploys") {
        out.deploys = value.cast<bool>();
      } else if (name == "autoscaling") {
        out.autoscaling = value.cast<bool>();
      } else if (name == "batch_jobs") {
        out.batch_jobs = value.cast<bool>();
      } else if (name == "attacks") {
        out.attacks.clear();
        for (py::handle item : value) {
          const std::string attack = py::str(item);
          std::optional<sim::AttackType> type = sim::AttackTypeFromName(attack);
          if (!type) {
            std::string known;
            for (sim::AttackType t : sim::AllAttackTypes()) {
              if (!known.empty()) known += ", ";
              known += std::string(sim::AttackTypeName(t));
            }
            throw SimOptionError(name, "unknown attack '" + attack + "'; expected some of " + known);
          }
          out.attacks.push_back(*type);
        }
      } else {
        throw SimOptionError(name,
                             "unknown option; expected one of seed, start, learning, duration, "
                             "load, replicas, deploys, autoscaling, batch_jobs, attacks");
      }
    } catch (const py::cast_error&) {
      throw SimOptionError(name, "has the wrong type (" +
                                     std::string(py::str(py::type::of(value).attr("__name__"))) +
                                     ")");
    }
  }
  return out;
}

// Runs the simulator; returns (columns, names, labels, deploy_ns).
py::tuple Generate(const py::dict& options) {
  const sim::FleetOptions fleet_options = ToFleetOptions(options);
  SymbolTable symbols;
  std::unique_ptr<sim::FleetSimulator> fleet =
      ValueOrThrow(sim::FleetSimulator::Create(fleet_options, symbols));

  std::vector<int64_t> time;
  std::vector<uint32_t> entity, group, subject, actor;
  std::vector<uint8_t> kind;
  std::vector<double> value;
  std::vector<int32_t> status;
  std::vector<uint8_t> status_present;
  {
    py::gil_scoped_release release;
    std::vector<Event> chunk(4096);
    while (true) {
      const size_t n = fleet->NextBatch(absl::MakeSpan(chunk));
      for (size_t i = 0; i < n; ++i) {
        const Event& e = chunk[i];
        time.push_back(e.time_ns);
        entity.push_back(e.entity);
        group.push_back(e.group);
        subject.push_back(e.subject);
        actor.push_back(e.actor);
        kind.push_back(static_cast<uint8_t>(e.kind));
        value.push_back(e.has_value ? e.value : std::numeric_limits<double>::quiet_NaN());
        status.push_back(e.status);
        status_present.push_back(e.has_status ? 1 : 0);
      }
      if (n < chunk.size()) break;
    }
  }
  py::dict columns;
  columns["time_ns"] = ToNumpy(time);
  columns["entity"] = ToNumpy(entity);
  columns["group"] = ToNumpy(group);
  columns["kind"] = ToNumpy(kind);
  columns["subject"] = ToNumpy(subject);
  columns["actor"] = ToNumpy(actor);
  columns["value"] = ToNumpy(value);
  columns["status"] = ToNumpy(status);
  columns["status_present"] = ToNumpy(status_present);

  py::list names;
  for (size_t s = 0; s < symbols.size(); ++s) names.append(ToPyStr(symbols.Name(static_cast<Symbol>(s))));

  py::list labels;
  for (const sim::AttackLabel& l : fleet->labels()) {
    labels.append(py::make_tuple(std::string(sim::AttackTypeName(l.type)), ToPyStr(l.entity),
                                 ToPyStr(l.group), l.start_ns, l.end_ns, ToPyStr(l.description)));
  }
  return py::make_tuple(columns, names, labels, fleet->deploy_ns());
}

}  // namespace

void register_sim(py::module_& m) {
  m.attr("HAVE_SIM") = true;
  m.def("sim_generate", &Generate, py::arg("options"),
        "Runs the fleet simulator; returns (columns, names, labels, deploy_ns).");
  m.def(
      "sim_attack_names",
      [] {
        std::vector<std::string> names;
        for (sim::AttackType t : sim::AllAttackTypes()) names.emplace_back(sim::AttackTypeName(t));
        return names;
      },
      "Returns the names of every attack type the simulator injects.");
}

}  // namespace timescan::python
