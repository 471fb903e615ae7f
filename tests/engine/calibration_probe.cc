// Prints the false-finding rate at several thresholds on a stationary fleet.
#include <cstdio>
#include <map>

#include "synthetic_fleet.h"

int main() {
  using namespace timescan;
  EngineOptions options;
  auto engine = *Engine::Create(options);
  std::vector<double> scores;
  engine->SetWindowScoreCallback([&](const WindowScore& w) { scores.push_back(w.score); });
  std::map<std::string, int> top;
  engine->SetFindingCallback([&](const Finding& f) { top[f.reasons[0].feature]++; });
  testing::FleetSpec spec;
  spec.duration = 4 * testing::kDay;
  testing::SyntheticFleet fleet(spec);
  fleet.Run(engine->symbols(), [&](const Event& e) { engine->Ingest(e); });
  engine->Flush();
  const double entity_days = scores.size() / 1440.0;
  for (double t : {1.0, 2.0, 3.0, 4.16, 5.0}) {
    int n = 0;
    for (double s : scores) n += s >= t;
    std::printf("threshold %.2f: %d windows, %.3f per entity-day (nominal %.3f)\n", t, n,
                n / entity_days, 1440 * std::pow(10, -t));
  }
  for (auto& [k, v] : top) std::printf("  top reason %s: %d\n", k.c_str(), v);
  std::printf("events %lu windows %zu\n", engine->stats().events, scores.size());
}
