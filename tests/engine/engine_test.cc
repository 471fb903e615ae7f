#include "timescan/engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synthetic_fleet.h"

namespace timescan {
namespace {

using ::testing::HasSubstr;
using testing::kDay;
using testing::kHour;
using testing::kMinute;
using testing::kSecond;
using testing::kStart;

// Collects what an engine reports.
struct Recorder {
  std::vector<Finding> findings;
  std::vector<WindowScore> windows;
  std::vector<std::string> json;

  void Attach(Engine& engine) {
    engine.SetFindingCallback([this](const Finding& f) {
      findings.push_back(f);
      json.push_back(FindingToJson(f));
    });
    engine.SetWindowScoreCallback([this](const WindowScore& w) { windows.push_back(w); });
  }
};

std::unique_ptr<Engine> MakeEngine(EngineOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return std::move(*engine);
}

Event MakeEvent(Engine& engine, int64_t time, std::string_view entity, std::string_view group,
                Kind kind, std::string_view subject, std::string_view actor = "") {
  return EventBuilder(engine.symbols())
      .Time(time).Entity(entity).Group(group).Kind(kind).Subject(subject).Actor(actor).Build();
}

EngineOptions NoLearning() {
  EngineOptions options;
  options.learning_period = absl::ZeroDuration();
  return options;
}

TEST(EngineWindows, CloseOnlyWhenTheWatermarkPassesTheirEnd) {
  auto engine = MakeEngine(NoLearning());
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, kStart + 10 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  // 10:01:04.999: the watermark (5 s lateness) is just short of 10:01:00.
  engine->Ingest(MakeEvent(*engine, kStart + kMinute + 5 * kSecond - 1, "c1", "g", Kind::kExec, "/bin/a"));
  EXPECT_TRUE(rec.windows.empty());
  engine->Ingest(MakeEvent(*engine, kStart + kMinute + 5 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  ASSERT_EQ(rec.windows.size(), 1u);
  EXPECT_EQ(rec.windows[0].window_start_ns, kStart);
  EXPECT_EQ(rec.windows[0].window_end_ns, kStart + kMinute);
  EXPECT_EQ(rec.windows[0].events, 1u);
}

TEST(EngineWindows, EventsAtTheBoundaryBelongToTheLaterWindow) {
  auto engine = MakeEngine(NoLearning());
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, kStart + kMinute - 1, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + kMinute, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + kMinute, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Flush();
  ASSERT_EQ(rec.windows.size(), 2u);
  EXPECT_EQ(rec.windows[0].events, 1u);
  EXPECT_EQ(rec.windows[1].events, 2u);
}

// Times from 0 (the epoch) are valid: the first window [0, 1m) is a window
// like any other (until 2026-12-03 the engine's cache of the last event's
// window started out matching every time below one window, so a first event
// in that minute was counted late).
TEST(EngineWindows, EventsInTheEpochsFirstWindowAreNotLate) {
  auto engine = MakeEngine(NoLearning());
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, 0, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, 30 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kMinute, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Flush();
  EXPECT_EQ(engine->stats().late_events, 0u);
  EXPECT_EQ(engine->stats().events, 3u);
  ASSERT_EQ(rec.windows.size(), 2u);
  EXPECT_EQ(rec.windows[0].window_start_ns, 0);
  EXPECT_EQ(rec.windows[0].events, 2u);
  EXPECT_EQ(rec.windows[1].events, 1u);
}

TEST(EngineWindows, OutOfOrderEventsWithinTheLatenessJoinTheirWindow) {
  auto engine = MakeEngine(NoLearning());
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, kStart + 30 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + kMinute + 3 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  // 4 s behind the newest event: still within the 5 s lateness.
  engine->Ingest(MakeEvent(*engine, kStart + 59 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Flush();
  EXPECT_EQ(engine->stats().late_events, 0u);
  ASSERT_EQ(rec.windows.size(), 2u);
  EXPECT_EQ(rec.windows[0].events, 2u);
}

TEST(EngineWindows, LateEventsAreCountedAndNotScored) {
  auto engine = MakeEngine(NoLearning());
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, kStart + 30 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + kMinute + 6 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  ASSERT_EQ(rec.windows.size(), 1u);
  engine->Ingest(MakeEvent(*engine, kStart + 40 * kSecond, "c1", "g", Kind::kExec, "/bin/a"));
  const EngineStats stats = engine->stats();
  EXPECT_EQ(stats.late_events, 1u);
  EXPECT_EQ(stats.events, 2u);
  EXPECT_EQ(rec.windows[0].events, 1u);
}

TEST(EngineWindows, EmptyWindowsAreObservedAndIdleEntitiesRetire) {
  EngineOptions options = NoLearning();
  options.idle_ttl = absl::Minutes(3);
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  engine->Ingest(MakeEvent(*engine, kStart, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + 2 * kMinute, "c1", "g", Kind::kExec, "/bin/a"));
  engine->Ingest(MakeEvent(*engine, kStart + 2 * kMinute, "c2", "g", Kind::kExec, "/bin/a"));
  engine->AdvanceTo(kStart + 10 * kMinute);
  // c1: 10:00 (1 event), 10:01 (empty), 10:02 (1), then empty until retired.
  std::vector<uint32_t> c1_events;
  const Symbol c1 = *engine->symbols().Find("c1");
  for (const WindowScore& w : rec.windows) {
    if (w.entity == c1) c1_events.push_back(w.events);
  }
  ASSERT_GE(c1_events.size(), 3u);
  EXPECT_EQ(c1_events[0], 1u);
  EXPECT_EQ(c1_events[1], 0u);
  EXPECT_EQ(c1_events[2], 1u);
  // Idle for 3 windows after 10:02, so retired at the close of 10:05.
  EXPECT_EQ(c1_events.size(), 6u);
  const EngineStats stats = engine->stats();
  EXPECT_EQ(stats.entities_retired, 2u);
  EXPECT_EQ(stats.entities_live, 0u);
  EXPECT_FALSE(engine->GroupOf("c1").ok());
}

TEST(EngineWindows, AChurningFleetKeepsLiveStateBounded) {
  EngineOptions options = NoLearning();
  options.idle_ttl = absl::Minutes(5);
  auto engine = MakeEngine(options);
  uint64_t most_live = 0;
  // 5,000 short-lived containers, one starting every minute, each living
  // two minutes.
  for (int i = 0; i < 5000; ++i) {
    const std::string entity = absl::StrCat("job-", i);
    for (int s = 0; s < 120; s += 10) {
      engine->Ingest(MakeEvent(*engine, kStart + i * kMinute + s * kSecond, entity, "jobs",
                               Kind::kExec, "/bin/job"));
    }
    most_live = std::max(most_live, engine->stats().entities_live);
  }
  engine->Flush();
  const EngineStats stats = engine->stats();
  EXPECT_EQ(stats.entities_seen, 5000u);
  EXPECT_LE(most_live, 10u);
  EXPECT_GE(stats.entities_retired, 4990u);
  EXPECT_EQ(stats.late_events, 0u);
}

TEST(EngineInput, InvalidEventsAreCountedNotIngested) {
  auto engine = MakeEngine(NoLearning());
  Event event = MakeEvent(*engine, kStart, "c1", "g", Kind::kExec, "/bin/a");
  Event bad_kind = event;
  bad_kind.kind = static_cast<Kind>(200);
  // A symbol this engine's table never produced, in each field.
  std::vector<Event> bad_symbols(4, event);
  bad_symbols[0].entity = 1'000'000;
  bad_symbols[1].group = 1'000'000;
  bad_symbols[2].subject = 1'000'000;
  bad_symbols[3].actor = 1'000'000;
  Event no_entity = event;
  no_entity.entity = kNoSymbol;
  Event negative_time = event;
  negative_time.time_ns = -1;
  Event far_future = event;
  far_future.time_ns = INT64_MAX;
  for (const Event& e : bad_symbols) engine->Ingest(e);
  for (const Event& e : {bad_kind, no_entity, negative_time, far_future}) engine->Ingest(e);
  EXPECT_EQ(engine->stats().invalid_events, 8u);
  EXPECT_EQ(engine->stats().events, 0u);
  engine->Ingest(event);
  EXPECT_EQ(engine->stats().events, 1u);
}

// Hostile event streams: times all over the representable range, jumps
// back and forth, every kind, values of every sign. Nothing may crash or
// hang, and every event is accounted for.
TEST(EngineInput, RandomEventStreamsAreAccountedFor) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 20; ++round) {
    EngineOptions options = NoLearning();
    options.idle_ttl = absl::Minutes(2);
    auto engine = MakeEngine(options);
    Recorder rec;
    rec.Attach(*engine);
    std::vector<Symbol> names;
    for (int i = 0; i < 8; ++i) names.push_back(engine->Intern(absl::StrCat("v", i)));
    uint64_t sent = 0;
    int64_t t = static_cast<int64_t>(rng() % (uint64_t{1} << 62));
    for (int i = 0; i < 2000; ++i) {
      const uint64_t r = rng();
      if (r % 50 == 0) t = static_cast<int64_t>(rng());               // anywhere, even negative
      else if (r % 7 == 0) t -= static_cast<int64_t>(rng() % kHour);  // back in time
      else t += static_cast<int64_t>(rng() % (10 * kSecond));
      Event e;
      e.time_ns = t;
      e.entity = names[rng() % names.size()];
      e.group = names[rng() % names.size()];
      e.kind = static_cast<Kind>(rng() % 12);  // some invalid
      e.subject = names[rng() % names.size()];
      e.actor = names[rng() % names.size()];
      e.has_value = rng() % 2;
      e.value = static_cast<double>(static_cast<int64_t>(rng())) / 1e6;
      e.has_status = rng() % 2;
      e.status = static_cast<int32_t>(rng());
      engine->Ingest(e);
      ++sent;
    }
    engine->AdvanceTo(INT64_MAX);
    engine->Flush();
    const EngineStats s = engine->stats();
    EXPECT_EQ(s.events + s.late_events + s.invalid_events, sent);
  }
}

struct BadLine {
  std::string line;
  std::string message;
};

class EngineMalformedLine : public ::testing::TestWithParam<BadLine> {};

TEST_P(EngineMalformedLine, IsRejectedWithTheFieldAndWhatWasExpected) {
  auto engine = MakeEngine();
  const absl::Status status = engine->IngestJsonl(GetParam().line);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(GetParam().message));
  EXPECT_EQ(engine->stats().bad_lines, 1u);
  EXPECT_EQ(engine->stats().events, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllClasses, EngineMalformedLine,
    ::testing::Values(
        BadLine{"{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"c1\"", "expected one JSON object"},
        BadLine{"[1,2,3]", "expected one JSON object"},
        BadLine{"not json at all", "expected one JSON object"},
        BadLine{"{\"entity\":\"c1\",\"kind\":\"exec\"}", "field 'time': missing"},
        BadLine{"{\"time\":\"2026-11-02T10:00:00Z\",\"kind\":\"exec\"}", "field 'entity'"},
        BadLine{"{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"c1\"}", "field 'kind': missing"},
        BadLine{"{\"time\":\"2026-11-02T10:00:00Z\",\"entity\":\"c1\",\"kind\":\"spawn\"}",
                "expected one of exec, exit"},
        BadLine{"{\"time\":\"yesterday\",\"entity\":\"c1\",\"kind\":\"exec\"}", "RFC 3339"},
        BadLine{"{\"time\":\"2026-13-02T10:00:00Z\",\"entity\":\"c1\",\"kind\":\"exec\"}", "bad month"},
        BadLine{"{\"time\":\"1969-12-31T23:59:59Z\",\"entity\":\"c1\",\"kind\":\"exec\"}", "outside 1970"},
        BadLine{"{\"time\":\"2263-01-01T00:00:00Z\",\"entity\":\"c1\",\"kind\":\"exec\"}", "outside 1970"},
        BadLine{"{\"time\":-5,\"entity\":\"c1\",\"kind\":\"exec\"}", "outside"},
        BadLine{"{\"time\":1e300,\"entity\":\"c1\",\"kind\":\"exec\"}", "outside"},
        BadLine{"{\"time\":true,\"entity\":\"c1\",\"kind\":\"exec\"}", "got a boolean"},
        BadLine{"{\"time\":1e999,\"entity\":\"c1\",\"kind\":\"exec\"}", "field 'time'"},
        BadLine{"{\"time\":1,\"entity\":5,\"kind\":\"exec\"}", "field 'entity': expected a string"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"value\":\"12\"}",
                "field 'value': expected a number"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"value\":NaN}", "field 'value'"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"status\":2.5}", "field 'status'"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"status\":99999999999}", "32-bit"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"entity\":\"c2\",\"kind\":\"exec\"}", "appears twice"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"subject\":\"\xff\xfe\"}", "UTF-8"},
        BadLine{"{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\"} {\"x\":1}", "expected"}));

TEST(EngineInput, EveryEventOfARepeatedActorIsLearned) {
  // The window's values are counted in bulk, an actor repeating its kind's
  // previous one counted once at the end: 300 events (past the 128-event
  // buffer) with runs of one actor broken by another kind and another actor.
  EngineOptions options;
  options.learning_period = absl::Hours(1);
  auto engine = MakeEngine(options);
  std::map<std::pair<Kind, std::string>, uint64_t> expected;
  for (int i = 0; i < 300; ++i) {
    const Kind kind = i % 7 == 0 ? Kind::kConnect : Kind::kRequest;
    const std::string actor = kind == Kind::kConnect ? "node" : (i % 50 < 40 ? "client" : "probe");
    ++expected[{kind, actor}];
    engine->Ingest(MakeEvent(*engine, kStart + i * 100'000'000LL, "c1", "app", kind,
                             absl::StrCat("/r", i % 13), actor));
  }
  engine->AdvanceTo(kStart + 5 * kMinute);
  std::map<std::pair<Kind, std::string>, uint64_t> learned;
  for (Kind kind : {Kind::kRequest, Kind::kConnect}) {
    absl::StatusOr<std::vector<KnownValue>> known =
        engine->KnownValues("app", kind, Field::kActor, 10);
    ASSERT_TRUE(known.ok()) << known.status();
    for (const KnownValue& v : *known) learned[{kind, v.value}] = v.count;
  }
  EXPECT_EQ(learned, expected);
}

TEST(EngineInput, UnknownFieldsAndBlankLinesAreIgnored) {
  auto engine = MakeEngine();
  EXPECT_TRUE(engine->IngestJsonl("   ").ok());
  EXPECT_TRUE(engine
                  ->IngestJsonl("{\"time\":\"2026-11-02T10:00:00.5+01:00\",\"entity\":\"c1\","
                                "\"kind\":\"request\",\"extra\":{\"deep\":[1,2,{\"x\":null}]},"
                                "\"value\":12.5,\"status\":503,\"subject\":\"/api\"}")
                  .ok());
  EXPECT_EQ(engine->stats().events, 1u);
  EXPECT_EQ(engine->stats().bad_lines, 0u);
}

TEST(EngineInput, DeeplyNestedUnknownFieldIsAnErrorNotACrash) {
  auto engine = MakeEngine();
  std::string line = "{\"time\":1,\"entity\":\"c1\",\"kind\":\"exec\",\"x\":";
  line += std::string(100000, '[');
  line += std::string(100000, ']');
  line += "}";
  const absl::Status status = engine->IngestJsonl(line);
  // simdjson refuses documents deeper than its limit; either way no crash.
  if (!status.ok()) EXPECT_EQ(engine->stats().bad_lines, 1u);
}

TEST(EngineOptionsValidation, RejectsOutOfRangeOptionsNamingThem) {
  EngineOptions options;
  options.window = absl::Milliseconds(10);
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("window"));
  options = {};
  options.false_findings_per_entity_day = 0;
  EXPECT_THAT(std::string(Engine::Create(options).status().message()),
              HasSubstr("false_findings_per_entity_day"));
  options = {};
  options.threshold = -1;
  EXPECT_FALSE(Engine::Create(options).ok());
  options = {};
  options.idle_ttl = absl::Seconds(1);
  EXPECT_THAT(std::string(Engine::Create(options).status().message()), HasSubstr("idle_ttl"));
  for (double quorum : {0.0, 1.5}) {
    options = {};
    options.consensus_quorum = quorum;
    EXPECT_THAT(std::string(Engine::Create(options).status().message()),
                HasSubstr("consensus_quorum"));
  }
  options = {};
  options.consensus_wait_windows = 65;
  EXPECT_THAT(std::string(Engine::Create(options).status().message()),
              HasSubstr("consensus_wait_windows"));
  options = {};
  options.consensus_span_windows = 1441;
  EXPECT_THAT(std::string(Engine::Create(options).status().message()),
              HasSubstr("consensus_span_windows"));
  for (const std::array<uint32_t, 2> bad : {std::array<uint32_t, 2>{1, 60},
                                            std::array<uint32_t, 2>{10, 1441}}) {
    options = {};
    options.coarse_windows = bad;
    EXPECT_THAT(std::string(Engine::Create(options).status().message()),
                HasSubstr(bad[0] == 1 ? "coarse_windows[0] is 1" : "coarse_windows[1] is 1441"));
  }
  options = {};
  options.window = absl::Hours(24);
  options.idle_ttl = absl::Hours(48);
  options.coarse_windows = {10, 367};  // 367 days
  EXPECT_THAT(std::string(Engine::Create(options).status().message()),
              HasSubstr("coarse_windows[1]"));
  options.coarse_windows = {0, 0};
  EXPECT_TRUE(Engine::Create(options).ok());
}

TEST(EngineOptionsValidation, DefaultThresholdMeansOneFalseFindingPerTenEntityDays) {
  auto engine = MakeEngine();
  // 1440 one-minute windows a day at 10^-t each: 0.1 a day.
  EXPECT_NEAR(engine->threshold(), std::log10(1440 / 0.1), 1e-9);
  EngineOptions options;
  options.window = absl::Minutes(10);
  EXPECT_NEAR(MakeEngine(options)->threshold(), std::log10(144 / 0.1), 1e-9);
}

// Feeds the stationary fleet, then `extra` events after learning.
struct FleetRun {
  std::unique_ptr<Engine> engine;
  Recorder rec;
};

FleetRun RunFleet(const testing::FleetSpec& spec,
                  const std::function<void(Engine&, int64_t now)>& inject = nullptr,
                  int64_t inject_at = 0, EngineOptions options = {}) {
  FleetRun run;
  run.engine = MakeEngine(options);
  run.rec.Attach(*run.engine);
  testing::SyntheticFleet fleet(spec);
  bool injected = false;
  fleet.Run(run.engine->symbols(), [&](const Event& e) {
    if (inject && !injected && e.time_ns >= inject_at) {
      injected = true;
      inject(*run.engine, e.time_ns);
    }
    run.engine->Ingest(e);
  });
  run.engine->Flush();
  return run;
}

TEST(EngineCalibration, StationaryFleetStaysNearTheNominalFalseFindingRate) {
  testing::FleetSpec spec;
  spec.duration = 3 * kDay;
  // With multi-resolution counts too: more tests per window, same bound.
  for (const std::array<uint32_t, 2> coarse : {std::array<uint32_t, 2>{0, 0},
                                               std::array<uint32_t, 2>{10, 60}}) {
    SCOPED_TRACE(absl::StrCat("coarse windows ", coarse[0], ",", coarse[1]));
    EngineOptions options;
    options.coarse_windows = coarse;
    FleetRun run = RunFleet(spec, nullptr, 0, options);
    const double entity_days = static_cast<double>(run.rec.windows.size()) / 1440.0;
    ASSERT_GT(entity_days, 30);
    const double rate = static_cast<double>(run.rec.findings.size()) / entity_days;
    // Nominal 0.1 per entity-day; a factor 2 above it is the bound.
    EXPECT_LE(rate, 0.2) << run.rec.findings.size() << " findings in " << entity_days << " entity-days";
    // Lower thresholds: the rate tracks 1440 * 10^-t within a factor of 5
    // (the discrete tests are conservative; they must not be dead).
    for (double t : {2.0, 3.0}) {
      double n = 0;
      for (const WindowScore& w : run.rec.windows) n += w.score >= t;
      const double nominal = 1440 * std::pow(10, -t);
      EXPECT_LE(n / entity_days, 2 * nominal) << "threshold " << t;
      EXPECT_GE(n / entity_days, nominal / 5) << "threshold " << t;
    }
  }
}

TEST(EngineNovelty, NewValueOfAZeroNoveltyFeatureIsAFinding) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  FleetRun run = RunFleet(
      spec,
      [](Engine& engine, int64_t now) {
        engine.Ingest(MakeEvent(engine, now, "c1-2", "registry.local/app1", Kind::kExec,
                                "/tmp/.x/xmrig", "/usr/bin/node"));
      },
      kStart + kDay + kHour);
  ASSERT_FALSE(run.rec.findings.empty());
  bool found = false;
  for (const Finding& f : run.rec.findings) {
    if (f.entity != "c1-2") continue;
    found = true;
    EXPECT_EQ(f.reasons[0].feature, "exec.subject");
    EXPECT_THAT(f.reasons[0].observed, HasSubstr("/tmp/.x/xmrig (new)"));
    EXPECT_THAT(f.reasons[0].expected, HasSubstr("/usr/bin/python3"));
  }
  EXPECT_TRUE(found);
}

// c1-2 loses `lost` of its requests for half an hour after learning (a
// service half silent): each window alone is a modest drop.
Recorder RunHalfSilent(double lost, EngineOptions options) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  const Symbol victim = engine->symbols().Intern("c1-2");
  const int64_t from = kStart + kDay + kHour;
  std::mt19937_64 rng(3);
  testing::SyntheticFleet fleet(spec);
  fleet.Run(engine->symbols(), [&](const Event& e) {
    const bool silenced = e.entity == victim && e.kind == Kind::kRequest && e.time_ns >= from &&
                          e.time_ns < from + 30 * kMinute;
    if (silenced && testing::SyntheticFleet::Uniform(rng) < lost) return;
    engine->Ingest(e);
  });
  engine->Flush();
  return rec;
}

TEST(EngineEvidence, AServiceHalfSilentForHalfAnHourBecomesAFinding) {
  const int64_t from = kStart + kDay + kHour;
  auto victim_findings = [&](const Recorder& rec) {
    std::vector<const Finding*> out;
    for (const Finding& f : rec.findings) {
      if (f.entity == "c1-2" && f.window_start_ns >= from && f.window_start_ns < from + 31 * kMinute) {
        out.push_back(&f);
      }
    }
    return out;
  };
  // The coarse counts find this drop too (in its first 10 minutes): off,
  // to show what evidence accumulates from the windows alone.
  EngineOptions with;
  with.coarse_windows = {0, 0};
  EngineOptions without = with;
  without.accumulate_evidence = false;
  // No single window reaches the threshold: the drop is weak.
  const Recorder plain = RunHalfSilent(0.35, without);
  EXPECT_TRUE(victim_findings(plain).empty()) << plain.json.front();
  // Nor does any window of the fleet in those 30 minutes.
  double strongest_window = 0;
  for (const WindowScore& w : plain.windows) {
    if (w.window_start_ns >= from && w.window_start_ns < from + 30 * kMinute) {
      strongest_window = std::max(strongest_window, w.score);
    }
  }
  EXPECT_LT(strongest_window, 4.16);

  const Recorder rec = RunHalfSilent(0.35, with);
  const std::vector<const Finding*> found = victim_findings(rec);
  ASSERT_FALSE(found.empty());
  // One finding for the run, not one every few windows.
  EXPECT_LE(found.size(), 2u);
  const Reason& first = found[0]->reasons[0];
  EXPECT_EQ(first.model, "evidence") << FindingToJson(*found[0]);
  EXPECT_EQ(first.feature, "count.request (drops)");
  EXPECT_THAT(first.observed, HasSubstr("windows since"));
  EXPECT_THAT(first.expected, HasSubstr("in 99 windows of 100"));
  // Nothing else in the fleet changed: no other finding in those windows.
  for (const Finding& f : rec.findings) {
    if (f.window_start_ns >= from && f.window_start_ns < from + 30 * kMinute) {
      EXPECT_EQ(f.entity, "c1-2") << FindingToJson(f);
    }
  }
}

// c1-2's requests run at `factor` times their rate for the hour from
// kStart + 25h (aligned: one coarse window of each level holds it).
constexpr int64_t kChangeFrom = kStart + kDay + kHour;

Recorder RunRateChange(double factor, EngineOptions options) {
  testing::FleetSpec spec;
  spec.duration = kDay + 3 * kHour;
  // A quiet service: a minute holds a few requests (6 at the daily mean),
  // so no single window can tell 1.5 times the rate (or 40% less) from
  // chance. Requests are thinned from 9 a minute to keep them Poisson: the
  // victim's thinned less (or more) during the change.
  spec.requests_per_minute = 9;
  constexpr double kKept = 2.0 / 3;
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  const Symbol victim = engine->symbols().Intern("c1-2");
  std::mt19937_64 rng(5);
  testing::SyntheticFleet fleet(spec);
  fleet.Run(engine->symbols(), [&](const Event& e) {
    if (e.kind == Kind::kRequest) {
      const bool changed =
          e.entity == victim && e.time_ns >= kChangeFrom && e.time_ns < kChangeFrom + kHour;
      if (testing::SyntheticFleet::Uniform(rng) >= (changed ? factor : 1) * kKept) return;
    }
    engine->Ingest(e);
  });
  engine->Flush();
  return rec;
}

// The reasons of c1-2's findings during the change (and the window after).
std::vector<const Reason*> VictimReasons(const Recorder& rec) {
  std::vector<const Reason*> out;
  for (const Finding& f : rec.findings) {
    if (f.entity != "c1-2" || f.window_start_ns < kChangeFrom ||
        f.window_start_ns > kChangeFrom + kHour) {
      continue;
    }
    for (const Reason& r : f.reasons) out.push_back(&r);
  }
  return out;
}

TEST(EngineCoarse, ASustainedModestRateChangeIsFoundAtTheCoarseLevelOnly) {
  for (const double factor : {1.5, 0.6}) {
    SCOPED_TRACE(absl::StrCat("rate x", factor));
    // The per-window count test alone does not see it (evidence, which
    // would accumulate it too, is off to compare the count tests).
    EngineOptions fine;
    fine.accumulate_evidence = false;
    fine.coarse_windows = {0, 0};
    const Recorder plain = RunRateChange(factor, fine);
    EXPECT_TRUE(VictimReasons(plain).empty()) << plain.json.front();

    EngineOptions coarse = fine;
    coarse.coarse_windows = {10, 60};
    const Recorder rec = RunRateChange(factor, coarse);
    const std::vector<const Reason*> reasons = VictimReasons(rec);
    // Found at 10 minutes or at the hour (a finding at 10 minutes keeps
    // its hour from reporting the same change again).
    const Reason* coarse_reason = nullptr;
    for (const Reason* r : reasons) {
      if (coarse_reason == nullptr && (r->feature == "count.request@10m" ||
                                       r->feature == "count.request@1h")) {
        coarse_reason = r;
      }
    }
    ASSERT_NE(coarse_reason, nullptr) << (rec.json.empty() ? "no finding" : rec.json.back());
    EXPECT_EQ(coarse_reason->model, "count");
    // In the coarse window's units: events per coarse window, and when.
    EXPECT_THAT(coarse_reason->observed, HasSubstr(factor > 1 ? "(a spike) in " : "(a drop) in "));
    const std::string span = coarse_reason->feature.substr(coarse_reason->feature.find('@') + 1);
    EXPECT_THAT(coarse_reason->expected, HasSubstr(absl::StrCat("per ", span, " window (98%")));
    // Nothing else in the fleet changed: no other entity's finding then.
    for (const Finding& f : rec.findings) {
      if (f.window_start_ns >= kChangeFrom && f.window_start_ns < kChangeFrom + kHour) {
        EXPECT_EQ(f.entity, "c1-2") << FindingToJson(f);
      }
    }
  }
  // With every other default on, it is found too.
  EngineOptions defaults;
  defaults.coarse_windows = {10, 60};
  EXPECT_FALSE(VictimReasons(RunRateChange(1.5, defaults)).empty());
}

TEST(EngineCoarse, StationaryFleetHasFewCoarseFindings) {
  testing::FleetSpec spec;
  spec.duration = 3 * kDay;
  spec.requests_per_minute = 6;  // as in the power test above
  EngineOptions options;
  options.coarse_windows = {10, 60};
  FleetRun run = RunFleet(spec, nullptr, 0, options);
  const double entity_days = static_cast<double>(run.rec.windows.size()) / 1440.0;
  ASSERT_GT(entity_days, 30);
  size_t coarse = 0;
  for (const Finding& f : run.rec.findings) {
    for (const Reason& r : f.reasons) {
      if (r.feature.find('@') != std::string::npos && r.p_value <= 1e-3) {
        ++coarse;
        break;
      }
    }
  }
  // The whole false-finding rate is nominally 0.1 per entity-day; the coarse
  // tests' share of it stays under half of that.
  EXPECT_LE(coarse / entity_days, 0.05) << coarse << " in " << entity_days << " entity-days";
  EXPECT_LE(run.rec.findings.size() / entity_days, 0.2);
}

TEST(EngineNovelty, NewValueOfAHighNoveltyFeatureIsNot) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  const int64_t at = kStart + kDay + kHour;
  FleetRun run = RunFleet(
      spec,
      [](Engine& engine, int64_t now) {
        engine.Ingest(MakeEvent(engine, now, "c1-2", "registry.local/app1", Kind::kRequest,
                                "/api/orders/never-seen-id", "client"));
      },
      at);
  const Symbol entity = *run.engine->symbols().Find("c1-2");
  for (const WindowScore& w : run.rec.windows) {
    if (w.entity == entity && w.window_start_ns == at / kMinute * kMinute) {
      EXPECT_LT(w.score, 2.0);
    }
  }
}

TEST(EngineNovelty, ManyNewValuesOfAHighNoveltyFeatureAreASweep) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  FleetRun run = RunFleet(
      spec,
      [](Engine& engine, int64_t now) {
        for (int i = 0; i < 300; ++i) {
          engine.Ingest(MakeEvent(engine, now + i * 100'000'000LL, "c1-2", "registry.local/app1",
                                  Kind::kRequest, absl::StrCat("/admin/probe-", i), "client"));
        }
      },
      kStart + kDay + kHour);
  bool found = false;
  for (const Finding& f : run.rec.findings) found |= f.entity == "c1-2";
  EXPECT_TRUE(found);
}

// Requests follow a steep daily curve: 5 a minute at night, 100 by day.
void SeasonalEntity(Engine& engine, int64_t from, int64_t to,
                    const std::function<int(int64_t minute)>& count) {
  for (int64_t t = from; t < to; t += kMinute) {
    const int n = count(t);
    for (int i = 0; i < n; ++i) {
      engine.Ingest(MakeEvent(engine, t + i * (kMinute / (n + 1)), "s1", "seasonal",
                              Kind::kRequest, "/", "client"));
    }
  }
}

int DailyCurve(int64_t t) {
  const int64_t hour = (t % kDay) / kHour;
  return hour >= 8 && hour < 20 ? 100 : 5;
}

TEST(EngineCounts, DaytimeRateAtNightIsASpikeAndNightRateByDayIsADrop) {
  EngineOptions options;
  options.learning_period = absl::Hours(48);
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  SeasonalEntity(*engine, kStart, kStart + 2 * kDay, DailyCurve);
  const int64_t night = kStart + 2 * kDay + 3 * kHour;  // 03:00
  const int64_t day = kStart + 2 * kDay + 15 * kHour;   // 15:00
  SeasonalEntity(*engine, kStart + 2 * kDay, kStart + 3 * kDay, [&](int64_t t) {
    if (t >= night && t < night + kMinute) return 100;
    if (t >= day && t < day + kMinute) return 5;
    return DailyCurve(t);
  });
  engine->Flush();
  bool spike = false, drop = false;
  for (const Finding& f : rec.findings) {
    for (const Reason& r : f.reasons) {
      if (r.feature != "count.request") continue;
      if (f.window_start_ns == night && r.observed.find("spike") != std::string::npos) spike = true;
      // A drop is confirmed by the next window.
      if (f.window_start_ns == day + kMinute && r.observed.find("drop") != std::string::npos) drop = true;
    }
  }
  EXPECT_TRUE(spike);
  EXPECT_TRUE(drop);
  // The daily curve itself raises nothing: only the two injected windows.
  EXPECT_LE(rec.findings.size(), 3u);
}

TEST(EngineCounts, WithoutSeasonalityTheDailyCurveHidesTheNightSpike) {
  EngineOptions options;
  options.learning_period = absl::Hours(48);
  options.hour_of_day_seasonality = false;
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  SeasonalEntity(*engine, kStart, kStart + 2 * kDay, DailyCurve);
  const int64_t night = kStart + 2 * kDay + 3 * kHour;
  SeasonalEntity(*engine, kStart + 2 * kDay, kStart + 2 * kDay + 4 * kHour, [&](int64_t t) {
    return t >= night && t < night + kMinute ? 100 : DailyCurve(t);
  });
  engine->Flush();
  for (const Finding& f : rec.findings) EXPECT_NE(f.window_start_ns, night);
}

TEST(EngineGroups, NewReplicaOfAKnownGroupStartsFromTheGroupBaseline) {
  testing::FleetSpec spec;
  spec.duration = kDay + 3 * kHour;
  const int64_t at = kStart + kDay + kHour;
  // A new replica of app2 behaves like its siblings from its first minute
  // (their routes in turn: one route alone would be a shift of the mix).
  FleetRun run = RunFleet(
      spec,
      [](Engine& engine, int64_t now) {
        // A connect every 10 s, as its siblings (about 6 a minute), and
        // requests and connects over their routes and destinations (one
        // alone is a mix shift, which accumulates into a finding).
        const char* routes[] = {"/", "/health", "/api/items", "/api/cart", "/login"};
        const char* destinations[] = {"10.0.0.5:5432", "10.0.0.9:6379", "10.0.1.2:443"};
        int next = 0, next_destination = 0;
        for (int64_t i = 0, t = now; t < now + 90 * kMinute; ++i, t += 2 * kSecond) {
          engine.Ingest(MakeEvent(engine, t, "c2-new", "registry.local/app2", Kind::kRequest,
                                  routes[next++ % 5], "client"));
          if (i % 5 == 0) {
            engine.Ingest(MakeEvent(engine, t, "c2-new", "registry.local/app2", Kind::kConnect,
                                    destinations[next_destination++ % 3], "/usr/bin/node"));
          }
        }
      },
      at);
  for (const Finding& f : run.rec.findings) EXPECT_NE(f.entity, "c2-new") << FindingToJson(f);
  const Symbol entity = *run.engine->symbols().Find("c2-new");
  int scored = 0;
  for (const WindowScore& w : run.rec.windows) scored += w.entity == entity;
  EXPECT_GT(scored, 60);
}

TEST(EngineGroups, AGroupNeverSeenBeforeIsAFinding) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  FleetRun run = RunFleet(
      spec,
      [](Engine& engine, int64_t now) {
        engine.Ingest(MakeEvent(engine, now, "sidecar-1", "registry.evil/miner", Kind::kExec,
                                "/usr/bin/python3", "/usr/bin/node"));
      },
      kStart + kDay + kHour);
  int reported = 0;
  for (const Finding& f : run.rec.findings) {
    if (f.entity != "sidecar-1") continue;
    ++reported;
    EXPECT_EQ(f.group, "registry.evil/miner");
    EXPECT_GE(f.severity, Severity::kMedium);
    bool has_group_reason = false;
    for (const Reason& r : f.reasons) has_group_reason |= r.model == "group";
    EXPECT_TRUE(has_group_reason) << FindingToJson(f);
  }
  EXPECT_EQ(reported, 1);
}

// Connections of a group of five replicas, few at night (00-11 UTC, 5 a
// minute) and many by day (12-23 UTC, 60 a minute), each carrying a
// lognormal number of bytes around 4 kB. At `attack_at`, replica c0's
// window instead holds 3 such connections and 5 of exactly 48 kB (12x the
// median, past the learned p99 of about 8x): a few large transfers whose
// window volume (about 250 kB) stays below a busy daytime window's.
std::vector<Finding> RunConnectBytes(EngineOptions options, int64_t attack_at) {
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  std::mt19937_64 rng(17);
  std::lognormal_distribution<double> bytes(std::log(4000), 0.9);
  std::vector<Event> minute;
  for (int64_t t = kStart; t < kStart + kDay + 6 * kHour; t += kMinute) {
    const bool day = (t - kStart) % kDay >= 12 * kHour;
    minute.clear();
    for (int r = 0; r < 5; ++r) {
      const std::string entity = absl::StrCat("c", r);
      const bool attacked = r == 0 && t == attack_at;
      const int n = attacked ? 8 : std::poisson_distribution<int>(day ? 60 : 5)(rng);
      for (int i = 0; i < n; ++i) {
        const double b = attacked && i >= 3 ? 48000 : std::round(bytes(rng));
        minute.push_back(EventBuilder(engine->symbols())
                             .Time(t + static_cast<int64_t>(rng() % kMinute))
                             .Entity(entity).Group("shop/api").Kind(Kind::kConnect)
                             .Subject("10.0.4.10:5432").Actor("/app/bin/api").Value(b).Build());
      }
    }
    std::sort(minute.begin(), minute.end(),
              [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
    for (const Event& e : minute) engine->Ingest(e);
  }
  engine->Flush();
  return rec.findings;
}

TEST(EngineDistribution, AFewLargeTransfersWithinLearnedVolumeAreATailFinding) {
  const int64_t attack_at = kStart + kDay + 3 * kHour;  // 03:00 UTC: night
  EngineOptions without;
  without.value_distribution = false;
  const std::vector<Finding> old_models = RunConnectBytes(without, attack_at);
  for (const Finding& f : old_models) {
    EXPECT_FALSE(f.entity == "c0" && f.window_start_ns == attack_at) << FindingToJson(f);
  }
  const std::vector<Finding> with = RunConnectBytes(EngineOptions{}, attack_at);
  const Finding* found = nullptr;
  for (const Finding& f : with) {
    if (f.entity == "c0" && f.window_start_ns == attack_at) found = &f;
  }
  ASSERT_NE(found, nullptr) << "the tail of 5 large transfers went unseen";
  ASSERT_FALSE(found->reasons.empty());
  const Reason& why = found->reasons[0];
  EXPECT_EQ(why.model, "distribution");
  EXPECT_EQ(why.feature, "connect bytes p99 tail");
  EXPECT_THAT(why.observed, HasSubstr("5 of 8 above"));
  EXPECT_THAT(why.expected, HasSubstr("of 8; p99"));
  // The other windows stay quiet with the model as without it.
  EXPECT_EQ(with.size(), old_models.size() + 1);
}

TEST(EngineDeterminism, SameEventsGiveByteIdenticalFindings) {
  testing::FleetSpec spec;
  spec.duration = kDay + 6 * kHour;
  auto inject = [](Engine& engine, int64_t now) {
    engine.Ingest(MakeEvent(engine, now, "c0-1", "registry.local/app0", Kind::kExec, "/bin/nc",
                            "/bin/sh"));
  };
  EngineOptions options;
  options.threshold = 2.5;  // more findings, more to compare
  FleetRun a = RunFleet(spec, inject, kStart + kDay + kHour, options);
  FleetRun b = RunFleet(spec, inject, kStart + kDay + kHour, options);
  ASSERT_GT(a.rec.json.size(), 3u);
  EXPECT_EQ(a.rec.json, b.rec.json);
  ASSERT_EQ(a.rec.windows.size(), b.rec.windows.size());
  for (size_t i = 0; i < a.rec.windows.size(); ++i) {
    ASSERT_EQ(a.rec.windows[i].score, b.rec.windows[i].score) << i;
  }
}

// Runs the synthetic fleet, calling `each_minute` before each minute's
// events with the minute's start; `now` tracks the time of the latest event
// ingested, so that a finding callback can tell when it was called.
struct MinuteFleetRun {
  std::unique_ptr<Engine> engine;
  Recorder rec;
  std::vector<int64_t> reported_at;  // parallel to rec.findings
};

MinuteFleetRun RunFleetByMinute(const testing::FleetSpec& spec, EngineOptions options,
                                const std::function<void(Engine&, int64_t minute)>& each_minute) {
  MinuteFleetRun run;
  run.engine = MakeEngine(options);
  run.rec.Attach(*run.engine);
  int64_t now = 0;
  run.engine->SetFindingCallback([&](const Finding& f) {
    run.rec.findings.push_back(f);
    run.rec.json.push_back(FindingToJson(f));
    run.reported_at.push_back(now);
  });
  testing::SyntheticFleet fleet(spec);
  int64_t minute = -1;
  fleet.Run(run.engine->symbols(), [&](const Event& e) {
    if (e.time_ns / kMinute * kMinute != minute) {
      minute = e.time_ns / kMinute * kMinute;
      now = minute;
      each_minute(*run.engine, minute);
    }
    now = std::max(now, e.time_ns);
    run.engine->Ingest(e);
  });
  run.engine->Flush();
  return run;
}

constexpr std::string_view kApp1 = "registry.local/app1";

// The new version of app1: its first minute runs a migration; from then on
// it also connects to a new cache, 20 times a minute (a rate spike too).
void NewVersionMinute(Engine& engine, std::string_view entity, int64_t minute, bool first) {
  if (first) {
    engine.Ingest(MakeEvent(engine, minute + kSecond, entity, kApp1, Kind::kExec,
                            "/app/bin/migrate", "/usr/bin/node"));
  }
  for (int i = 0; i < 20; ++i) {
    engine.Ingest(MakeEvent(engine, minute + 2 * kSecond + i * kSecond, entity, kApp1,
                            Kind::kConnect, "10.0.7.7:6379", "/usr/bin/node"));
  }
}

constexpr int64_t kDeployAt = kStart + kDay + kHour;

// A rolling deploy of app1 (5 replicas): replica r gets the new version at
// kDeployAt + r minutes. `only` >= 0: that replica alone gets it.
std::function<void(Engine&, int64_t)> RollingDeploy(int only = -1) {
  return [only](Engine& engine, int64_t minute) {
    for (int r = 0; r < 5; ++r) {
      if (only >= 0 && r != only) continue;
      const int64_t from = kDeployAt + r * kMinute;
      if (minute < from) continue;
      NewVersionMinute(engine, absl::StrCat("c1-", r), minute, minute == from);
    }
  };
}

testing::FleetSpec ConsensusFleet() {
  testing::FleetSpec spec;
  spec.duration = kDay + 3 * kHour;
  return spec;
}

bool IsApp1Replica(const Finding& f) { return f.entity.starts_with("c1-"); }

TEST(EngineConsensus, ADeployToEveryReplicaIsOneLowGroupFindingAndIsLearned) {
  MinuteFleetRun run = RunFleetByMinute(ConsensusFleet(), EngineOptions{}, RollingDeploy());
  int group_findings = 0;
  for (const Finding& f : run.rec.findings) {
    EXPECT_FALSE(IsApp1Replica(f) && f.window_start_ns >= kDeployAt) << FindingToJson(f);
    if (!f.entity.empty()) continue;
    ++group_findings;
    EXPECT_EQ(f.group, kApp1);
    EXPECT_EQ(f.severity, Severity::kLow);
    ASSERT_GE(f.reasons.size(), 2u) << FindingToJson(f);
    EXPECT_EQ(f.reasons[0].model, "consensus");
    EXPECT_THAT(f.reasons[0].observed, HasSubstr("of 5 replicas"));
    EXPECT_THAT(FindingToJson(f), HasSubstr("/app/bin/migrate (new)"));
    EXPECT_GE(f.window_start_ns, kDeployAt);
    EXPECT_LT(f.window_start_ns, kDeployAt + 5 * kMinute);
  }
  EXPECT_EQ(group_findings, 1);
  EXPECT_EQ(run.engine->stats().group_findings, 1u);
  EXPECT_GE(run.engine->stats().consensus_replaced, 2u);
  // Learned: the group baseline knows the migration step now.
  absl::StatusOr<std::vector<KnownValue>> known =
      run.engine->KnownValues(kApp1, Kind::kExec, Field::kSubject, 10);
  ASSERT_TRUE(known.ok());
  bool knows_migrate = false;
  for (const KnownValue& v : *known) knows_migrate |= v.value == "/app/bin/migrate";
  EXPECT_TRUE(knows_migrate);
}

TEST(EngineConsensus, WithoutConsensusTheDeployFiresInEveryReplica) {
  EngineOptions options;
  options.group_consensus = false;
  MinuteFleetRun run = RunFleetByMinute(ConsensusFleet(), options, RollingDeploy());
  std::set<std::string> replicas;
  for (const Finding& f : run.rec.findings) {
    EXPECT_FALSE(f.entity.empty());
    if (IsApp1Replica(f) && f.window_start_ns >= kDeployAt) replicas.insert(f.entity);
  }
  // The behaviour the consensus test replaces is a finding replica by
  // replica (the replicas that come after the first ones may have learned
  // part of it from their siblings' windows below the threshold).
  EXPECT_GE(replicas.size(), 3u);
}

TEST(EngineConsensus, TheSameBehaviourInOneReplicaAloneStaysAFinding) {
  MinuteFleetRun run = RunFleetByMinute(ConsensusFleet(), EngineOptions{}, RollingDeploy(2));
  bool found = false;
  for (const Finding& f : run.rec.findings) {
    EXPECT_FALSE(f.entity.empty()) << FindingToJson(f);
    if (f.entity == "c1-2" && f.window_start_ns == kDeployAt + 2 * kMinute) found = true;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(run.engine->stats().consensus_replaced, 0u);
}

TEST(EngineConsensus, OneCompromisedReplicaIsReportedWithinTheWait) {
  for (uint32_t wait : {0u, 2u}) {
    EngineOptions options;
    options.consensus_wait_windows = wait;
    const int64_t at = kStart + kDay + kHour;
    MinuteFleetRun run = RunFleetByMinute(ConsensusFleet(), options, [&](Engine& engine, int64_t minute) {
      if (minute < at || minute >= at + 10 * kMinute) return;
      // A miner in one replica: a new executable and its pool, every minute.
      engine.Ingest(MakeEvent(engine, minute + kSecond, "c1-3", kApp1, Kind::kExec,
                              "/tmp/.x/xmrig", "/bin/sh"));
      engine.Ingest(MakeEvent(engine, minute + 2 * kSecond, "c1-3", kApp1, Kind::kConnect,
                              "198.51.100.7:3333", "/tmp/.x/xmrig"));
    });
    int found = 0;
    for (size_t i = 0; i < run.rec.findings.size(); ++i) {
      const Finding& f = run.rec.findings[i];
      EXPECT_FALSE(f.entity.empty()) << FindingToJson(f);
      if (f.entity != "c1-3") continue;
      if (f.window_start_ns == at) ++found;
      // Reported once the wait is over: the window's close (its end and the
      // 5 s lateness) plus `wait` windows, and the fleet's next event.
      EXPECT_LE(run.reported_at[i], f.window_end_ns + (wait + 1) * kMinute) << "wait " << wait;
    }
    EXPECT_EQ(found, 1) << "wait " << wait;
  }
}

TEST(EngineConsensus, AnAttackInOneReplicaDuringTheDeployStaysAFinding) {
  auto deploy = RollingDeploy();
  MinuteFleetRun run = RunFleetByMinute(ConsensusFleet(), EngineOptions{},
                                        [&](Engine& engine, int64_t minute) {
    deploy(engine, minute);
    if (minute == kDeployAt + 3 * kMinute) {
      // A reverse shell in c1-3, in the very window its new version starts.
      engine.Ingest(MakeEvent(engine, minute + 30 * kSecond, "c1-3", kApp1, Kind::kExec,
                              "/bin/bash", "/app/bin/migrate"));
      engine.Ingest(MakeEvent(engine, minute + 31 * kSecond, "c1-3", kApp1, Kind::kConnect,
                              "203.0.113.9:4444", "/bin/bash"));
    }
  });
  bool found = false;
  for (const Finding& f : run.rec.findings) {
    if (f.entity == "c1-3" && f.window_start_ns == kDeployAt + 3 * kMinute) {
      found = true;
      EXPECT_THAT(FindingToJson(f), HasSubstr("/bin/bash"));
    }
  }
  EXPECT_TRUE(found);
}

TEST(EngineConsensus, GroupFindingsAreDeterministic) {
  MinuteFleetRun a = RunFleetByMinute(ConsensusFleet(), EngineOptions{}, RollingDeploy());
  MinuteFleetRun b = RunFleetByMinute(ConsensusFleet(), EngineOptions{}, RollingDeploy());
  ASSERT_FALSE(a.rec.json.empty());
  EXPECT_EQ(a.rec.json, b.rec.json);
}

TEST(EngineHalfLife, BaselinesFollowALastingChange) {
  // A day at 10 requests a minute, then half a day at 25.
  auto run = [](absl::Duration half_life) {
    EngineOptions options;
    options.hour_of_day_seasonality = false;
    options.baseline_half_life = half_life;
    auto engine = MakeEngine(options);
    const int64_t change = kStart + kDay;
    SeasonalEntity(*engine, kStart, change + 12 * kHour,
                   [&](int64_t t) { return t < change ? 10 : 25; });
    engine->Flush();
    return *engine->ExpectedCount("seasonal", Kind::kRequest, 0);
  };
  const CountExpectation kept = run(absl::ZeroDuration());
  const CountExpectation followed = run(absl::Hours(2));
  // Every window weighing alike: a third of the way, and a band so wide
  // that a return to 10 a minute would pass unremarked. Six half-lives on:
  // the new level, and 10 a minute is outside the band.
  EXPECT_LT(kept.mean, 17);
  EXPECT_LE(kept.lower, 10);
  EXPECT_NEAR(followed.mean, 25, 1);
  EXPECT_GT(followed.lower, 10);
  EXPECT_LT(followed.windows, kept.windows / 4);
  EngineOptions bad;
  bad.baseline_half_life = absl::Minutes(2);  // under 4 windows
  EXPECT_THAT(std::string(Engine::Create(bad).status().message()), HasSubstr("baseline_half_life"));
}

// --- lifecycle phase ---------------------------------------------------------

bool Knows(const Engine& engine, std::string_view group, Kind kind, std::string_view value);

// A database-backed service: three long-running replicas from the start,
// and during learning a short-lived one every 90 minutes. Each replica runs
// its entrypoint and /app/migrate in its first window only, then 10
// health-check execs, 20 requests and 5 connects a minute; four other
// groups run the same executable every minute (the fleet's novelty rate of
// executables is low). `starts(minute, &starting)` may start replicas,
// `extra(minute, emit)` add events. Returns the engine, flushed.
struct LifecycleRun {
  std::unique_ptr<Engine> engine;
  Recorder rec;
};

LifecycleRun RunLifecycle(
    EngineOptions options, int64_t duration,
    const std::function<void(int64_t minute, std::vector<std::string>* starting)>& starts,
    const std::function<void(int64_t minute, const std::function<void(std::string_view entity,
                                                                       Kind kind, std::string_view
                                                                           subject)>&)>& extra) {
  LifecycleRun run;
  run.engine = MakeEngine(options);
  run.rec.Attach(*run.engine);
  Engine& engine = *run.engine;
  struct Replica {
    std::string name;
    int64_t until;
  };
  std::vector<Replica> replicas = {{"db-0", INT64_MAX}, {"db-1", INT64_MAX}, {"db-2", INT64_MAX}};
  std::vector<std::string> starting = {"db-0", "db-1", "db-2"};
  std::mt19937_64 rng(17);
  std::vector<Event> minute_events;
  for (int64_t t = kStart; t < kStart + duration; t += kMinute) {
    minute_events.clear();
    // At a random second of the minute after the first two (a boot's).
    auto emit = [&](std::string_view entity, Kind kind, std::string_view subject) {
      const int64_t at = t + static_cast<int64_t>(2 + rng() % 57) * kSecond;
      minute_events.push_back(MakeEvent(engine, at, entity, "registry.local/db", kind, subject,
                                        kind == Kind::kRequest ? "client" : "/bin/sh"));
    };
    // A short-lived replica every 90 minutes during the first day.
    const int64_t since = t - kStart;
    if (since < kDay && since % (90 * kMinute) == 45 * kMinute) {
      const std::string name = absl::StrCat("db-t", since / (90 * kMinute));
      replicas.push_back({name, t + kHour});
      starting.push_back(name);
    }
    if (starts) starts(t, &starting);
    for (const std::string& name : starting) {
      bool known = false;
      for (const Replica& r : replicas) known |= r.name == name;
      if (!known) replicas.push_back({name, INT64_MAX});
      // The entrypoint runs the migration, then the service starts.
      minute_events.push_back(MakeEvent(engine, t, name, "registry.local/db", Kind::kExec,
                                        "/app/entrypoint.sh", "/bin/sh"));
      minute_events.push_back(MakeEvent(engine, t + kSecond, name, "registry.local/db", Kind::kExec,
                                        "/app/migrate", "/app/entrypoint.sh"));
    }
    starting.clear();
    for (const Replica& r : replicas) {
      if (t >= r.until) continue;
      for (int i = 0; i < 10; ++i) emit(r.name, Kind::kExec, "/usr/bin/pg_isready");
      for (int i = 0; i < 20; ++i) emit(r.name, Kind::kRequest, i % 3 == 0 ? "/api/orders" : "/api/items");
      for (int i = 0; i < 5; ++i) emit(r.name, Kind::kConnect, "10.0.0.5:5432");
    }
    // The rest of the fleet: four groups whose executables never change,
    // so that a new one is as surprising as in a real fleet.
    for (int g = 0; g < 4; ++g) {
      for (int r = 0; r < 4; ++r) {
        const std::string name = absl::StrCat("web", g, "-", r);
        const int64_t at = t + static_cast<int64_t>(rng() % 59) * kSecond;
        const std::string group = absl::StrCat("registry.local/web", g);
        minute_events.push_back(
            MakeEvent(engine, at, name, group, Kind::kExec, "/usr/bin/curl", "/usr/bin/node"));
        for (int i = 0; i < 10; ++i) {
          minute_events.push_back(
              MakeEvent(engine, at, name, group, Kind::kRequest, i % 2 ? "/" : "/health", "client"));
        }
      }
    }
    if (extra) extra(t, emit);
    std::stable_sort(minute_events.begin(), minute_events.end(),
                     [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
    for (const Event& e : minute_events) engine.Ingest(e);
  }
  engine.Flush();
  return run;
}

// The score of `entity`'s window starting at `start`, or -1.
double WindowScoreOf(const LifecycleRun& run, std::string_view entity, int64_t start) {
  const Symbol symbol = *run.engine->symbols().Find(entity);
  for (const WindowScore& w : run.rec.windows) {
    if (w.entity == symbol && w.window_start_ns == start) return w.score;
  }
  return -1;
}

TEST(EngineLifecycle, ANewReplicasBootExecIsJudgedAgainstTheGroupsStartUp) {
  const int64_t at = kStart + kDay + kHour;
  auto run = [&](bool lifecycle) {
    EngineOptions options;
    options.lifecycle_phase = lifecycle;
    return RunLifecycle(
        options, kDay + 2 * kHour,
        [&](int64_t t, std::vector<std::string>* starting) {
          if (t == at) starting->push_back("db-new");
        },
        nullptr);
  };
  const LifecycleRun on = run(true);
  for (const Finding& f : on.rec.findings) EXPECT_NE(f.entity, "db-new") << FindingToJson(f);
  // The entrypoint and /app/migrate are common among start-up execs: the
  // first window is ordinary. Without the start-up tables they are values
  // seen about 20 times among 50,000 execs, and the window stands out.
  const double with_phase = WindowScoreOf(on, "db-new", at);
  const double without_phase = WindowScoreOf(run(false), "db-new", at);
  ASSERT_GE(with_phase, 0);
  EXPECT_LT(with_phase, 1.5);
  EXPECT_GT(without_phase, with_phase + 1);
  // The group knows the value (KnownValues adds both phases).
  EXPECT_TRUE(Knows(*on.engine, "registry.local/db", Kind::kExec, "/app/migrate"));
}

TEST(EngineLifecycle, ABootOnlyExecHoursIntoAReplicasLifeIsAFindingSeenOnlyAtStartUp) {
  // An attacker re-runs the entrypoint, and with it the migration tool,
  // two hours into a long-running replica's second day.
  const int64_t at = kStart + kDay + 2 * kHour;
  auto run_with = [&](bool lifecycle) {
    EngineOptions options;
    options.lifecycle_phase = lifecycle;
    return RunLifecycle(options, kDay + 3 * kHour, nullptr, [&](int64_t t, const auto& emit) {
      if (t != at) return;
      emit("db-1", Kind::kExec, "/app/entrypoint.sh");
      emit("db-1", Kind::kExec, "/app/migrate");
    });
  };
  // The p-value of the window's exec.subject reason (reasons past the
  // first are written for p <= 0.01 only: 0.01 when there is none).
  auto exec_p = [&](const LifecycleRun& r) {
    double p = 0.01;
    for (const Finding& f : r.rec.findings) {
      for (const Reason& reason : f.reasons) {
        if (f.entity == "db-1" && reason.feature == "exec.subject") p = reason.p_value;
      }
    }
    return p;
  };
  const LifecycleRun run = run_with(true);
  // Far more surprising than where the boot execs' few start-up runs count
  // as rare steady-state values.
  EXPECT_LT(exec_p(run), 1e-6);
  EXPECT_LT(exec_p(run), exec_p(run_with(false)) / 1000);
  bool found = false;
  for (const Finding& f : run.rec.findings) {
    if (f.entity != "db-1") continue;
    EXPECT_EQ(f.window_start_ns, at) << FindingToJson(f);
    for (const Reason& r : f.reasons) {
      if (r.feature == "exec.subject") {
        found = true;
        EXPECT_THAT(r.observed,
                    HasSubstr("/app/entrypoint.sh, /app/migrate (seen only at start-up)"));
      }
    }
  }
  EXPECT_TRUE(found);
  // Nothing else in the group fires: the short-lived replicas' start-ups
  // were learned.
  for (const Finding& f : run.rec.findings) EXPECT_EQ(f.entity, "db-1") << FindingToJson(f);
}

// Only the model `enable` sets on: the others cannot hide or add to its scores.
EngineOptions OnlyModel(const std::function<void(EngineOptions&)>& enable) {
  EngineOptions options;
  options.categorical_model = false;
  options.count_model = false;
  options.value_model = false;
  options.value_distribution = false;
  options.sequence_model = false;
  options.multivariate_model = false;
  options.mix_model = false;
  options.metric_model = false;
  options.accumulate_evidence = false;
  options.group_consensus = false;
  enable(options);
  return options;
}

// One entity shows one behaviour for 12 hours, then another for 24, all
// learned (the learning period is 36 hours); then the new one goes on,
// but for one window the old one comes back. `minute(engine, t, changed)`
// emits a minute of the old (false) or new (true) behaviour. Returns the
// scores of a window of the new behaviour and of the old one's return.
std::pair<double, double> ScoresAfterALastingChange(
    EngineOptions options, absl::Duration half_life,
    const std::function<void(Engine&, int64_t t, bool changed)>& minute) {
  options.learning_period = absl::Hours(36);
  options.baseline_half_life = half_life;
  auto engine = MakeEngine(options);
  Recorder rec;
  rec.Attach(*engine);
  const int64_t change = kStart + 12 * kHour, end = kStart + 36 * kHour;
  const int64_t probe_new = end + 10 * kMinute, probe_old = end + 20 * kMinute;
  for (int64_t t = kStart; t < end + 30 * kMinute; t += kMinute) {
    minute(*engine, t, t >= change && t != probe_old);
  }
  engine->Flush();
  double new_score = -1, old_score = -1;
  for (const WindowScore& w : rec.windows) {
    if (w.window_start_ns == probe_new) new_score = w.score;
    if (w.window_start_ns == probe_old) old_score = w.score;
  }
  return {new_score, old_score};
}

// `n` events of `kind` spread over the minute, their subjects from `subject(i)`.
void EmitMinute(Engine& engine, int64_t t, int n, Kind kind,
                const std::function<std::string(int i)>& subject) {
  for (int i = 0; i < n; ++i) {
    engine.Ingest(MakeEvent(engine, t + (i + 1) * (kMinute / (n + 2)), "s1", "g", kind,
                            subject(i), kind == Kind::kExec ? "/bin/sh" : "client"));
  }
}

TEST(EngineHalfLife, SequenceMixAndMultivariateBaselinesFollowALastingChange) {
  struct Case {
    std::string name;
    EngineOptions options;
    std::function<void(Engine&, int64_t, bool)> minute;
    // Two hours, or four for the multivariate model: it tests once 200
    // learned distances remain, and two hours keep about 173 windows of
    // one entity.
    absl::Duration half_life = absl::Hours(2);
  };
  const std::vector<Case> cases = {
      // Execs alternate a, b, then a, c (bigrams: every switch is a known
      // n-gram of one phase or the other).
      {"sequence",
       OnlyModel([](EngineOptions& o) {
         o.sequence_model = true;
         o.sequence_length = 2;
       }),
       [](Engine& e, int64_t t, bool changed) {
         EmitMinute(e, t, 6, Kind::kExec, [&](int i) {
           return std::string(i % 2 == 0 ? "/bin/a" : changed ? "/bin/c" : "/bin/b");
         });
       }},
      // 18 of 20 requests to one route, then to the other.
      {"mix", OnlyModel([](EngineOptions& o) { o.mix_model = true; }),
       [](Engine& e, int64_t t, bool changed) {
         EmitMinute(e, t, 20, Kind::kRequest, [&](int i) {
           return std::string((i % 10 == 0) == changed ? "/api/a" : "/api/b");
         });
       }},
      // As many requests as connects, then a tenth as many connects.
      {"multivariate", OnlyModel([](EngineOptions& o) { o.multivariate_model = true; }),
       [](Engine& e, int64_t t, bool changed) {
         const int jitter = static_cast<int>((t / kMinute) % 5);
         EmitMinute(e, t, 28 + jitter, Kind::kRequest, [](int) { return std::string("/"); });
         EmitMinute(e, t, (changed ? 3 : 30) + jitter % 2, Kind::kConnect,
                    [](int) { return std::string("10.0.0.5:5432"); });
       },
       absl::Hours(4)},
  };
  for (const Case& c : cases) {
    const auto [kept_new, kept_old] = ScoresAfterALastingChange(c.options, absl::ZeroDuration(), c.minute);
    const auto [followed_new, followed_old] = ScoresAfterALastingChange(c.options, c.half_life, c.minute);
    ASSERT_GE(kept_new, 0) << c.name;
    ASSERT_GE(followed_new, 0) << c.name;
    // Six or twelve half-lives on, the new behaviour is the normal one, and a
    // return to the old one stands out more than where every window weighs
    // alike.
    EXPECT_LT(followed_new, 1.5) << c.name;
    EXPECT_GT(followed_old, kept_old + 1) << c.name;
    // Deterministic with decay on (the rounding draws are hashes).
    EXPECT_EQ(ScoresAfterALastingChange(c.options, c.half_life, c.minute),
              std::make_pair(followed_new, followed_old)) << c.name;
  }
}

// --- modes -----------------------------------------------------------------

bool Knows(const Engine& engine, std::string_view group, Kind kind, std::string_view value) {
  absl::StatusOr<std::vector<KnownValue>> known =
      engine.KnownValues(group, kind, Field::kSubject, 1000);
  EXPECT_TRUE(known.ok()) << known.status();
  for (const KnownValue& v : *known) {
    if (v.value == value) return true;
  }
  return false;
}

// The fleet's day of learning, then an hour scored after `set_modes` ran.
FleetRun RunWithModes(const std::function<void(Engine&)>& set_modes) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  return RunFleet(
      spec, [&](Engine& engine, int64_t) { set_modes(engine); }, kStart + kDay + kHour);
}

TEST(EngineModes, MonitorLearnsQuietWindowsAndFrozenLearnsNothing) {
  // Windows of 01:00-01:59 UTC behind the count baseline: the learning day
  // gave 60 per replica; monitoring the second day's hour adds to them.
  auto hour_one_windows = [](const Engine& engine) {
    return engine.ExpectedCount("registry.local/app1", Kind::kRequest, 1)->windows;
  };
  const FleetRun monitor = RunWithModes([](Engine&) {});
  const FleetRun frozen = RunWithModes([](Engine& e) { e.SetMode(Mode::kFrozen); });
  EXPECT_GT(hour_one_windows(*monitor.engine), hour_one_windows(*frozen.engine) + 200);
  // Frozen still scores every window.
  EXPECT_EQ(frozen.engine->stats().windows_scored, monitor.engine->stats().windows_scored);
  EXPECT_EQ(*frozen.engine->ModeOf("c1-0"), Mode::kFrozen);
  // A group frozen alone: its baseline stays, the others learn.
  const FleetRun group = RunWithModes(
      [](Engine& e) { ASSERT_TRUE(e.SetMode("registry.local/app1", Mode::kFrozen).ok()); });
  EXPECT_EQ(hour_one_windows(*group.engine), hour_one_windows(*frozen.engine));
  EXPECT_EQ(group.engine->ExpectedCount("registry.local/app2", Kind::kRequest, 1)->windows,
            monitor.engine->ExpectedCount("registry.local/app2", Kind::kRequest, 1)->windows);
}

TEST(EngineModes, AnEntityInLearnModeIsLearnedAndNotScored) {
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  Symbol c1_2 = kNoSymbol;
  FleetRun run = RunFleet(
      spec,
      [&](Engine& engine, int64_t now) {
        c1_2 = engine.Intern("c1-2");
        ASSERT_TRUE(engine.SetMode("c1-2", Mode::kLearn).ok());
        // A maintenance job the operator expects: learned, not a finding.
        engine.Ingest(MakeEvent(engine, now, "c1-2", "registry.local/app1", Kind::kExec,
                                "/usr/local/bin/backup", "/usr/bin/node"));
      },
      kStart + kDay + kHour);
  for (const Finding& f : run.rec.findings) EXPECT_NE(f.entity, "c1-2") << FindingToJson(f);
  int scored = 0, others = 0;
  for (const WindowScore& w : run.rec.windows) {
    if (w.window_start_ns < kStart + kDay + kHour) continue;
    (w.entity == c1_2 ? scored : others) += 1;
  }
  EXPECT_EQ(scored, 0);
  EXPECT_GT(others, 0);
  EXPECT_TRUE(Knows(*run.engine, "registry.local/app1", Kind::kExec, "/usr/local/bin/backup"));
}

TEST(EngineModes, EntityBeforeGroupBeforeEngineAndModesTravelInSnapshots) {
  testing::FleetSpec spec;
  spec.duration = kDay + kHour;
  FleetRun run = RunFleet(spec);
  Engine& engine = *run.engine;
  EXPECT_EQ(*engine.ModeOf("c1-0"), Mode::kMonitor);  // learning is over
  ASSERT_TRUE(engine.SetMode("registry.local/app1", Mode::kFrozen).ok());
  ASSERT_TRUE(engine.SetMode("c1-0", Mode::kLearn).ok());
  engine.SetMode(Mode::kLearn);
  EXPECT_EQ(*engine.ModeOf("c1-0"), Mode::kLearn);   // its own
  EXPECT_EQ(*engine.ModeOf("c1-1"), Mode::kFrozen);  // its group's
  EXPECT_EQ(*engine.ModeOf("c2-0"), Mode::kLearn);   // the engine's
  auto restored = Engine::FromSnapshot(*engine.Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*(*restored)->ModeOf("c1-0"), Mode::kLearn);
  EXPECT_EQ(*(*restored)->ModeOf("c1-1"), Mode::kFrozen);
  EXPECT_EQ(*(*restored)->ModeOf("c2-0"), Mode::kLearn);
  // Cleared, the group's mode and then the engine's apply.
  ASSERT_TRUE(engine.SetMode("c1-0", std::nullopt).ok());
  EXPECT_EQ(*engine.ModeOf("c1-0"), Mode::kFrozen);
  ASSERT_TRUE(engine.SetMode("registry.local/app1", std::nullopt).ok());
  EXPECT_EQ(*engine.ModeOf("c1-0"), Mode::kLearn);
  const absl::Status unknown = engine.SetMode("nobody", Mode::kFrozen);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("nobody"));
  EXPECT_EQ(engine.ModeOf("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ModeFromName("frozen"), Mode::kFrozen);
  EXPECT_EQ(ModeFromName("paused"), std::nullopt);
  EXPECT_EQ(ModeName(Mode::kMonitor), "monitor");
}

TEST(EngineModes, MonitorDuringTheLearningPeriodEndsIt) {
  EngineOptions options;
  options.learning_period = absl::Hours(24);
  auto engine = MakeEngine(options);
  engine->Ingest(MakeEvent(*engine, kStart, "a", "g", Kind::kExec, "/bin/true", "/bin/sh"));
  EXPECT_EQ(*engine->ModeOf("a"), Mode::kLearn);
  engine->SetMode(Mode::kMonitor);
  EXPECT_EQ(*engine->ModeOf("a"), Mode::kMonitor);
  EXPECT_LE(engine->stats().learning_ends_ns, kStart + kMinute);
}

TEST(EngineIntrospection, ExpectedCountFollowsTheHourOfDay) {
  EngineOptions options;
  options.learning_period = absl::Hours(48);
  auto engine = MakeEngine(options);
  SeasonalEntity(*engine, kStart, kStart + 2 * kDay + kHour, DailyCurve);
  absl::StatusOr<CountExpectation> night = engine->ExpectedCount("seasonal", Kind::kRequest, 3);
  absl::StatusOr<CountExpectation> day = engine->ExpectedCount("seasonal", Kind::kRequest, 15);
  ASSERT_TRUE(night.ok() && day.ok());
  EXPECT_NEAR(night->mean, 5, 0.5);
  EXPECT_NEAR(day->mean, 100, 3);
  EXPECT_LE(day->lower, 100);
  EXPECT_GE(day->upper, 100);
  EXPECT_EQ(engine->ExpectedCount("nope", Kind::kRequest, 3).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<KnownValue>> known =
      engine->KnownValues("seasonal", Kind::kRequest, Field::kSubject, 5);
  ASSERT_TRUE(known.ok());
  ASSERT_EQ(known->size(), 1u);
  EXPECT_EQ((*known)[0].value, "/");
}

}  // namespace
}  // namespace timescan
