#include "demo_scenario.h"

#include <chrono>
#include <set>

#include "absl/types/span.h"

namespace timescan::demo {

absl::StatusOr<DemoResult> RunDemo(const sim::FleetOptions& fleet_options,
                                   const EngineOptions& engine_options) {
  absl::StatusOr<std::unique_ptr<Engine>> created = Engine::Create(engine_options);
  if (!created.ok()) return created.status();
  Engine& engine = **created;
  absl::StatusOr<std::unique_ptr<sim::FleetSimulator>> fleet =
      sim::FleetSimulator::Create(fleet_options, engine.symbols());
  if (!fleet.ok()) return fleet.status();

  DemoResult result;
  result.threshold = engine.threshold();
  for (const sim::AttackLabel& label : (*fleet)->labels()) {
    result.attacks.push_back(AttackOutcome{label});
  }
  uint64_t windows_scored = 0;
  engine.SetWindowScoreCallback([&](const WindowScore&) { ++windows_scored; });
  engine.SetFindingCallback([&](const Finding& f) { result.findings.push_back(f); });

  const auto started = std::chrono::steady_clock::now();
  std::vector<Event> batch(4096);
  while (true) {
    const size_t n = (*fleet)->NextBatch(absl::MakeSpan(batch));
    if (n == 0) break;
    engine.Ingest(absl::MakeConstSpan(batch.data(), n));
  }
  engine.Flush();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const EngineStats stats = engine.stats();
  result.events = stats.events;
  result.entities = stats.entities_seen;
  result.groups = stats.groups;
  result.entity_days_scored =
      static_cast<double>(windows_scored) * absl::ToDoubleSeconds(engine_options.window) / 86400.0;

  const int64_t window_ns = absl::ToInt64Nanoseconds(engine_options.window);
  std::set<std::string> benign;
  for (const Finding& f : result.findings) {
    bool matched = false;
    for (AttackOutcome& attack : result.attacks) {
      const sim::AttackLabel& l = attack.label;
      if (f.entity != l.entity) continue;
      if (f.window_end_ns <= l.start_ns || f.window_start_ns >= l.end_ns + 2 * window_ns) continue;
      matched = true;
      if (!attack.found || f.window_start_ns < attack.first_finding_window_ns) {
        attack.first_finding_window_ns = f.window_start_ns;
      }
      attack.found = true;
      attack.best_score = std::max(attack.best_score, f.score);
    }
    result.finding_is_attack.push_back(matched);
    if (!matched) benign.insert(f.entity);
  }
  result.benign_entities_with_findings.assign(benign.begin(), benign.end());
  return result;
}

}  // namespace timescan::demo
