// The mix model: the window's mix of known routes, actions or destinations
// and its count of distinct known values, each ranked against the group's
// learned windows of the same size. Calibrated under an overdispersed null,
// powerful against a shift of the mix at the same rate and against a sweep
// of known values, exact under merge; in the engine, both attacks become
// findings with a reason naming the model, the feature, what was observed
// and what was expected.
#include "models/mix_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synthetic_fleet.h"
#include "timescan/engine.h"

namespace timescan {
namespace {

using internal::CategoricalTable;
using internal::MixBaseline;
using internal::MixCells;
using internal::MixWindowBuilder;
using internal::MixWindowStats;
using internal::StratifiedTail;
using ::testing::HasSubstr;

constexpr int kRequestSubject = 2 * static_cast<int>(Kind::kRequest);  // mix and distinct slot 0
constexpr int kApiSubject = 2 * static_cast<int>(Kind::kApi);          // mix and distinct slot 1
using Window = std::vector<std::pair<Symbol, uint32_t>>;

// One feature of one group: its categorical table and mix baseline, learned
// as the engine does (the window's statistics against the table before it).
struct LearnedFeature {
  int feature;
  int slot;
  CategoricalTable table;
  MixBaseline baseline;
  MixWindowBuilder builder;
  int64_t round = 0;

  LearnedFeature(int f, int s) : feature(f), slot(s) {}

  MixWindowStats Stats(const Window& window) {
    std::array<const MixCells*, internal::kMixFeatureCount> cells{};
    cells[static_cast<size_t>(slot)] = &baseline.Cells(slot, table, round);
    builder.Reset(cells);
    for (const auto& [value, n] : window) builder.Observe(feature, value, n, table.Count(value) > 0);
    return builder.Finish();
  }
  void Learn(const Window& window, bool statistics) {
    if (statistics) baseline.Learn(Stats(window));
    for (const auto& [value, n] : window) table.Add(value, n, 100000);
    ++round;
  }
  double MixP(const Window& window) { return baseline.ScoreMix(slot, Stats(window)).p_value; }
  double DistinctP(const Window& window) {
    return baseline.ScoreDistinct(slot, Stats(window)).p_value;
  }
};

double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Window Counted(const std::vector<Symbol>& events) {
  Window w;
  for (Symbol s : events) {
    auto it = std::find_if(w.begin(), w.end(), [&](const auto& p) { return p.first == s; });
    if (it == w.end()) {
      w.emplace_back(s, 1);
    } else {
      ++it->second;
    }
  }
  return w;
}

// Routes 1..6 with fixed shares, a rare admin route (7, 0.3%) and a tail of
// fresh path ids (20%). Overdispersed: each window's shares are drawn from a
// Dirichlet around the learned ones (concentration 30), its size Poisson.
struct RouteSource {
  std::mt19937_64 rng;
  Symbol next_id = 1000;
  static constexpr std::array<double, 7> kShares = {0.3, 0.2, 0.12, 0.08, 0.05, 0.047, 0.003};

  explicit RouteSource(uint64_t seed) : rng(seed) {}

  Window Draw(int n) {
    std::array<double, 7> shares{};
    double sum = 0;
    for (size_t i = 0; i < shares.size(); ++i) {
      std::gamma_distribution<double> g(30 * kShares[i] / 0.8, 1.0);
      shares[i] = g(rng);
      sum += shares[i];
    }
    std::vector<Symbol> events;
    for (int e = 0; e < n; ++e) {
      if (Uniform(rng) < 0.2) {
        events.push_back(next_id++);
        continue;
      }
      double u = Uniform(rng) * sum;
      size_t i = 0;
      while (i + 1 < shares.size() && (u -= shares[i]) >= 0) ++i;
      events.push_back(static_cast<Symbol>(i + 1));
    }
    return Counted(events);
  }
  Window Draw() { return Draw(std::poisson_distribution<int>(40)(rng)); }
};

// API calls: 40 actions, each window a session over 3 of them (bursty: what
// a window shows is concentrated), 20 to 30 calls.
struct ApiSource {
  std::mt19937_64 rng;
  explicit ApiSource(uint64_t seed) : rng(seed) {}
  Window Draw() {
    const int n = 20 + static_cast<int>(rng() % 11);
    std::array<Symbol, 3> session{};
    for (Symbol& s : session) s = static_cast<Symbol>(1 + rng() % 40);
    std::vector<Symbol> events;
    for (int e = 0; e < n; ++e) events.push_back(session[rng() % 3]);
    return Counted(events);
  }
};

TEST(StratifiedTail, RanksWithinAStratumAndExtrapolatesBeyondIt) {
  StratifiedTail t;
  EXPECT_EQ(StratifiedTail::StratumOf(1), 0);
  EXPECT_EQ(StratifiedTail::StratumOf(40), 5);
  EXPECT_EQ(StratifiedTail::StratumOf(1u << 30), StratifiedTail::kStrata - 1);
  for (int i = 0; i < 200; ++i) t.Add(5, i % 10);
  EXPECT_EQ(t.Windows(5), 200u);
  EXPECT_EQ(t.StratumFor(40, 100), 5);
  EXPECT_EQ(t.StratumFor(20, 100), 5);   // too few at 16-31: the next larger stratum
  EXPECT_EQ(t.StratumFor(100, 100), -1);  // larger than every stratum learned
  EXPECT_NEAR(t.UpperTail(5, 0), 1.0, 0.06);
  EXPECT_NEAR(t.UpperTail(5, 9), 0.05, 0.01);  // top value: mid-rank of its 20 windows
  const double edge = t.UpperTail(5, 10);
  EXPECT_LT(edge, 0.5 / 201 * 1.0001);
  EXPECT_LT(t.UpperTail(5, 20), edge / 10);  // beyond the learned maximum: falls fast
  EXPECT_DOUBLE_EQ(t.UpperTail(4, 3), 1.0);
  // Restore refuses keys out of order or range and empty cells.
  StratifiedTail r;
  EXPECT_TRUE(r.Restore(t.cells()));
  EXPECT_FALSE(r.Restore({{5, 1}, {4, 1}}));
  EXPECT_FALSE(r.Restore({{StratifiedTail::kStrata * StratifiedTail::kBins, 1}}));
  EXPECT_FALSE(r.Restore({{3, 0}}));
}

TEST(MixBaseline, CellsPoolTheLongTailAndLeaveOutNewValues) {
  LearnedFeature f(kRequestSubject, 0);
  RouteSource source(1);
  for (int w = 0; w < 500; ++w) f.Learn(source.Draw(), false);
  const MixCells& cells = f.baseline.Cells(0, f.table, f.round);
  // Routes 1..6 have cells; the admin route and the ids are "other", whose
  // known share is the admin route's, not the ids' (they do not recur).
  ASSERT_EQ(cells.major.size(), 6u);
  EXPECT_NEAR(cells.other_share, 0.003 / 0.8, 0.003);
  // New values do not enter the mix; they still count as events for the
  // distinct test but not as distinct known values.
  const MixWindowStats s = f.Stats({{1, 10}, {2, 5}, {99999, 3}});
  EXPECT_EQ(s.mix_events[0], 15u);
  EXPECT_EQ(s.events[0], 18u);
  EXPECT_EQ(s.distinct[0], 2u);
}

// Null: windows from the learned, overdispersed mix. Rank p-values of both
// tests roughly uniform (within sampling and binning tolerance).
TEST(MixBaseline, PValuesCalibratedUnderAnOverdispersedNull) {
  LearnedFeature f(kRequestSubject, 0);
  RouteSource source(2);
  for (int w = 0; w < 4000; ++w) f.Learn(source.Draw(), w >= 200);
  int mix_tested = 0, distinct_tested = 0;
  std::array<int, 3> mix_small{}, distinct_small{};
  const std::array<double, 3> levels = {0.1, 0.01, 0.001};
  const int windows = 20000;
  for (int w = 0; w < windows; ++w) {
    const Window window = source.Draw();
    const MixWindowStats s = f.Stats(window);
    const MixBaseline::Score m = f.baseline.ScoreMix(0, s);
    const MixBaseline::Score d = f.baseline.ScoreDistinct(0, s);
    mix_tested += m.stratum >= 0;
    distinct_tested += d.stratum >= 0;
    for (size_t i = 0; i < levels.size(); ++i) {
      mix_small[i] += m.p_value <= levels[i];
      distinct_small[i] += d.p_value <= levels[i];
    }
  }
  EXPECT_GT(mix_tested, windows * 9 / 10);
  EXPECT_GT(distinct_tested, windows * 9 / 10);
  for (size_t i = 0; i < levels.size(); ++i) {
    const double expected = levels[i] * mix_tested;
    // Within 40% (and a few windows) of nominal at 10% and 1%; at 0.1%
    // no more than twice nominal.
    EXPECT_LE(mix_small[i], (i < 2 ? 1.4 : 2.0) * expected + 5) << "mix at " << levels[i];
    EXPECT_LE(distinct_small[i], (i < 2 ? 1.4 : 2.0) * levels[i] * distinct_tested + 5)
        << "distinct at " << levels[i];
    if (i < 2) {
      EXPECT_GE(mix_small[i], 0.6 * expected - 5) << "mix at " << levels[i];
    }
  }
  // The distinct count of known routes is discrete and nearly saturated
  // here (6 to 8 values): conservative, but not dead (3.5% at 10% with
  // this seed).
  EXPECT_GE(distinct_small[0], 0.25 * 0.1 * distinct_tested);
}

// Power: the same number of requests, most of them moved to the rarely
// used admin route.
TEST(MixBaseline, AShiftedMixAtTheSameRateIsCaught) {
  LearnedFeature f(kRequestSubject, 0);
  RouteSource source(3);
  for (int w = 0; w < 3000; ++w) f.Learn(source.Draw(), w >= 200);
  int caught = 0;
  for (int trial = 0; trial < 50; ++trial) {
    Window window = source.Draw(40);
    uint32_t n = 0;
    for (auto& [value, count] : window) n += count;
    // 60% of the window's events to /admin (symbol 7), the rest as drawn.
    std::vector<Symbol> events;
    for (const auto& [value, count] : window) {
      for (uint32_t i = 0; i < count; ++i) events.push_back(value);
    }
    for (size_t i = 0; i < events.size() * 6 / 10; ++i) events[i] = 7;
    const double p = f.MixP(Counted(events));
    caught += p < 1e-6;
  }
  EXPECT_GE(caught, 48);
  // The null window of the same size is not.
  EXPECT_GT(f.MixP(source.Draw(40)), 1e-3);
}

// Power: a sweep over many known actions, each individually common, at a
// normal rate; the learned windows each use a few actions.
TEST(MixBaseline, ASweepOfKnownValuesIsCaught) {
  LearnedFeature f(kApiSubject, 1);
  ApiSource source(4);
  for (int w = 0; w < 3000; ++w) f.Learn(source.Draw(), w >= 200);
  Window sweep;
  for (Symbol s = 1; s <= 25; ++s) sweep.emplace_back(s, 1);
  EXPECT_LT(f.DistinctP(sweep), 1e-8);
  int quiet = 0;
  for (int w = 0; w < 1000; ++w) quiet += f.DistinctP(source.Draw()) > 1e-3;
  EXPECT_GE(quiet, 995);
}

TEST(MixBaseline, MergeEqualsLearningTheUnion) {
  RouteSource source(5);
  ApiSource api(6);
  LearnedFeature reference(kRequestSubject, 0);
  for (int w = 0; w < 300; ++w) reference.Learn(source.Draw(), false);
  std::vector<MixWindowStats> stats;
  for (int w = 0; w < 2000; ++w) {
    MixWindowStats s = reference.Stats(source.Draw());
    // The api slots too, from the api source.
    LearnedFeature a(kApiSubject, 1);
    const MixWindowStats sa = a.Stats(api.Draw());
    s.events[1] = sa.events[1];
    s.distinct[1] = sa.distinct[1];
    stats.push_back(s);
  }
  MixBaseline whole, first, second;
  for (size_t i = 0; i < stats.size(); ++i) {
    whole.Learn(stats[i]);
    (i % 3 == 0 ? first : second).Learn(stats[i]);
  }
  MixBaseline merged = first;
  merged.Merge(second);
  MixBaseline other_way = second;
  other_way.Merge(first);
  for (int m = 0; m < internal::kMixFeatureCount; ++m) {
    auto same = [](const StratifiedTail& a, const StratifiedTail& b) {
      if (a.cells().size() != b.cells().size()) return false;
      for (size_t i = 0; i < a.cells().size(); ++i) {
        if (a.cells()[i].key != b.cells()[i].key || a.cells()[i].count != b.cells()[i].count) return false;
      }
      return true;
    };
    EXPECT_TRUE(same(merged.mix(m), whole.mix(m)));
    EXPECT_TRUE(same(other_way.mix(m), whole.mix(m)));
  }
  for (int d = 0; d < internal::kDistinctFeatureCount; ++d) {
    EXPECT_EQ(merged.distinct(d).cells().size(), whole.distinct(d).cells().size());
    for (size_t i = 0; i < whole.distinct(d).cells().size(); ++i) {
      EXPECT_EQ(merged.distinct(d).cells()[i].count, whole.distinct(d).cells()[i].count);
      EXPECT_EQ(other_way.distinct(d).cells()[i].key, whole.distinct(d).cells()[i].key);
    }
  }
  ASSERT_GT(whole.distinct(1).cells().size(), 0u);
  for (const MixWindowStats& s : {stats[0], stats[7]}) {
    EXPECT_EQ(merged.ScoreMix(0, s).p_value, whole.ScoreMix(0, s).p_value);
    EXPECT_EQ(merged.ScoreDistinct(1, s).p_value, whole.ScoreDistinct(1, s).p_value);
  }
}

// --- In the engine --------------------------------------------------------------

using testing::kDay;
using testing::kHour;
using testing::kMinute;
using testing::kStart;

// The engine's defaults with the mix model on (it is off by default).
EngineOptions MixOn() {
  EngineOptions options;
  options.mix_model = true;
  return options;
}

struct FleetResult {
  std::unique_ptr<Engine> engine;
  std::vector<Finding> findings;
};

// The stationary fleet; `change` may rewrite each event before it is
// ingested, `extra` adds events at the start of each minute.
FleetResult RunFleet(const std::function<void(Engine&, Event&)>& change,
             const std::function<void(Engine&, int64_t minute)>& extra,
             EngineOptions options = MixOn()) {
  FleetResult run;
  run.engine = std::move(*Engine::Create(options));
  run.engine->SetFindingCallback([&run](const Finding& f) { run.findings.push_back(f); });
  testing::FleetSpec spec;
  spec.duration = kDay + 2 * kHour;
  testing::SyntheticFleet fleet(spec);
  int64_t minute = -1;
  fleet.Run(run.engine->symbols(), [&](const Event& e) {
    if (extra && e.time_ns / kMinute != minute) {
      minute = e.time_ns / kMinute;
      extra(*run.engine, minute * kMinute);
    }
    Event copy = e;
    if (change) change(*run.engine, copy);
    run.engine->Ingest(copy);
  });
  run.engine->Flush();
  return run;
}

const Reason* ReasonOf(const Finding& f, std::string_view model) {
  for (const Reason& r : f.reasons) {
    if (r.model == model) return &r;
  }
  return nullptr;
}

// An entity's requests keep their rate, but most move to an admin route the
// group uses rarely (known: a single such request is unremarkable).
TEST(EngineMix, RoutesShiftingToARareAdminRouteAtANormalRateIsAFinding) {
  std::mt19937_64 rng(11);
  const int64_t attack = kStart + kDay + kHour;
  FleetResult run = RunFleet(
      [&](Engine& engine, Event& e) {
        if (e.kind != Kind::kRequest || engine.symbols().Name(e.group) != "registry.local/app1") return;
        const bool attacked = engine.symbols().Name(e.entity) == "c1-2" && e.time_ns >= attack &&
                              e.time_ns < attack + 10 * kMinute;
        if (Uniform(rng) < (attacked ? 0.7 : 0.002)) e.subject = engine.Intern("/admin/export");
      },
      nullptr);
  const Reason* mix = nullptr;
  for (const Finding& f : run.findings) {
    if (f.entity != "c1-2" || f.window_start_ns < attack) continue;
    if (const Reason* r = ReasonOf(f, "mix"); r != nullptr) mix = r;
  }
  ASSERT_NE(mix, nullptr) << run.findings.size() << " findings, none of c1-2 with a mix reason";
  RecordProperty("reason", absl::StrCat(mix->observed, " | expected ", mix->expected));
  EXPECT_EQ(mix->feature, "request.subject");
  EXPECT_THAT(mix->observed, HasSubstr("/admin/export"));
  EXPECT_THAT(mix->expected, HasSubstr("/admin/export"));
  // The other replicas, and c1-2 outside the attack, stay quiet.
  for (const Finding& f : run.findings) {
    if (ReasonOf(f, "mix") == nullptr) continue;
    EXPECT_EQ(f.entity, "c1-2") << f.reasons[0].observed;
  }
}

// API calls: each replica of app2 works in sessions over three of 40
// actions a minute. One replica sweeps 30 of them in one minute, each
// action known and common in the group, at a normal rate.
TEST(EngineMix, ASweepOverKnownApiActionsIsAFinding) {
  std::mt19937_64 rng(12);
  const int64_t attack = kStart + kDay + kHour;
  FleetResult run = RunFleet(nullptr, [&](Engine& engine, int64_t minute) {
    for (int r = 0; r < 5; ++r) {
      const std::string entity = absl::StrCat("c2-", r);
      const bool sweep = r == 3 && minute >= attack && minute < attack + 3 * kMinute;
      const int n = sweep ? 30 : 20 + static_cast<int>(rng() % 11);
      std::array<int, 3> session = {static_cast<int>(rng() % 40), static_cast<int>(rng() % 40),
                                    static_cast<int>(rng() % 40)};
      for (int i = 0; i < n; ++i) {
        const int action = sweep ? i : session[rng() % 3];
        engine.Ingest(EventBuilder(engine.symbols())
                          .Time(minute + i * 1'000'000LL)
                          .Entity(entity).Group("registry.local/app2").Kind(Kind::kApi)
                          .Subject(absl::StrCat("s3:Action", action)).Actor("role/app2")
                          .Build());
      }
    }
  });
  const Reason* distinct = nullptr;
  for (const Finding& f : run.findings) {
    if (f.entity != "c2-3" || f.window_start_ns < attack) continue;
    if (const Reason* r = ReasonOf(f, "distinct"); r != nullptr) distinct = r;
  }
  ASSERT_NE(distinct, nullptr) << run.findings.size() << " findings, none of c2-3 with a distinct reason";
  RecordProperty("reason", absl::StrCat(distinct->observed, " | expected ", distinct->expected));
  EXPECT_EQ(distinct->feature, "api.subject");
  EXPECT_THAT(distinct->observed, HasSubstr("30 distinct actions"));
  EXPECT_THAT(distinct->expected, HasSubstr("learned windows"));
  for (const Finding& f : run.findings) {
    if (ReasonOf(f, "distinct") == nullptr) continue;
    EXPECT_EQ(f.entity, "c2-3") << f.reasons[0].observed;
  }
}

// Off: no mix or distinct reason, whatever the window.
TEST(EngineMix, TheSwitchTurnsBothTestsOff) {
  EngineOptions options;
  options.mix_model = false;
  std::mt19937_64 rng(13);
  const int64_t attack = kStart + kDay + kHour;
  FleetResult run = RunFleet(
      [&](Engine& engine, Event& e) {
        if (e.kind == Kind::kRequest && engine.symbols().Name(e.entity) == "c1-2" &&
            e.time_ns >= attack && e.time_ns < attack + 10 * kMinute && Uniform(rng) < 0.7) {
          e.subject = engine.Intern("/");
        }
      },
      nullptr, options);
  for (const Finding& f : run.findings) {
    EXPECT_EQ(ReasonOf(f, "mix"), nullptr);
    EXPECT_EQ(ReasonOf(f, "distinct"), nullptr);
  }
}

}  // namespace
}  // namespace timescan
