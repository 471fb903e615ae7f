// The demo scenario, shared by `timescan demo` and the end-to-end test: the
// simulated fleet with every attack, scored with default engine options, and
// each finding matched to the attack it reveals.

#ifndef TIMESCAN_TOOLS_DEMO_SCENARIO_H_
#define TIMESCAN_TOOLS_DEMO_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "timescan/engine.h"
#include "timescan/finding.h"
#include "timescan/sim.h"

namespace timescan::demo {

struct AttackOutcome {
  sim::AttackLabel label;
  bool found = false;
  int64_t first_finding_window_ns = 0;  // start of the first matching window
  double best_score = 0;
};

struct DemoResult {
  std::vector<Finding> findings;
  std::vector<char> finding_is_attack;  // parallel to findings: 1 when it reveals an attack
  std::vector<AttackOutcome> attacks;
  std::vector<std::string> benign_entities_with_findings;
  uint64_t events = 0;
  uint64_t entities = 0;
  uint64_t groups = 0;
  double entity_days_scored = 0;
  double seconds = 0;
  double threshold = 0;
};

// Simulates the fleet for `fleet` and scores it with `engine_options`. A
// finding reveals an attack when it is about the attack's entity and its
// window overlaps the attack or the two windows after it (drops are
// confirmed a window late).
absl::StatusOr<DemoResult> RunDemo(const sim::FleetOptions& fleet,
                                   const EngineOptions& engine_options);

}  // namespace timescan::demo

#endif  // TIMESCAN_TOOLS_DEMO_SCENARIO_H_
