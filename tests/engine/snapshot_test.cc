// Snapshots: exact restore at any split point, validation of every kind of
// bad input, atomic save, and merge of baselines across engines.

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/snapshot.h"
#include "models/metric_model.h"
#include "../fuzz/snapshot_exercise.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snapshot_testing.h"
#include "synthetic_fleet.h"
#include "timescan/engine.h"
#include "timescan/sim.h"

namespace timescan {
namespace {

using ::testing::HasSubstr;

// A labelled simulated fleet as native JSONL: deploys, autoscaling, jobs,
// every attack; small enough for several replays per test.
const std::vector<std::string>& FleetLines() {
  static const std::vector<std::string>* lines = [] {
    sim::FleetOptions options;
    options.seed = 11;
    options.load = 0.05;
    options.duration = absl::Hours(30);
    options.learning = absl::Hours(24);
    options.deploys = true;
    std::ostringstream events, labels;
    absl::Status status = sim::WriteJsonl(options, events, labels);
    EXPECT_TRUE(status.ok()) << status;
    auto* out = new std::vector<std::string>;
    std::istringstream in(events.str());
    for (std::string line; std::getline(in, line);) out->push_back(line);
    return out;
  }();
  return *lines;
}

// Everything an engine reports, in order, as text.
struct Recorder {
  std::string out;
  void Attach(Engine& engine) {
    engine.SetFindingCallback([this](const Finding& f) { absl::StrAppend(&out, FindingToJson(f), "\n"); });
    engine.SetWindowScoreCallback([this, &engine](const WindowScore& w) {
      // Symbols are looked up now: the callback runs inside the engine.
      absl::StrAppendFormat(&out, "%s %s %d %.17g %.17g %u\n", engine.symbols().Name(w.entity),
                            engine.symbols().Name(w.group), w.window_start_ns, w.score, w.p_value,
                            w.events);
    });
  }
};

// Compares long texts line by line: gtest's diff of two large strings is
// quadratic.
::testing::AssertionResult SameText(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) return ::testing::AssertionSuccess();
    if (more_a != more_b || la != lb) {
      return ::testing::AssertionFailure()
             << "line " << line << " differs:\n  " << (more_a ? la : "<end>") << "\n  "
             << (more_b ? lb : "<end>");
    }
  }
}

EngineOptions SmallWindowOptions() {
  EngineOptions options;
  // Several open windows per entity, values past the per-window cap, and
  // short idle retirement: the rarely travelled parts of the state.
  options.allowed_lateness = absl::Seconds(150);
  options.max_values_per_window = 4;
  options.idle_ttl = absl::Minutes(20);
  // Baselines decaying in steps (45 min) that splits fall between.
  options.baseline_half_life = absl::Hours(3);
  options.mix_model = true;  // off by default
  options.coarse_windows = {10, 60};  // off by default
  return options;
}

// Scores `lines` in one engine, restoring from a snapshot before each of
// `splits` (line indices, ascending); returns what it reported and its
// final stats.
// What the snapshots taken at the splits carried, summed over the splits:
// proof that the rarely present parts of the state travelled.
struct SplitContents {
  int held_findings = 0;
  int tested_sketches = 0;   // group value sketches past the distribution model's minimum
  int window_samples = 0;    // open or held windows carrying value samples
  int evidence_tracks = 0;   // entities' accumulated-evidence levels
  int sequence_tables = 0;   // group exec n-gram tables holding n-grams
  int window_sequences = 0;  // open or held windows carrying n-grams
  int tested_multivariate = 0;  // group multivariate baselines past their minimum
  int tested_mix = 0;        // group mix strata past the mix model's minimum
};

std::string Replay(const EngineOptions& options, const std::vector<std::string>& lines,
                   const std::vector<size_t>& splits, SplitContents* at_splits = nullptr) {
  auto created = Engine::Create(options);
  EXPECT_TRUE(created.ok());
  std::unique_ptr<Engine> engine = std::move(*created);
  Recorder recorder;
  recorder.Attach(*engine);
  size_t next_split = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (next_split < splits.size() && splits[next_split] == i) {
      ++next_split;
      absl::StatusOr<std::string> bytes = engine->Snapshot();
      EXPECT_TRUE(bytes.ok()) << bytes.status();
      if (at_splits != nullptr) {
        v1::Snapshot message;
        EXPECT_TRUE(message.ParseFromString(std::string(*internal::UnframeSnapshot(*bytes))));
        at_splits->held_findings += message.held_findings_size();
        for (const v1::Group& g : message.groups()) {
          for (const v1::QuantileSketch& s : g.distributions().sketches()) {
            uint64_t total = s.zero_count();
            for (uint64_t c : s.counts()) total += c;
            at_splits->tested_sketches +=
                total >= internal::DistributionBaseline::kMinLearnedValues ? 1 : 0;
          }
        }
        for (const v1::Group& g : message.groups()) {
          uint64_t distances = 0;
          for (uint32_t c : g.multivariate().distance_bins()) distances += c;
          at_splits->tested_multivariate +=
              distances >= internal::MultivariateBaseline::kMinDistances ? 1 : 0;
          for (const v1::MixRanks& r : g.mix().mix()) {
            // Windows per stratum (key / 256).
            std::map<uint32_t, uint64_t> strata;
            for (int i = 0; i < r.keys_size(); ++i) strata[r.keys(i) / 256] += r.counts(i);
            for (const auto& [stratum, windows] : strata) {
              at_splits->tested_mix += windows >= internal::MixBaseline::kMinWindows ? 1 : 0;
            }
          }
        }
        for (const v1::Entity& e : message.entities()) {
          at_splits->evidence_tracks += e.evidence_size();
          for (const v1::Window& w : e.windows()) {
            at_splits->window_samples += w.samples_size() > 0 || w.pending_value_indices_size() > 0;
            at_splits->window_sequences += w.sequences().keys_size() > 0;
          }
        }
        for (const v1::HeldFinding& h : message.held_findings()) {
          at_splits->window_samples += h.learn().samples_size() > 0;
          at_splits->window_sequences += h.learn().sequences().keys_size() > 0;
        }
        for (const v1::Group& g : message.groups()) {
          at_splits->sequence_tables += g.sequences().tables(0).ids_size() > 0;
        }
      }
      engine.reset();  // nothing may survive but the bytes
      auto restored = Engine::FromSnapshot(*bytes);
      EXPECT_TRUE(restored.ok()) << restored.status();
      engine = std::move(*restored);
      recorder.Attach(*engine);
    }
    (void)engine->IngestJsonl(lines[i]);
  }
  engine->Flush();
  const EngineStats s = engine->stats();
  absl::StrAppend(&recorder.out, "stats ", s.events, " ", s.late_events, " ", s.entities_seen, " ",
                  s.entities_live, " ", s.entities_retired, " ", s.groups, " ", s.windows_scored,
                  " ", s.findings, " ", s.values_overflowed, " ", s.watermark_ns, "\n");
  return recorder.out;
}

TEST(SnapshotTest, RestoreAtRandomSplitPointsGivesIdenticalOutput) {
  const std::vector<std::string>& lines = FleetLines();
  ASSERT_GT(lines.size(), 10'000u);
  for (const EngineOptions& options : {EngineOptions{}, SmallWindowOptions()}) {
    const std::string whole = Replay(options, lines, {});
    ASSERT_THAT(whole, HasSubstr("\"reasons\""));  // the run has findings to compare
    std::mt19937_64 rng(options.max_values_per_window);
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<size_t> splits;
      for (int i = 0; i < 4; ++i) splits.push_back(1 + rng() % (lines.size() - 1));
      std::sort(splits.begin(), splits.end());
      splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
      EXPECT_TRUE(SameText(Replay(options, lines, splits), whole))
          << "splits at lines " << splits[0] << ", ... (" << splits.size() << " splits)";
    }
    // Every 500 lines after learning: some splits fall while findings wait
    // for group consensus, and those travel too.
    std::vector<size_t> dense;
    for (size_t i = lines.size() * 4 / 5; i < lines.size(); i += 500) dense.push_back(i);
    SplitContents contents;
    EXPECT_TRUE(SameText(Replay(options, lines, dense, &contents), whole));
    EXPECT_GT(contents.held_findings, 0) << "no split fell while a finding was held";
    // The value-distribution model was testing (its sketches past the
    // minimum) and open windows carried value samples across the splits.
    EXPECT_GT(contents.tested_sketches, 0);
    EXPECT_GT(contents.window_samples, 0);
    EXPECT_GT(contents.evidence_tracks, 0) << "no accumulated evidence crossed a split";
    // The sequence model's tables and open windows' n-grams travelled too
    // (syscall sequences, examples and n-grams past the cap: in
    // sequence_model_test.cc).
    EXPECT_GT(contents.sequence_tables, 0);
    EXPECT_GT(contents.window_sequences, 0);
    // So was the multivariate model (its estimates and distances travelled).
    EXPECT_GT(contents.tested_multivariate, 0);
    // The mix model was testing: strata past its minimum travelled.
    if (options.mix_model) EXPECT_GT(contents.tested_mix, 0);
  }
}

TEST(SnapshotTest, SameStateGivesSameBytes) {
  auto engine = *Engine::Create(SmallWindowOptions());
  const std::vector<std::string>& lines = FleetLines();
  for (size_t i = 0; i < lines.size() / 3; ++i) (void)engine->IngestJsonl(lines[i]);
  const std::string first = *engine->Snapshot();
  EXPECT_EQ(*engine->Snapshot(), first);
  auto restored = Engine::FromSnapshot(first);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*(*restored)->Snapshot(), first);
  EXPECT_EQ((*restored)->stats().events, engine->stats().events);
  EXPECT_EQ((*restored)->stats().entities_live, engine->stats().entities_live);
}

TEST(SnapshotTest, EmptyEngineRoundTrips) {
  EngineOptions options;
  options.window = absl::Seconds(30);
  options.threshold = 6.5;
  auto engine = *Engine::Create(options);
  auto restored = Engine::FromSnapshot(*engine->Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->options().window, absl::Seconds(30));
  EXPECT_EQ((*restored)->threshold(), 6.5);
  EXPECT_EQ((*restored)->stats().events, 0u);
}

// --- bad input ---------------------------------------------------------------

std::string SmallSnapshot() {
  auto engine = *Engine::Create(SmallWindowOptions());
  const std::vector<std::string>& lines = FleetLines();
  for (size_t i = 0; i < 20'000; ++i) (void)engine->IngestJsonl(lines[i]);
  return *engine->Snapshot();
}

TEST(SnapshotTest, FrameDamageIsDataLossOrInvalidArgument) {
  const std::string good = SmallSnapshot();
  ASSERT_TRUE(Engine::FromSnapshot(good).ok());

  EXPECT_EQ(Engine::FromSnapshot("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Engine::FromSnapshot("{\"entity\":\"x\"}").status().message(),
              HasSubstr("not a timescan snapshot"));

  const auto truncated = Engine::FromSnapshot(good.substr(0, good.size() - 10));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(truncated.status().message(), HasSubstr("truncated"));
  EXPECT_EQ(Engine::FromSnapshot(good.substr(0, 12)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Engine::FromSnapshot(good + "x").status().code(), absl::StatusCode::kDataLoss);

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  const auto corrupt = Engine::FromSnapshot(flipped);
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("checksum"));

  std::string newer = good;
  newer[8] = static_cast<char>(kSnapshotFormatVersion + 1);
  const auto future = Engine::FromSnapshot(newer);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(future.status().message(), HasSubstr("newer timescan"));

  // A frame whose payload is not a snapshot message.
  const auto garbage = Engine::FromSnapshot(internal::FrameSnapshot("\xff\xff\xff", 1));
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SnapshotTest, RuleBreakingFieldsAreNamed) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  ASSERT_GT(good.entities_size(), 0);
  ASSERT_GT(good.groups_size(), 1);
  const std::vector<SnapshotDamage> cases = {
      {"format_version", [](v1::Snapshot& s) { s.set_format_version(0); }},
      {"options", [](v1::Snapshot& s) { s.mutable_options()->set_window_ns(10); }},
      {"symbols[0]", [](v1::Snapshot& s) { s.set_symbols(0, "not the fleet"); }},
      {"symbols[2]", [](v1::Snapshot& s) { s.set_symbols(2, s.symbols(1)); }},
      {"clock.next_close", [](v1::Snapshot& s) { s.mutable_clock()->set_next_close(-5); }},
      {"groups[0]", [](v1::Snapshot& s) { s.mutable_groups()->SwapElements(0, 1); }},
      {"groups[1].tables", [](v1::Snapshot& s) { s.mutable_groups(1)->mutable_tables()->RemoveLast(); }},
      {"groups[1].tables[0].values[0]",
       [](v1::Snapshot& s) {
         auto* t = s.mutable_groups(1)->mutable_tables(0);
         t->add_values(1u << 30);
         t->add_counts(1);
         t->set_total(t->total() + 1);
         t->mutable_values()->SwapElements(0, t->values_size() - 1);
       }},
      {"groups[1].counts.hourly",
       [](v1::Snapshot& s) { s.mutable_groups(1)->mutable_counts()->mutable_hourly(3)->set_m2(-1); }},
      {"groups[1].values.histograms[0]",
       [](v1::Snapshot& s) {
         s.mutable_groups(1)->mutable_values()->mutable_histograms(0)->set_total(12345678);
       }},
      {"entities[0].group", [](v1::Snapshot& s) { s.mutable_entities(0)->set_group(9999); }},
      {"entities[0].name", [](v1::Snapshot& s) { s.mutable_entities(0)->set_name(0); }},
      {"entities[1]", [](v1::Snapshot& s) { s.mutable_entities(1)->set_name(s.entities(0).name()); }},
      {"pooled_windows", [](v1::Snapshot& s) { s.clear_pooled_windows(); }},
      {"engine_mode", [](v1::Snapshot& s) { s.set_engine_mode(3); }},
      {"groups[1].mode", [](v1::Snapshot& s) { s.mutable_groups(1)->set_mode(7); }},
      {"groups[1].decayed_at",
       [](v1::Snapshot& s) { s.mutable_groups(1)->set_decayed_at(s.groups(1).first_window() - 1); }},
      {"entities[0].mode", [](v1::Snapshot& s) { s.mutable_entities(0)->set_mode(255); }},
  };
  ExpectEachRefusedNaming(good, cases);
  // An open window's own fields.
  v1::Snapshot damaged = good;
  v1::Entity* with_window = nullptr;
  for (v1::Entity& e : *damaged.mutable_entities()) {
    if (e.windows_size() > 0) with_window = &e;
  }
  ASSERT_NE(with_window, nullptr);
  with_window->mutable_windows(0)->set_events(with_window->windows(0).events() + 1);
  const auto result = Engine::FromSnapshot(Framed(damaged));
  EXPECT_THAT(result.status().message(), HasSubstr(".windows[0].events"));
}

// The state the value-distribution model adds: group sketches and the
// value samples of open windows; and a snapshot without them (as written
// before the model) still loads, the model untested until it learns.
TEST(SnapshotTest, RuleBreakingDistributionFieldsAreNamed) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  int group = -1;
  for (int g = 0; g < good.groups_size() && group < 0; ++g) {
    if (good.groups(g).distributions().sketches(0).counts_size() > 2) group = g;
  }
  ASSERT_GE(group, 0) << "no group learned request latencies";
  // A busy window: its first values flushed into samples, the rest pending.
  auto busy_engine = *Engine::Create(EngineOptions{});
  for (int i = 0; i < 300; ++i) {
    busy_engine->Ingest(EventBuilder(busy_engine->symbols())
                            .Time(1'793'577'600'000'000'000 + i * 100'000'000LL)
                            .Entity("busy").Group("g").Kind(Kind::kRequest).Subject("/")
                            .Value(10 + i % 7).Build());
  }
  const v1::Snapshot busy = Decoded(*busy_engine->Snapshot());
  ASSERT_TRUE(Engine::FromSnapshot(Framed(busy)).ok());
  ASSERT_EQ(busy.entities_size(), 1);
  ASSERT_EQ(busy.entities(0).windows_size(), 1);
  ASSERT_EQ(busy.entities(0).windows(0).samples(0).indices_size(), 256);
  ASSERT_EQ(busy.entities(0).windows(0).pending_value_indices_size(), 300 - 256);
  const int entity = 0;
  const std::string sketch = absl::StrCat("groups[", group, "].distributions.sketches");
  const std::string window = absl::StrCat("entities[", entity, "].windows[0].samples");
  auto first_sampled = [](v1::Entity* e) {
    for (v1::Window& w : *e->mutable_windows()) {
      if (w.samples_size() > 0 && w.samples(0).indices_size() > 0) return &w;
    }
    return static_cast<v1::Window*>(nullptr);
  };
  const std::vector<SnapshotDamage> cases = {
      {sketch, [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_distributions()->mutable_sketches()->RemoveLast();
       }},
      {sketch + "[0]", [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_distributions()->mutable_sketches(0)->set_relative_accuracy(0.05);
       }},
      {sketch + "[0]", [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_distributions()->mutable_sketches(0)->set_counts(0, 0);
       }},
      {sketch + "[0]", [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_distributions()->mutable_sketches(0)->set_first_index(
             2'000'000'000);
       }},
      {window, [&](v1::Snapshot& s) {
         first_sampled(s.mutable_entities(entity))->mutable_samples()->RemoveLast();
       }},
      {window, [&](v1::Snapshot& s) {
         v1::WindowSample* w = first_sampled(s.mutable_entities(entity))->mutable_samples(0);
         w->set_seen(w->seen() + 1000);
       }},
      {window, [&](v1::Snapshot& s) {
         first_sampled(s.mutable_entities(entity))->mutable_samples(0)->set_stride(3);
       }},
      {window, [&](v1::Snapshot& s) {
         first_sampled(s.mutable_entities(entity))->mutable_samples(0)->set_indices(0, 1 << 30);
       }},
      {"entities[0].windows[0].pending_value_indices", [&](v1::Snapshot& s) {
         s.mutable_entities(entity)->mutable_windows(0)->mutable_pending_value_indices()->RemoveLast();
       }},
      {"entities[0].windows[0].pending_value_indices[3]", [&](v1::Snapshot& s) {
         s.mutable_entities(entity)->mutable_windows(0)->set_pending_value_indices(3, -(1 << 30));
       }},
  };
  for (const SnapshotDamage& c : cases) {
    ExpectRefusedNaming(c.path.rfind("entities", 0) == 0 ? busy : good, c.path, c.damage);
  }

  // As written before the model: no option, no sketches, no samples.
  v1::Snapshot older = good;
  older.mutable_options()->clear_value_distribution();
  for (v1::Group& g : *older.mutable_groups()) g.clear_distributions();
  for (v1::Entity& e : *older.mutable_entities()) {
    for (v1::Window& w : *e.mutable_windows()) w.clear_samples();
  }
  auto restored = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE((*restored)->options().value_distribution);
  const v1::Snapshot again = Decoded(*(*restored)->Snapshot());
  for (const v1::Group& g : again.groups()) {
    for (const v1::QuantileSketch& s : g.distributions().sketches()) EXPECT_EQ(s.counts_size(), 0);
  }
}

// The state the multivariate model adds: per group its sums, warm-up
// windows, estimate and learned distances; and a snapshot without them (as
// written before the model) loads with the model off and empty, so that it
// scores as the engine that wrote it.
TEST(SnapshotTest, RuleBreakingMultivariateFieldsAreNamed) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  int estimated = -1, warming = -1;
  for (int g = 0; g < good.groups_size(); ++g) {
    const v1::MultivariateBaseline& m = good.groups(g).multivariate();
    if (estimated < 0 && m.has_estimate() && m.distance_bins_size() > 0 && m.dims_size() >= 2) {
      estimated = g;
    }
    if (warming < 0 && m.warmup_size() > 0) warming = g;
  }
  ASSERT_GE(estimated, 0) << "no group has a multivariate estimate";
  const std::string mv = absl::StrCat("groups[", estimated, "].multivariate");
  auto model = [&](v1::Snapshot& s) { return s.mutable_groups(estimated)->mutable_multivariate(); };
  std::vector<SnapshotDamage> cases = {
      {mv + ".dims[1]", [&](v1::Snapshot& s) { model(s)->set_dims(1, model(s)->dims(0)); }},
      {mv + ".dims[0]", [&](v1::Snapshot& s) { model(s)->set_dims(0, 99); }},
      {mv + ".sums", [&](v1::Snapshot& s) { model(s)->mutable_sums()->RemoveLast(); }},
      {mv + ".cross", [&](v1::Snapshot& s) { model(s)->add_cross(0); }},
      {mv + ".sums[0]", [&](v1::Snapshot& s) { model(s)->set_sums(0, std::nan("")); }},
      {mv + ".weight", [&](v1::Snapshot& s) { model(s)->set_weight(-1); }},
      {mv + ".weight", [&](v1::Snapshot& s) { model(s)->set_weight(1e-300); }},
      {mv + ".warmup", [&](v1::Snapshot& s) {
         for (int i = 0; i < internal::kMultivariateDims; ++i) model(s)->add_warmup(1);
       }},
      {mv + ".estimate.dims", [&](v1::Snapshot& s) { model(s)->mutable_estimate()->clear_dims(); }},
      {mv + ".estimate.precision", [&](v1::Snapshot& s) {
         model(s)->mutable_estimate()->mutable_precision()->RemoveLast();
       }},
      {mv + ".estimate.precision[0]", [&](v1::Snapshot& s) {
         model(s)->mutable_estimate()->set_precision(0, 0);
       }},
      {mv + ".estimate.cutoff", [&](v1::Snapshot& s) {
         model(s)->mutable_estimate()->set_cutoff(std::nan(""));
       }},
      {mv + ".estimate.estimated_at", [&](v1::Snapshot& s) {
         model(s)->mutable_estimate()->set_estimated_at(model(s)->windows() + 1);
       }},
      {mv + ".distance_bins", [&](v1::Snapshot& s) { model(s)->add_distance_bins(1); }},
      {mv + ".distance_bins", [&](v1::Snapshot& s) {
         model(s)->set_distance_bins(0, static_cast<uint32_t>(model(s)->windows() + 1));
       }},
      {mv + ".max_distance2", [&](v1::Snapshot& s) { model(s)->set_max_distance2(-1); }},
  };
  if (warming >= 0) {
    const std::string warm = absl::StrCat("groups[", warming, "].multivariate.warmup");
    cases.push_back({warm, [&](v1::Snapshot& s) {
                       s.mutable_groups(warming)->mutable_multivariate()->add_warmup(1);
                     }});
  }
  ExpectEachRefusedNaming(good, cases);

  // As written before the model: no option, no group state.
  v1::Snapshot older = good;
  older.mutable_options()->clear_multivariate_model();
  for (v1::Group& g : *older.mutable_groups()) g.clear_multivariate();
  auto restored = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE((*restored)->options().multivariate_model);
  const v1::Snapshot again = Decoded(*(*restored)->Snapshot());
  EXPECT_TRUE(again.options().has_multivariate_model());
  for (const v1::Group& g : again.groups()) EXPECT_FALSE(g.has_multivariate());
}

// The state the mix model adds: per group, the learned window statistics;
// and a snapshot without them (as written before the model) still loads,
// with the model off, so that it scores as it did.
TEST(SnapshotTest, RuleBreakingMixFieldsAreNamedAndOlderSnapshotsLoadWithTheModelOff) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  int group = -1;
  for (int g = 0; g < good.groups_size() && group < 0; ++g) {
    if (good.groups(g).has_mix() && good.groups(g).mix().mix(0).keys_size() > 1) group = g;
  }
  ASSERT_GE(group, 0) << "no group learned a request mix";
  const std::string where = absl::StrCat("groups[", group, "].mix");
  struct Case {
    std::string path;
    std::function<void(v1::MixBaseline&)> damage;
  };
  const std::vector<Case> cases = {
      {where + ".mix", [](v1::MixBaseline& m) { m.mutable_mix()->RemoveLast(); }},
      {where + ".distinct", [](v1::MixBaseline& m) { m.add_distinct(); }},
      {where + ".mix[0]", [](v1::MixBaseline& m) { m.mutable_mix(0)->add_counts(1); }},
      {where + ".mix[0]", [](v1::MixBaseline& m) { m.mutable_mix(0)->set_counts(0, 0); }},
      {where + ".mix[0]", [](v1::MixBaseline& m) {
         m.mutable_mix(0)->set_keys(1, m.mix(0).keys(0));  // not ascending
       }},
      {where + ".mix[0].keys[0]", [](v1::MixBaseline& m) { m.mutable_mix(0)->set_keys(0, 1u << 20); }},
  };
  for (const Case& c : cases) {
    ExpectRefusedNaming(good, c.path,
                        [&](v1::Snapshot& s) { c.damage(*s.mutable_groups(group)->mutable_mix()); });
  }
  ASSERT_TRUE(Engine::FromSnapshot(Framed(good)).ok());
  EXPECT_TRUE((*Engine::FromSnapshot(Framed(good)))->options().mix_model);

  v1::Snapshot older = good;
  older.mutable_options()->clear_mix_model();
  for (v1::Group& g : *older.mutable_groups()) g.clear_mix();
  auto restored = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE((*restored)->options().mix_model);
  const v1::Snapshot again = Decoded(*(*restored)->Snapshot());
  for (const v1::Group& g : again.groups()) EXPECT_FALSE(g.has_mix());
}

// The state the lifecycle phase adds: per group, start-up tables of the
// categorical features; and a snapshot without them (as written before the
// phase) loads with the phase off, so that it scores as it did.
TEST(SnapshotTest, RuleBreakingStartupTablesAreNamedAndOlderSnapshotsLoadWithThePhaseOff) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  EXPECT_TRUE(good.options().lifecycle_phase());
  int group = -1, feature = -1;
  for (int g = 1; g < good.groups_size() && group < 0; ++g) {
    for (int f = 0; f < good.groups(g).startup_tables_size() && group < 0; ++f) {
      if (good.groups(g).startup_tables(f).values_size() > 0) {
        group = g;
        feature = f;
      }
    }
  }
  ASSERT_GE(group, 0) << "no group learned a start-up value";
  const std::string where = absl::StrCat("groups[", group, "].startup_tables");
  const std::string table = absl::StrCat(where, "[", feature, "]");
  struct Case {
    std::string path;
    std::function<void(v1::Group&)> damage;
  };
  const std::vector<Case> cases = {
      {where, [](v1::Group& g) { g.mutable_startup_tables()->RemoveLast(); }},
      {table + ".values[0]",
       [&](v1::Group& g) { g.mutable_startup_tables(feature)->set_values(0, 1u << 30); }},
      {table + ".counts[0]", [&](v1::Group& g) { g.mutable_startup_tables(feature)->set_counts(0, 0); }},
      {table, [&](v1::Group& g) {
         v1::CategoricalTable* t = g.mutable_startup_tables(feature);
         t->set_novel_windows(t->windows() + 1);
       }},
      {table, [&](v1::Group& g) { g.mutable_startup_tables(feature)->set_total(0); }},
  };
  for (const Case& c : cases) {
    ExpectRefusedNaming(good, c.path, [&](v1::Snapshot& s) { c.damage(*s.mutable_groups(group)); });
  }
  auto restored = Engine::FromSnapshot(Framed(good));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE((*restored)->options().lifecycle_phase);
  EXPECT_EQ(*(*restored)->Snapshot(), Framed(good));

  v1::Snapshot older = good;
  older.mutable_options()->clear_lifecycle_phase();
  for (v1::Group& g : *older.mutable_groups()) g.clear_startup_tables();
  auto old_engine = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(old_engine.ok()) << old_engine.status();
  EXPECT_FALSE((*old_engine)->options().lifecycle_phase);
  // Learning on, it keeps one table per feature: none of start-up.
  const std::vector<std::string>& lines = FleetLines();
  for (size_t i = 20'000; i < 30'000; ++i) (void)(*old_engine)->IngestJsonl(lines[i]);
  const v1::Snapshot again = Decoded(*(*old_engine)->Snapshot());
  EXPECT_FALSE(again.options().lifecycle_phase());
  for (const v1::Group& g : again.groups()) EXPECT_EQ(g.startup_tables_size(), 0);
}

TEST(SnapshotTest, RuleBreakingCoarseFieldsAreNamedAndOlderSnapshotsLoadWithTheLevelsOff) {
  const v1::Snapshot good = Decoded(SmallSnapshot());
  ASSERT_EQ(good.options().coarse_windows_size(), 2);
  EXPECT_EQ(good.options().coarse_windows(0), 10u);
  int group = -1;
  for (int g = 1; g < good.groups_size() && group < 0; ++g) {
    if (good.groups(g).coarse_size() > 0 && good.groups(g).coarse(0).all_hours(0).n() > 0) group = g;
  }
  ASSERT_GE(group, 0) << "no group learned a coarse window";
  int entity = -1;
  for (int i = 0; i < good.entities_size() && entity < 0; ++i) {
    if (good.entities(i).coarse_size() > 0 && good.entities(i).coarse(0).index() >= 0) entity = i;
  }
  ASSERT_GE(entity, 0) << "no entity had a coarse window open";
  const std::string g = absl::StrCat("groups[", group, "].coarse");
  const std::string e = absl::StrCat("entities[", entity, "].coarse");
  const std::vector<SnapshotDamage> cases = {
      {"options.coarse_windows",
       [](v1::Snapshot& s) { s.mutable_options()->mutable_coarse_windows()->RemoveLast(); }},
      {"coarse_windows[0]", [](v1::Snapshot& s) { s.mutable_options()->set_coarse_windows(0, 1); }},
      {"coarse_windows[1]",
       [](v1::Snapshot& s) { s.mutable_options()->set_coarse_windows(1, 1441); }},
      {g, [&](v1::Snapshot& s) { s.mutable_groups(group)->mutable_coarse()->RemoveLast(); }},
      {g + "[0].all_hours[0]",
       [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_coarse(0)->mutable_all_hours(0)->set_n(-1);
       }},
      {g + "[1].hourly",
       [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_coarse(1)->mutable_hourly()->RemoveLast();
       }},
      {e, [&](v1::Snapshot& s) { s.mutable_entities(entity)->mutable_coarse()->RemoveLast(); }},
      {e + "[0].index",
       [&](v1::Snapshot& s) { s.mutable_entities(entity)->mutable_coarse(0)->set_index(1); }},
      {e + "[0].counts",
       [&](v1::Snapshot& s) {
         s.mutable_entities(entity)->mutable_coarse(0)->mutable_counts()->RemoveLast();
       }},
  };
  ExpectEachRefusedNaming(good, cases);
  auto restored = Engine::FromSnapshot(Framed(good));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->options().coarse_windows, (std::array<uint32_t, 2>{10, 60}));
  EXPECT_EQ(*(*restored)->Snapshot(), Framed(good));

  // Written before multi-resolution counts: both levels off, and nothing
  // coarse is learned or kept afterwards.
  v1::Snapshot older = good;
  older.mutable_options()->clear_coarse_windows();
  for (v1::Group& x : *older.mutable_groups()) x.clear_coarse();
  for (v1::Entity& x : *older.mutable_entities()) x.clear_coarse();
  auto old_engine = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(old_engine.ok()) << old_engine.status();
  EXPECT_EQ((*old_engine)->options().coarse_windows, (std::array<uint32_t, 2>{0, 0}));
  const std::vector<std::string>& lines = FleetLines();
  for (size_t i = 20'000; i < 30'000; ++i) (void)(*old_engine)->IngestJsonl(lines[i]);
  const v1::Snapshot again = Decoded(*(*old_engine)->Snapshot());
  EXPECT_EQ(again.options().coarse_windows_size(), 0);
  for (const v1::Group& x : again.groups()) EXPECT_EQ(x.coarse_size(), 0);
  for (const v1::Entity& x : again.entities()) EXPECT_EQ(x.coarse_size(), 0);
}

// The state the group-consensus and metric models add: a snapshot taken
// while findings wait for consensus, with metric series.
TEST(SnapshotTest, RuleBreakingConsensusAndMetricFieldsAreNamed) {
  auto engine = *Engine::Create(EngineOptions{});
  const std::vector<std::string>& lines = FleetLines();
  std::optional<v1::Snapshot> good;
  for (size_t i = 0; i < lines.size() && !good; ++i) {
    (void)engine->IngestJsonl(lines[i]);
    if (i > lines.size() * 4 / 5 && i % 500 == 0) {
      v1::Snapshot s = Decoded(*engine->Snapshot());
      if (s.held_findings_size() > 0) good = s;
    }
  }
  ASSERT_TRUE(good.has_value()) << "no finding was held for consensus";
  ASSERT_GT(good->held_findings(0).test_p_values_size(), 0);
  int with_sightings = -1, with_metrics = -1, with_evidence = -1;
  for (int g = 0; g < good->groups_size(); ++g) {
    if (good->groups(g).consensus().sighting_keys_size() > 0) with_sightings = g;
  }
  for (int e = 0; e < good->entities_size(); ++e) {
    if (good->entities(e).metrics().series_size() > 0) with_metrics = e;
    if (good->entities(e).evidence_size() > 0) with_evidence = e;
  }
  ASSERT_GE(with_sightings, 0);
  ASSERT_GE(with_metrics, 0);
  ASSERT_GE(with_evidence, 0);
  const std::vector<SnapshotDamage> cases = {
      {"held_findings[0].group",
       [](v1::Snapshot& s) { s.mutable_held_findings(0)->set_group(9999); }},
      {"held_findings[0].window",
       [](v1::Snapshot& s) { s.mutable_held_findings(0)->set_window(s.clock().next_close()); }},
      {"held_findings[0].finding",
       [](v1::Snapshot& s) { s.mutable_held_findings(0)->mutable_finding()->set_severity("dire"); }},
      {"held_findings[0].tests[0]",
       [](v1::Snapshot& s) { s.mutable_held_findings(0)->set_test_reasons(0, 99); }},
      {absl::StrCat("groups[", with_sightings, "].consensus.sightings[0]"),
       [&](v1::Snapshot& s) {
         s.mutable_groups(with_sightings)->mutable_consensus()->set_sighting_entities(0, 0);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->set_windows_per_bin(1000);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.spike_hist"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->mutable_spike_hist()->set_weight(0);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.spike_hist.bins"),
       [&](v1::Snapshot& s) {
         // A count past the bin of the largest value learned.
         v1::TailHistogram* h = s.mutable_entities(with_metrics)->mutable_metrics()
                                    ->mutable_series(0)->mutable_model()->mutable_spike_hist();
         h->set_bins(internal::TailHistogram::kBins - 1, 1);
         h->set_max(1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.long_scale"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->set_long_scale(-1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.variance_hist"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->mutable_variance_hist()->add_bins(1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.long_level"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->set_long_level(std::numeric_limits<double>::infinity());
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.long_level"),
       [&](v1::Snapshot& s) {
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->set_long_level_windows(0);
         m->set_long_level(1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.shift_hist"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->mutable_shift_hist()->set_total(-1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.medium_level"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->set_medium_level(std::numeric_limits<double>::quiet_NaN());
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.medium_level"),
       [&](v1::Snapshot& s) {
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->set_long_level_windows(0);
         m->set_long_level(0);
         m->set_medium_level(2);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.medium_shift_hist"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->mutable_medium_shift_hist()->set_weight(-1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.stuck_value"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)
             ->mutable_model()->set_stuck_value(std::numeric_limits<double>::infinity());
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.stuck_windows"),
       [&](v1::Snapshot& s) {
         // A run longer than the windows learned.
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->set_stuck_windows(m->stuck_learned() + 1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.stuck_windows"),
       [&](v1::Snapshot& s) {
         // An earlier run that does not fit beside the current one.
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->set_stuck_record(m->stuck_learned() + 1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.stuck_windows"),
       [&](v1::Snapshot& s) {
         // A run with nothing learned.
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->set_stuck_learned(0);
         m->set_stuck_value(0);
         m->set_stuck_record(0);
         m->set_stuck_windows(1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.season_scale"),
       [&](v1::Snapshot& s) {
         // One spread more than the season has bins.
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->clear_season_scale();
         for (int b = 0; b <= m->season_size(); ++b) m->add_season_scale(1);
       }},
      {absl::StrCat("entities[", with_metrics, "].metrics.series[0].model.season_scale"),
       [&](v1::Snapshot& s) {
         // A spread that is not a number (or, without a season, any spread).
         v1::MetricModelState* m =
             s.mutable_entities(with_metrics)->mutable_metrics()->mutable_series(0)->mutable_model();
         m->clear_season_scale();
         m->add_season_scale(std::numeric_limits<float>::quiet_NaN());
         for (int b = 1; b < m->season_size(); ++b) m->add_season_scale(1);
       }},
      {absl::StrCat("entities[", with_evidence, "].evidence[0].level"),
       [&](v1::Snapshot& s) {
         s.mutable_entities(with_evidence)->mutable_evidence(0)->set_level(-1);
       }},
      {absl::StrCat("entities[", with_evidence, "].evidence[0].windows"),
       [&](v1::Snapshot& s) { s.mutable_entities(with_evidence)->mutable_evidence(0)->set_windows(0); }},
      {absl::StrCat("entities[", with_evidence, "].evidence[0].test"),
       [&](v1::Snapshot& s) { s.mutable_entities(with_evidence)->mutable_evidence(0)->set_test(70000); }},
      {absl::StrCat("entities[", with_evidence, "].evidence"),
       [&](v1::Snapshot& s) {
         v1::Entity* e = s.mutable_entities(with_evidence);
         for (int i = 0; i < 20; ++i) e->add_evidence()->set_test(1000 + i);
       }},
  };
  ASSERT_TRUE(Engine::FromSnapshot(Framed(*good)).ok());
  ExpectEachRefusedNaming(*good, cases);
  // A snapshot from before the metric model's variance, shift and stuck
  // tests and phase spreads (no long_scale, variance_hist, long_level,
  // long_level_windows, shift_hist, medium_level, medium_shift_hist,
  // stuck_* or season_scale) loads; the tests warm up and the state then
  // travels.
  v1::Snapshot older = *good;
  for (v1::Entity& e : *older.mutable_entities()) {
    for (v1::MetricSeries& series : *e.mutable_metrics()->mutable_series()) {
      series.mutable_model()->clear_long_scale();
      series.mutable_model()->clear_variance_hist();
      series.mutable_model()->clear_long_level();
      series.mutable_model()->clear_long_level_windows();
      series.mutable_model()->clear_shift_hist();
      series.mutable_model()->clear_medium_level();
      series.mutable_model()->clear_medium_shift_hist();
      series.mutable_model()->clear_stuck_learned();
      series.mutable_model()->clear_stuck_value();
      series.mutable_model()->clear_stuck_windows();
      series.mutable_model()->clear_stuck_record();
      series.mutable_model()->clear_season_scale();
      series.mutable_model()->clear_whole_numbers();
    }
  }
  auto restored = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (size_t i = lines.size() * 4 / 5; i < lines.size(); ++i) (void)(*restored)->IngestJsonl(lines[i]);
  const v1::Snapshot later = Decoded(*(*restored)->Snapshot());
  bool learned = false;
  for (const v1::Entity& e : later.entities()) {
    for (const v1::MetricSeries& series : e.metrics().series()) {
      learned = learned || (series.model().long_scale() > 0 && series.model().has_variance_hist() &&
                            series.model().long_level_windows() > 0 &&
                            series.model().has_shift_hist() &&
                            series.model().has_medium_shift_hist() &&
                            series.model().stuck_learned() > 0 &&
                            series.model().stuck_windows() >= 1 &&
                            series.model().season_scale_size() == series.model().season_size());
      // A series from before the count guards keeps the plain tests.
      EXPECT_FALSE(series.model().whole_numbers());
    }
  }
  EXPECT_TRUE(learned);
}

// --- files -------------------------------------------------------------------

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("snapshot_test_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SnapshotFileTest, SaveReplacesAtomicallyAndLoadRestores) {
  const std::string path = (dir_ / "model.tsnap").string();
  auto engine = *Engine::Create(EngineOptions{});
  ASSERT_TRUE(engine->IngestJsonl(FleetLines()[0]).ok());
  ASSERT_TRUE(engine->SaveSnapshot(path).ok());
  for (size_t i = 1; i < 5000; ++i) (void)engine->IngestJsonl(FleetLines()[i]);
  ASSERT_TRUE(engine->SaveSnapshot(path).ok());  // replaces the first
  // Nothing but the snapshot is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto loaded = Engine::LoadSnapshot(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*(*loaded)->Snapshot(), *engine->Snapshot());
}

TEST_F(SnapshotFileTest, ErrorsNameThePath) {
  auto engine = *Engine::Create(EngineOptions{});
  const std::string missing_dir = (dir_ / "no" / "such" / "dir" / "m.tsnap").string();
  const absl::Status save = engine->SaveSnapshot(missing_dir);
  EXPECT_FALSE(save.ok());
  EXPECT_THAT(save.message(), HasSubstr(missing_dir));

  const std::string missing = (dir_ / "missing.tsnap").string();
  EXPECT_THAT(Engine::LoadSnapshot(missing).status().message(), HasSubstr(missing));

  const std::string text = (dir_ / "events.jsonl").string();
  std::ofstream(text) << FleetLines()[0] << "\n";
  const auto not_snapshot = Engine::LoadSnapshot(text);
  EXPECT_EQ(not_snapshot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_snapshot.status().message(), HasSubstr(text));
}

// A crash mid-save is a temporary file that never got renamed: the
// previous snapshot must still load.
TEST_F(SnapshotFileTest, InterruptedSaveLeavesThePreviousFile) {
  const std::string path = (dir_ / "model.tsnap").string();
  auto engine = *Engine::Create(EngineOptions{});
  for (size_t i = 0; i < 1000; ++i) (void)engine->IngestJsonl(FleetLines()[i]);
  ASSERT_TRUE(engine->SaveSnapshot(path).ok());
  const std::string bytes = *engine->Snapshot();
  std::ofstream(path + ".tmp.crashed") << bytes.substr(0, bytes.size() / 2);
  EXPECT_TRUE(Engine::LoadSnapshot(path).ok());
}

// Each released format's reference file loads; its state survives a second
// round trip unchanged. (tests/cli/cli_test.sh checks that it scores as it did.)
TEST(SnapshotTest, ReferenceSnapshotsOfEveryVersionLoad) {
  int versions = 0;
  for (const auto& dir : std::filesystem::directory_iterator(
           std::filesystem::path(TIMESCAN_TEST_DATA_DIR) / "snapshots")) {
    if (dir.path().filename().string().rfind('v', 0) != 0) continue;
    ++versions;
    const std::string path = (dir.path() / "model.tsnap").string();
    auto loaded = Engine::LoadSnapshot(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_GT((*loaded)->stats().entities_live, 0u) << path;
    auto again = Engine::FromSnapshot(*(*loaded)->Snapshot());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*(*again)->Snapshot(), *(*loaded)->Snapshot());
  }
  EXPECT_GE(versions, static_cast<int>(kSnapshotFormatVersion));
}

// The fuzzer's corpus, replayed with its checks (tests/fuzz/
// snapshot_exercise.h): each file as the fuzzer reads it, and as raw bytes
// (the seeds are snapshots themselves).
TEST(SnapshotTest, FuzzCorpusReplays) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(TIMESCAN_TEST_DATA_DIR) / "snapshots" / "corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    EXPECT_EQ(fuzz::ExerciseSnapshot(fuzz::SnapshotBytesOfInput(data)), "") << entry.path();
    EXPECT_EQ(fuzz::ExerciseSnapshot(data), "") << entry.path() << " (raw)";
  }
  EXPECT_GT(files, 0);
}

// --- merge -------------------------------------------------------------------

// A canonical description of an engine's baselines: groups by name, their
// learned windows, known values and expected counts, independent of the
// order groups and symbols were created in.
std::string Baselines(const Engine& engine) {
  std::vector<GroupSummary> groups = engine.Groups();
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string out;
  for (const GroupSummary& g : groups) {
    absl::StrAppend(&out, g.name, " ", g.ungrouped_entity, " ", g.new_after_learning, " ",
                    g.learned_windows, "\n");
    for (int k = 0; k < kKindCount; ++k) {
      for (Field field : {Field::kSubject, Field::kActor}) {
        auto values = engine.KnownValues(g.name, static_cast<Kind>(k), field, SIZE_MAX);
        EXPECT_TRUE(values.ok()) << values.status();
        // By name: ties in count are ordered by symbol, which differs.
        std::sort(values->begin(), values->end(),
                  [](const auto& x, const auto& y) { return x.value < y.value; });
        for (const KnownValue& v : *values) {
          absl::StrAppend(&out, "  ", k, " ", static_cast<int>(field), " ", v.value, " ", v.count, "\n");
        }
      }
      for (int hour = 0; hour < 24; hour += 5) {
        const CountExpectation e = *engine.ExpectedCount(g.name, static_cast<Kind>(k), hour);
        // Rounded: merges agree up to floating-point rounding of the moments.
        absl::StrAppendFormat(&out, "  count %d %d %.9g %.9g %.9g %d\n", k, hour, e.mean, e.lower,
                              e.upper, e.windows);
      }
    }
  }
  return out;
}

// Engines that each see some replicas of the same groups, all learning.
std::unique_ptr<Engine> LearnReplicas(int part, int parts) {
  EngineOptions options;
  options.learning_period = absl::Hours(24 * 30);
  // Under the distinct-value cap: at the cap, which new values a table keeps
  // depends on the order they come in, in a merge as in learning.
  options.max_values_per_feature = 1'000'000;
  options.coarse_windows = {10, 60};  // off by default
  auto engine = *Engine::Create(options);
  testing::FleetSpec spec;
  spec.duration = 6 * testing::kHour;
  spec.replicas = 6;
  SymbolTable names;
  testing::SyntheticFleet(spec).Run(names, [&](const Event& event) {
    const std::string_view entity = names.Name(event.entity);
    if (parts > 1 && (entity.back() - '0') % parts != part) return;
    Event e = event;
    e.entity = engine->Intern(entity);
    e.group = engine->Intern(names.Name(event.group));
    e.subject = engine->Intern(names.Name(event.subject));
    e.actor = engine->Intern(names.Name(event.actor));
    engine->Ingest(e);
  });
  engine->Flush();
  return engine;
}

// The replicas learned in one engine, and in two engines (half each) then
// merged.
struct WholeAndMerged {
  std::unique_ptr<Engine> whole;
  std::unique_ptr<Engine> merged;
};
WholeAndMerged LearnWholeAndMergedHalves() {
  WholeAndMerged out{LearnReplicas(0, 1), LearnReplicas(0, 2)};
  auto other_half = LearnReplicas(1, 2);
  const absl::Status merged = out.merged->Merge(*other_half);
  EXPECT_TRUE(merged.ok()) << merged;
  return out;
}

TEST(MergeTest, MergedPartsMatchTheUnion) {
  const auto [whole, a] = LearnWholeAndMergedHalves();
  // Counts of values, windows and count moments are exact; the novelty
  // exposure is not compared here: a value new to each part counts as a
  // novel window in both (merged rates are at most a few windows higher).
  EXPECT_TRUE(SameText(Baselines(*a), Baselines(*whole)));
}

// The coarse count moments of each group (n, mean, m2 of every slot), by
// group name.
std::map<std::string, std::vector<double>> CoarseBaselines(const Engine& engine) {
  const v1::Snapshot s = Decoded(*engine.Snapshot());
  std::map<std::string, std::vector<double>> out;
  for (const v1::Group& g : s.groups()) {
    std::vector<double>& moments =
        out[absl::StrCat(s.symbols(static_cast<int>(g.name()) - 1), g.is_entity())];
    for (const v1::CountBaseline& c : g.coarse()) {
      for (const auto* slots : {&c.all_hours(), &c.hourly()}) {
        for (const v1::Moments& m : *slots) moments.insert(moments.end(), {m.n(), m.mean(), m.m2()});
      }
    }
  }
  return out;
}

TEST(MergeTest, CoarseBaselinesOfMergedPartsMatchTheUnion) {
  const auto [whole, a] = LearnWholeAndMergedHalves();
  const auto merged = CoarseBaselines(*a);
  const auto expected = CoarseBaselines(*whole);
  ASSERT_EQ(merged.size(), expected.size());
  size_t learned = 0;
  for (const auto& [name, moments] : expected) {
    learned += moments.size();
    ASSERT_TRUE(merged.contains(name)) << name;
    ASSERT_EQ(merged.at(name).size(), moments.size()) << name;
    // Equal up to floating-point rounding of the moments.
    for (size_t i = 0; i < moments.size(); ++i) {
      EXPECT_NEAR(merged.at(name)[i], moments[i], 1e-9 * (1 + std::abs(moments[i])))
          << name << " " << i;
    }
  }
  EXPECT_GT(learned, 0u);

  // A level the other engine does not keep stays as learned here.
  EngineOptions off;
  off.coarse_windows = {0, 0};
  off.max_values_per_feature = 1'000'000;  // as LearnReplicas
  auto plain = *Engine::Create(off);
  auto c = LearnReplicas(0, 2);
  const auto before = CoarseBaselines(*c);
  ASSERT_TRUE(c->Merge(*plain).ok());
  EXPECT_EQ(CoarseBaselines(*c), before);
}

TEST(MergeTest, CommutativeAndAssociative) {
  auto make = [](int part) { return LearnReplicas(part, 3); };
  auto ab = make(0);
  ASSERT_TRUE(ab->Merge(*make(1)).ok());
  auto ba = make(1);
  ASSERT_TRUE(ba->Merge(*make(0)).ok());
  EXPECT_TRUE(SameText(Baselines(*ab), Baselines(*ba)));

  auto ab_c = make(0);
  ASSERT_TRUE(ab_c->Merge(*make(1)).ok());
  ASSERT_TRUE(ab_c->Merge(*make(2)).ok());
  auto a_bc = make(0);
  auto bc = make(1);
  ASSERT_TRUE(bc->Merge(*make(2)).ok());
  ASSERT_TRUE(a_bc->Merge(*bc).ok());
  EXPECT_TRUE(SameText(Baselines(*ab_c), Baselines(*a_bc)));
}

TEST(MergeTest, GroupsNewToOneEngineAreCopied) {
  auto a = *Engine::Create(EngineOptions{});
  auto b = *Engine::Create(EngineOptions{});
  Event e;
  e.time_ns = testing::kStart;
  e.kind = Kind::kExec;
  e.entity = b->Intern("c1");
  e.group = b->Intern("only-in-b");
  e.subject = b->Intern("/bin/true");
  b->Ingest(e);
  b->Flush();
  ASSERT_TRUE(a->Merge(*b).ok());
  const auto values = a->KnownValues("only-in-b", Kind::kExec, Field::kSubject, 10);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 1u);
  EXPECT_EQ((*values)[0].value, "/bin/true");
  // Entities stay with the engine that saw them.
  EXPECT_FALSE(a->GroupOf("c1").ok());
}

TEST(MergeTest, IncompatibleEnginesAreRefusedUnchanged) {
  auto a = LearnReplicas(0, 2);
  EngineOptions other_window;
  other_window.window = absl::Minutes(5);
  auto b = *Engine::Create(other_window);
  const std::string before = *a->Snapshot();
  const absl::Status status = a->Merge(*b);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("window"));
  EXPECT_EQ(*a->Snapshot(), before);
  EXPECT_EQ(a->Merge(*a).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EndLearningTest, LaterWindowsAreScored) {
  EngineOptions options;
  options.learning_period = absl::Hours(24 * 366);
  auto engine = *Engine::Create(options);
  uint64_t scored = 0;
  engine->SetWindowScoreCallback([&](const WindowScore&) { ++scored; });
  const std::vector<std::string>& lines = FleetLines();
  const size_t half = lines.size() / 2;
  for (size_t i = 0; i < half; ++i) (void)engine->IngestJsonl(lines[i]);
  engine->Flush();
  EXPECT_EQ(scored, 0u);
  engine->EndLearning();
  EXPECT_LE(engine->stats().learning_ends_ns, engine->stats().watermark_ns);
  for (size_t i = half; i < lines.size(); ++i) (void)engine->IngestJsonl(lines[i]);
  engine->Flush();
  EXPECT_GT(scored, 1000u);
}

}  // namespace
}  // namespace timescan
