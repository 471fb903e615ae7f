// A small stationary fleet for engine tests: Poisson event counts around a
// daily curve, categorical values from fixed distributions, one
// high-novelty feature (path ids in routes). Deterministic for a seed.

#ifndef TIMESCAN_TESTS_ENGINE_SYNTHETIC_FLEET_H_
#define TIMESCAN_TESTS_ENGINE_SYNTHETIC_FLEET_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "timescan/engine.h"

namespace timescan::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;
// 2026-11-02T00:00:00Z
inline constexpr int64_t kStart = 1'793'577'600 * kSecond;

struct FleetSpec {
  int groups = 4;
  int replicas = 5;
  int64_t duration = 3 * kDay;
  double requests_per_minute = 30;  // at the daily mean
  double execs_per_minute = 0.2;
  double connects_per_minute = 5;
  bool path_ids = true;  // routes carry a fresh id 30% of the time
  // Bursty load: per entity and minute, every kind's rate times a
  // lognormal factor of this log standard deviation (mean 1). 0: none (and
  // no random numbers drawn for it, so streams without it are unchanged).
  double load_noise = 0;
  uint64_t seed = 7;
};

// Calls `sink` with the fleet's events in time order.
class SyntheticFleet {
 public:
  explicit SyntheticFleet(FleetSpec spec) : spec_(spec), rng_(spec.seed) {}

  void Run(SymbolTable& symbols, const std::function<void(const Event&)>& sink) {
    std::vector<Symbol> entities, groups;
    for (int g = 0; g < spec_.groups; ++g) {
      groups.push_back(symbols.Intern(absl::StrCat("registry.local/app", g)));
      for (int r = 0; r < spec_.replicas; ++r) {
        entities.push_back(symbols.Intern(absl::StrCat("c", g, "-", r)));
      }
    }
    const std::vector<std::string> execs = {"/usr/bin/python3", "/bin/sh", "/usr/bin/curl"};
    const std::vector<double> exec_weights = {0.7, 0.2, 0.1};
    const std::vector<std::string> routes = {"/", "/health", "/api/items", "/api/cart", "/login"};
    const std::vector<std::string> dests = {"10.0.0.5:5432", "10.0.0.9:6379", "10.0.1.2:443"};
    std::vector<Event> minute;
    for (int64_t t = kStart; t < kStart + spec_.duration; t += kMinute) {
      minute.clear();
      const double day_phase = 2 * M_PI * static_cast<double>(t % kDay) / kDay;
      const double day_load = 1 + 0.5 * std::sin(day_phase);
      for (size_t e = 0; e < entities.size(); ++e) {
        const Symbol entity = entities[e];
        const Symbol group = groups[e / spec_.replicas];
        double load = day_load;
        if (spec_.load_noise > 0) load *= LogNormal(spec_.load_noise);
        Emit(minute, symbols, t, entity, group, Kind::kRequest, spec_.requests_per_minute * load,
             [&](std::mt19937_64& rng) {
               const std::string& route = routes[rng() % routes.size()];
               if (spec_.path_ids && Uniform(rng) < 0.3) {
                 return absl::StrCat("/api/orders/", rng() % 100000000);
               }
               return route;
             }, "client");
        Emit(minute, symbols, t, entity, group, Kind::kExec, spec_.execs_per_minute,
             [&](std::mt19937_64& rng) { return execs[Pick(rng, exec_weights)]; }, "/usr/bin/node");
        Emit(minute, symbols, t, entity, group, Kind::kConnect, spec_.connects_per_minute * load,
             [&](std::mt19937_64& rng) { return dests[rng() % dests.size()]; }, "/usr/bin/node");
      }
      std::sort(minute.begin(), minute.end(),
                [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
      for (const Event& ev : minute) sink(ev);
    }
  }

  static double Uniform(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
  }

 private:
  static size_t Pick(std::mt19937_64& rng, const std::vector<double>& weights) {
    double u = Uniform(rng);
    for (size_t i = 0; i < weights.size(); ++i) {
      if ((u -= weights[i]) < 0) return i;
    }
    return weights.size() - 1;
  }

  // exp(N(-sd^2 / 2, sd)): mean 1 (Box-Muller).
  double LogNormal(double sd) {
    const double u1 = 1 - Uniform(rng_), u2 = Uniform(rng_);
    const double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    return std::exp(sd * z - sd * sd / 2);
  }

  // Poisson by inversion (means here are small); a large mean (bursty
  // load) as the sum of two halves, so that exp(-mean) cannot underflow.
  int Poisson(double mean) {
    if (mean > 200) return Poisson(mean / 2) + Poisson(mean / 2);
    double p = std::exp(-mean), cdf = p, u = Uniform(rng_);
    int k = 0;
    while (u > cdf && k < 10000) {
      ++k;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }

  template <typename ValueFn>
  void Emit(std::vector<Event>& out, SymbolTable& symbols, int64_t minute_start, Symbol entity,
            Symbol group, Kind kind, double mean, ValueFn value, std::string_view actor) {
    const int n = Poisson(mean);
    for (int i = 0; i < n; ++i) {
      Event ev;
      ev.time_ns = minute_start + static_cast<int64_t>(Uniform(rng_) * kMinute);
      ev.entity = entity;
      ev.group = group;
      ev.kind = kind;
      ev.subject = symbols.Intern(value(rng_));
      ev.actor = symbols.Intern(actor);
      out.push_back(ev);
    }
  }

  FleetSpec spec_;
  std::mt19937_64 rng_;
};

}  // namespace timescan::testing

#endif  // TIMESCAN_TESTS_ENGINE_SYNTHETIC_FLEET_H_
