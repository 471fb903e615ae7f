// Ingest(span) prefetches entity state ahead of the events it ingests (see
// EngineImpl); these tests hold it to the same result as event-by-event
// ingest, whatever the batch size: the same findings, window scores,
// counters and snapshot.

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "timescan/engine.h"
#include "timescan/finding.h"
#include "timescan/sim.h"

namespace timescan {
namespace {

struct Replayed {
  std::vector<std::string> findings;
  std::vector<std::string> window_scores;
  std::string stats;
  std::string snapshot;
};

EngineOptions Options() {
  EngineOptions options;
  options.learning_period = absl::Hours(3);
  options.allowed_lateness = absl::Seconds(30);
  // Short, so that job and autoscaled containers retire and their slots
  // are reused within a batch.
  options.idle_ttl = absl::Minutes(5);
  options.mix_model = true;
  return options;
}

// A simulated fleet (deploy, jobs, autoscaling, three attacks after three
// hours of learning), disordered: some events moved back in time (late or
// out of order), some made invalid.
std::vector<Event> Events(SymbolTable& symbols) {
  sim::FleetOptions fleet;
  fleet.seed = 7;
  fleet.learning = absl::Hours(3);
  fleet.duration = absl::Hours(6);
  fleet.load = 0.3;
  fleet.deploys = true;
  fleet.attacks = {sim::AttackType::kCryptoMiner, sim::AttackType::kScan,
                   sim::AttackType::kSilentService};
  auto simulator = sim::FleetSimulator::Create(fleet, symbols);
  EXPECT_TRUE(simulator.ok()) << simulator.status();
  std::vector<Event> events;
  for (Event e; (*simulator)->Next(&e);) events.push_back(e);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (Event& e : events) {
    const double r = u(rng);
    if (r < 0.02) {
      e.time_ns -= static_cast<int64_t>(u(rng) * 60e9);  // up to a minute back
    } else if (r < 0.0205) {
      e.entity = kNoSymbol;
    } else if (r < 0.021) {
      e.kind = static_cast<Kind>(200);
    }
  }
  return events;
}

// batch 0: event by event.
Replayed Replay(size_t batch) {
  auto engine = *Engine::Create(Options());
  const std::vector<Event> events = Events(engine->symbols());
  Replayed run;
  engine->SetFindingCallback([&](const Finding& f) { run.findings.push_back(FindingToJson(f)); });
  engine->SetWindowScoreCallback([&](const WindowScore& w) {
    run.window_scores.push_back(absl::StrCat(w.entity, " ", w.group, " ", w.window_start_ns, " ",
                                             w.score, " ", w.p_value, " ", w.events));
  });
  if (batch == 0) {
    for (const Event& e : events) engine->Ingest(e);
  } else {
    for (size_t begin = 0; begin < events.size(); begin += batch) {
      engine->Ingest(absl::MakeConstSpan(events).subspan(begin, batch));
    }
  }
  engine->Flush();
  const EngineStats s = engine->stats();
  run.stats = absl::StrCat(s.events, " ", s.late_events, " ", s.invalid_events, " ",
                           s.entities_seen, " ", s.entities_retired, " ", s.windows_scored, " ",
                           s.findings, " ", s.group_findings);
  run.snapshot = *engine->Snapshot();
  return run;
}

TEST(BatchIngest, EveryBatchSizeGivesTheEventByEventResult) {
  const Replayed one_by_one = Replay(0);
  // The fleet must exercise what grouping could break.
  EngineStats probe;
  {
    auto engine = *Engine::Create(Options());
    for (const Event& e : Events(engine->symbols())) engine->Ingest(e);
    probe = engine->stats();
  }
  ASSERT_GT(probe.late_events, 100u);
  ASSERT_GT(probe.invalid_events, 100u);
  ASSERT_GT(probe.entities_retired, 5u);
  ASSERT_FALSE(one_by_one.findings.empty());

  for (const size_t batch : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(absl::StrCat("batch ", batch));
    const Replayed batched = Replay(batch);
    EXPECT_EQ(batched.stats, one_by_one.stats);
    ASSERT_EQ(batched.findings.size(), one_by_one.findings.size());
    for (size_t i = 0; i < batched.findings.size(); ++i) {
      EXPECT_EQ(batched.findings[i], one_by_one.findings[i]);
    }
    ASSERT_EQ(batched.window_scores.size(), one_by_one.window_scores.size());
    size_t differing = 0;
    for (size_t i = 0; i < batched.window_scores.size(); ++i) {
      differing += batched.window_scores[i] != one_by_one.window_scores[i] ? 1 : 0;
    }
    EXPECT_EQ(differing, 0u);
    EXPECT_TRUE(batched.snapshot == one_by_one.snapshot);
  }
}

}  // namespace
}  // namespace timescan
