#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "timescan/event.h"
#include "timescan/sim.h"
#include "timescan/symbol_table.h"

namespace timescan::sim {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

// The pinned events of ShortOptions() (see ShortRunIsPinned).
constexpr uint64_t kPinnedCount = 588481;
constexpr uint64_t kPinnedHash = 0xd5e26bdbdda6f2afULL;

// A whole run, in memory.
struct SimRun {
  SymbolTable symbols;
  std::unique_ptr<FleetSimulator> fleet;
  std::vector<Event> events;
  FleetOptions options;

  std::string_view Name(Symbol s) const { return symbols.Name(s); }
  Symbol Find(std::string_view text) const { return symbols.Find(text).value_or(~Symbol{0}); }
  int64_t learning_end() const {
    return options.start_ns + absl::ToInt64Nanoseconds(options.learning);
  }
  const AttackLabel& Label(AttackType type) const {
    for (const AttackLabel& label : fleet->labels()) {
      if (label.type == type) return label;
    }
    ADD_FAILURE() << "no label of type " << AttackTypeName(type);
    return fleet->labels().front();
  }
  // Returns the events of `label`'s entity inside its interval.
  std::vector<Event> During(const AttackLabel& label) const {
    const Symbol entity = Find(label.entity);
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.entity == entity && e.time_ns >= label.start_ns && e.time_ns < label.end_ns) {
        out.push_back(e);
      }
    }
    return out;
  }
};

std::unique_ptr<SimRun> Simulate(const FleetOptions& options) {
  auto run = std::make_unique<SimRun>();
  run->options = options;
  auto fleet = FleetSimulator::Create(options, run->symbols);
  EXPECT_TRUE(fleet.ok()) << fleet.status();
  if (!fleet.ok()) return run;
  run->fleet = std::move(*fleet);
  Event event;
  while (run->fleet->Next(&event)) run->events.push_back(event);
  return run;
}

// The default run (30 h, every attack), generated once per test binary.
const SimRun& DefaultRun() {
  static const SimRun* run = Simulate(FleetOptions()).release();
  return *run;
}

// A short run for tests that need several: 1 h learning, 7 h in all.
FleetOptions ShortOptions() {
  FleetOptions options;
  options.learning = absl::Hours(1);
  options.duration = absl::Hours(7);
  return options;
}

// Hashes everything a consumer sees of an event, names included.
uint64_t HashEvents(const FleetOptions& options, uint64_t* count) {
  SymbolTable symbols;
  auto fleet = FleetSimulator::Create(options, symbols);
  EXPECT_TRUE(fleet.ok()) << fleet.status();
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ULL; };
  auto mix_text = [&](std::string_view s) {
    for (char c : s) mix(static_cast<unsigned char>(c));
    mix(0xFF);
  };
  Event e;
  *count = 0;
  while ((*fleet)->Next(&e)) {
    ++*count;
    mix(static_cast<uint64_t>(e.time_ns));
    mix_text(symbols.Name(e.entity));
    mix_text(symbols.Name(e.group));
    mix(static_cast<uint64_t>(e.kind));
    mix_text(symbols.Name(e.subject));
    mix_text(symbols.Name(e.actor));
    mix(e.has_value);
    uint64_t bits;
    std::memcpy(&bits, &e.value, sizeof(bits));
    mix(bits);
    mix(e.has_status);
    mix(static_cast<uint64_t>(e.status));
  }
  return h;
}

bool IsProbe(const SimRun& run, const Event& e) {
  return e.kind == Kind::kRequest && run.Name(e.subject) == "/healthz";
}

// --- determinism, order, size ----------------------------------------------------

TEST(FleetSimulator, SameSeedGivesIdenticalEvents) {
  const FleetOptions options = ShortOptions();
  uint64_t n1, n2;
  const uint64_t h1 = HashEvents(options, &n1);
  const uint64_t h2 = HashEvents(options, &n2);
  EXPECT_EQ(n1, n2);
  EXPECT_EQ(h1, h2);
  EXPECT_GT(n1, 100000u);
}

TEST(FleetSimulator, DifferentSeedGivesDifferentEvents) {
  FleetOptions a = ShortOptions(), b = ShortOptions();
  b.seed = 2;
  uint64_t n1, n2;
  EXPECT_NE(HashEvents(a, &n1), HashEvents(b, &n2));
}

TEST(FleetSimulator, ShortRunIsPinned) {
  // The exact events of a short run, as a hash: the same on every
  // platform and every build. A deliberate change to the simulator updates
  // this number (and says so in its commit).
  uint64_t n;
  const uint64_t h = HashEvents(ShortOptions(), &n);
  EXPECT_EQ(n, kPinnedCount);
  EXPECT_EQ(h, kPinnedHash) << "hash 0x" << std::hex << h << " count " << std::dec << n;
}

TEST(FleetSimulator, DefaultRunHasTheDemoSize) {
  const SimRun& run = DefaultRun();
  EXPECT_GE(run.events.size(), 500'000u);
  EXPECT_LE(run.events.size(), 3'000'000u);
  EXPECT_EQ(run.fleet->events_emitted(), run.events.size());
}

TEST(FleetSimulator, TimesAreNondecreasingAndInsideTheRun) {
  const SimRun& run = DefaultRun();
  const int64_t start = run.options.start_ns;
  const int64_t end = start + absl::ToInt64Nanoseconds(run.options.duration);
  int64_t last = start;
  for (const Event& e : run.events) {
    ASSERT_GE(e.time_ns, last);
    last = e.time_ns;
  }
  EXPECT_LT(last, end);
  EXPECT_GE(run.events.front().time_ns, start);
  EXPECT_LT(run.events.front().time_ns, start + kSecond);  // the fleet boots at once
  EXPECT_GT(last, end - kMinute);
}

TEST(FleetSimulator, NextBatchMatchesNext) {
  SymbolTable s1, s2;
  FleetOptions options = ShortOptions();
  options.duration = absl::Hours(6);
  options.attacks = {AttackType::kScan};
  auto a = FleetSimulator::Create(options, s1);
  auto b = FleetSimulator::Create(options, s2);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<Event> batch(1000);
  uint64_t total = 0;
  for (;;) {
    const size_t n = (*b)->NextBatch(absl::MakeSpan(batch));
    for (size_t i = 0; i < n; ++i) {
      Event e;
      ASSERT_TRUE((*a)->Next(&e));
      ASSERT_EQ(e.time_ns, batch[i].time_ns);
      ASSERT_EQ(s1.Name(e.subject), s2.Name(batch[i].subject));
    }
    total += n;
    if (n < batch.size()) break;
  }
  Event e;
  EXPECT_FALSE((*a)->Next(&e));
  EXPECT_EQ((*b)->events_emitted(), total);
}

TEST(FleetSimulator, EveryKindOfTheFleetIsPresent) {
  const SimRun& run = DefaultRun();
  std::set<Kind> kinds;
  for (const Event& e : run.events) kinds.insert(e.kind);
  for (Kind k : {Kind::kExec, Kind::kExit, Kind::kConnect, Kind::kRequest, Kind::kApi,
                 Kind::kFile, Kind::kMetric}) {
    EXPECT_TRUE(kinds.contains(k)) << KindName(k);
  }
}

TEST(FleetSimulator, EntitiesAreExactlyTheEntitiesOfTheEvents) {
  const SimRun& run = DefaultRun();
  std::set<std::string> seen;
  for (const Event& e : run.events) seen.insert(std::string(run.Name(e.entity)));
  const std::vector<std::string> listed = run.fleet->entities();
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), seen);
  EXPECT_EQ(listed.size(), seen.size());  // no duplicates
  for (const std::string& id : listed) {
    if (id.starts_with("arn:")) continue;
    EXPECT_EQ(id.size(), 12u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST(FleetSimulator, EveryEventHasEntityGroupAndSubject) {
  const SimRun& run = DefaultRun();
  for (const Event& e : run.events) {
    ASSERT_NE(e.entity, kNoSymbol);
    ASSERT_NE(e.group, kNoSymbol);
    ASSERT_NE(e.subject, kNoSymbol);
    ASSERT_TRUE(std::isfinite(e.value));
    if (e.kind == Kind::kRequest) {
      ASSERT_TRUE(e.has_value && e.has_status);
      ASSERT_GE(e.value, 0);
    }
    if (e.kind == Kind::kConnect || e.kind == Kind::kMetric) ASSERT_TRUE(e.has_value);
    if (e.kind == Kind::kExec) ASSERT_NE(e.actor, kNoSymbol);
  }
}

// --- the fleet's shape --------------------------------------------------------------

TEST(FleetSimulator, FleetHasTheDescribedWorkloads) {
  const SimRun& run = DefaultRun();
  std::map<std::string, std::set<Symbol>> entities_by_group;
  for (const Event& e : run.events) {
    entities_by_group[std::string(run.Name(e.group))].insert(e.entity);
  }
  EXPECT_GE(entities_by_group["registry.local/shop/web"].size(), 5u);  // 3 + autoscaled
  EXPECT_EQ(entities_by_group["registry.local/shop/orders-api"].size(), 3u);
  EXPECT_EQ(entities_by_group["registry.local/shop/worker"].size(), 3u);
  EXPECT_EQ(entities_by_group["registry.local/monitoring/node-exporter"].size(), 3u);
  EXPECT_EQ(entities_by_group["123456789012"].size(), 2u);
  // An hourly job run is a new entity each time: 29 full runs in 30 h.
  EXPECT_GE(entities_by_group["registry.local/shop/cart-cleanup"].size(), 29u);
  EXPECT_EQ(entities_by_group["registry.local/shop/nightly-report"].size(), 2u);
}

TEST(FleetSimulator, WebRoutesHaveHighCardinalityIdsAndMostly200) {
  const SimRun& run = DefaultRun();
  const Symbol web = run.Find("registry.local/shop/web");
  std::set<Symbol> routes;
  uint64_t requests = 0, ok = 0, errors = 0;
  for (const Event& e : run.events) {
    if (e.group != web || e.kind != Kind::kRequest || IsProbe(run, e)) continue;
    ++requests;
    routes.insert(e.subject);
    ok += e.status == 200;
    errors += e.status >= 500;
  }
  EXPECT_GT(routes.size(), 10000u);
  EXPECT_GT(static_cast<double>(ok) / requests, 0.9);
  EXPECT_GT(errors, 0u);
  EXPECT_TRUE(run.symbols.Find("/checkout").has_value());
}

TEST(FleetSimulator, ProbesComeEveryTenSecondsFromTheKubelet) {
  const SimRun& run = DefaultRun();
  const Symbol entity = run.Find(run.fleet->entities()[2]);  // web replica 2, never attacked
  std::vector<int64_t> probes;
  for (const Event& e : run.events) {
    if (e.entity == entity && IsProbe(run, e)) {
      EXPECT_EQ(run.Name(e.actor), "kubelet");
      probes.push_back(e.time_ns);
    }
  }
  ASSERT_GT(probes.size(), 10000u);
  for (size_t i = 1; i < probes.size(); ++i) ASSERT_EQ(probes[i] - probes[i - 1], 10 * kSecond);
}

TEST(FleetSimulator, RequestRatesFollowTheDailyCurve) {
  const SimRun& run = DefaultRun();
  const Symbol web = run.Find("registry.local/shop/web");
  std::vector<uint64_t> per_hour(30);
  for (const Event& e : run.events) {
    if (e.group == web && e.kind == Kind::kRequest && !IsProbe(run, e)) {
      ++per_hour[(e.time_ns - run.options.start_ns) / kHour];
    }
  }
  // Peak at 02:00 UTC, trough at 14:00: 1.6 / 0.4 = 4x, less the hour's slope.
  const double ratio = static_cast<double>(per_hour[2]) / per_hour[14];
  EXPECT_GT(ratio, 3.3);
  EXPECT_LT(ratio, 4.5);
  // The same hour of two days has the same rate (stationary given time of day).
  for (int h = 0; h < 6; ++h) {
    EXPECT_NEAR(static_cast<double>(per_hour[24 + h]) / per_hour[h], 1.0, 0.05) << "hour " << h;
  }
}

TEST(FleetSimulator, PerMinuteCountsArePoissonAroundTheCurve) {
  const SimRun& run = DefaultRun();
  const Symbol entity = run.Find(run.fleet->entities()[2]);  // web replica 2
  std::vector<double> counts(30 * 60);
  for (const Event& e : run.events) {
    if (e.entity == entity && e.kind == Kind::kRequest && !IsProbe(run, e)) {
      ++counts[(e.time_ns - run.options.start_ns) / kMinute];
    }
  }
  // Dispersion within each hour (variance / mean), skipping the first minute
  // (boot) and hours where autoscaling changes the replica count.
  for (int h : {8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20}) {
    double sum = 0, sum2 = 0;
    for (int m = h * 60; m < h * 60 + 60; ++m) {
      sum += counts[m];
      sum2 += counts[m] * counts[m];
    }
    const double mean = sum / 60, var = sum2 / 60 - mean * mean;
    EXPECT_GT(var / mean, 0.4) << "hour " << h;
    EXPECT_LT(var / mean, 2.2) << "hour " << h;
  }
}

TEST(FleetSimulator, LoadScalesTrafficEvents) {
  FleetOptions one = ShortOptions(), three = ShortOptions();
  one.attacks.clear();
  three.attacks.clear();
  three.load = 3;
  auto count_traffic = [](const SimRun& run) {
    uint64_t n = 0;
    for (const Event& e : run.events) {
      n += (e.kind == Kind::kRequest && !IsProbe(run, e)) || e.kind == Kind::kApi;
    }
    return n;
  };
  const auto a = Simulate(one), b = Simulate(three);
  const double ratio = static_cast<double>(count_traffic(*b)) / count_traffic(*a);
  EXPECT_NEAR(ratio, 3.0, 0.05);
  EXPECT_GT(b->events.size(), 2.5 * a->events.size());

  FleetOptions tenth = ShortOptions();
  tenth.attacks.clear();
  tenth.load = 0.1;
  const auto c = Simulate(tenth);
  EXPECT_NEAR(static_cast<double>(c->events.size()) / a->events.size(), 0.1, 0.02);
}

TEST(FleetSimulator, ExporterSamplesMetricsWithADailyPattern) {
  const SimRun& run = DefaultRun();
  const Symbol cpu = run.Find("node_cpu_utilization");
  double peak = 0, trough = 0;
  int n_peak = 0, n_trough = 0;
  for (const Event& e : run.events) {
    if (e.kind != Kind::kMetric || e.subject != cpu) continue;
    const int64_t hour = (e.time_ns - run.options.start_ns) / kHour;
    ASSERT_GE(e.value, 0);
    ASSERT_LE(e.value, 1);
    if (hour == 2) peak += e.value, ++n_peak;
    if (hour == 14) trough += e.value, ++n_trough;
  }
  ASSERT_EQ(n_peak, 3 * 240);  // 3 exporters, every 15 s
  EXPECT_GT(peak / n_peak, trough / n_trough + 0.2);
}

TEST(FleetSimulator, NewContainersExecTheirBootExecutablesInTheFirstMinute) {
  const SimRun& run = DefaultRun();
  // Autoscaled web replicas: new entities of the known group.
  const Symbol web = run.Find("registry.local/shop/web");
  absl::flat_hash_map<Symbol, int64_t> first_seen;
  absl::flat_hash_map<Symbol, std::vector<std::string>> boot_execs;
  for (const Event& e : run.events) {
    if (e.group != web) continue;
    auto [it, inserted] = first_seen.emplace(e.entity, e.time_ns);
    if (e.kind == Kind::kExec && e.time_ns < it->second + kMinute) {
      boot_execs[e.entity].push_back(std::string(run.Name(e.subject)));
    }
  }
  int after_learning = 0;
  for (const auto& [entity, t] : first_seen) {
    EXPECT_THAT(boot_execs[entity],
                ::testing::ElementsAre("/docker-entrypoint.sh", "/usr/bin/envsubst",
                                       "/usr/local/bin/node"))
        << run.Name(entity);
    after_learning += t > run.learning_end();
  }
  EXPECT_GE(after_learning, 1);  // the 01:00 scale-out of the second day
}

// --- calibration: nothing benign is new after learning -------------------------

// Returns, for each (group, kind, field) that is not a designed
// high-cardinality field (more than 20 distinct values in learning, and more
// than 5% of its values distinct), the values that benign entities show after
// learning that learning never saw.
std::map<std::string, std::set<std::string>> NovelBenignValues(const SimRun& run) {
  using Key = std::tuple<Symbol, Kind, int>;  // field 0: subject, 1: actor
  std::map<Key, std::set<Symbol>> learned;
  std::map<Key, uint64_t> totals;
  for (const Event& e : run.events) {
    if (e.time_ns >= run.learning_end()) break;
    for (int field = 0; field < 2; ++field) {
      learned[{e.group, e.kind, field}].insert(field == 0 ? e.subject : e.actor);
      ++totals[{e.group, e.kind, field}];
    }
  }
  std::set<Key> high_cardinality;
  for (const auto& [key, values] : learned) {
    if (values.size() > 20 && values.size() > 0.05 * totals[key]) high_cardinality.insert(key);
  }
  auto in_attack = [&](const Event& e) {
    for (const AttackLabel& label : run.fleet->labels()) {
      if (run.Name(e.entity) == label.entity && e.time_ns >= label.start_ns &&
          e.time_ns < label.end_ns) {
        return true;
      }
    }
    return false;
  };
  std::map<std::string, std::set<std::string>> novel;
  for (const Event& e : run.events) {
    if (e.time_ns < run.learning_end() || in_attack(e)) continue;
    for (int field = 0; field < 2; ++field) {
      const Symbol value = field == 0 ? e.subject : e.actor;
      if (high_cardinality.contains({e.group, e.kind, field})) continue;
      auto it = learned.find({e.group, e.kind, field});
      if (it == learned.end() || !it->second.contains(value)) {
        const std::string key = std::string(run.Name(e.group)) + " " +
                                std::string(KindName(e.kind)) +
                                (field == 0 ? ".subject" : ".actor");
        novel[key].insert(std::string(run.Name(value)));
      }
    }
  }
  return novel;
}

TEST(FleetSimulator, NoBenignValueIsNewAfterLearning) {
  const SimRun& run = DefaultRun();
  EXPECT_THAT(NovelBenignValues(run), ::testing::IsEmpty());
}

TEST(FleetSimulator, NoBenignValueIsNewAfterLearningAtLowLoad) {
  FleetOptions options;
  options.load = 0.1;
  EXPECT_THAT(NovelBenignValues(*Simulate(options)), ::testing::IsEmpty());
}

TEST(FleetSimulator, OnlyTheDeployBringsNewValues) {
  FleetOptions options;
  options.deploys = true;
  const auto run = Simulate(options);
  ASSERT_GT(run->fleet->deploy_ns(), run->learning_end());
  const auto novel = NovelBenignValues(*run);
  EXPECT_THAT(novel, ::testing::UnorderedElementsAre(
                         ::testing::Pair("registry.local/shop/orders-api exec.subject",
                                         ::testing::ElementsAre("/app/bin/migrate")),
                         ::testing::Pair("registry.local/shop/orders-api connect.subject",
                                         ::testing::ElementsAre("10.0.6.30:6379")),
                         ::testing::Pair("registry.local/shop/orders-api exit.subject",
                                         ::testing::ElementsAre("/app/orders-api")),
                         ::testing::Pair("registry.local/shop/orders-api exit.actor",
                                         ::testing::ElementsAre(""))));
  // Every replica was replaced and every new one ran the migration.
  const Symbol migrate = run->Find("/app/bin/migrate");
  std::set<Symbol> migrated;
  for (const Event& e : run->events) {
    if (e.kind == Kind::kExec && e.subject == migrate) {
      EXPECT_GE(e.time_ns, run->fleet->deploy_ns());
      migrated.insert(e.entity);
    }
  }
  EXPECT_EQ(migrated.size(), 3u);
  EXPECT_EQ(run->fleet->entities().size(), DefaultRun().fleet->entities().size() + 3);
}

TEST(FleetSimulator, DeploysOffMeansNoDeploy) {
  const SimRun& run = DefaultRun();
  EXPECT_EQ(run.fleet->deploy_ns(), 0);
  const Symbol migrate = run.Find("/app/bin/migrate");
  const Symbol redis = run.Find("10.0.6.30:6379");
  for (const Event& e : run.events) {
    ASSERT_NE(e.subject, migrate);
    ASSERT_NE(e.subject, redis);
  }
}

// --- attacks -------------------------------------------------------------------

TEST(FleetSimulator, LabelsCoverEveryAttackAfterLearningWithoutOverlap) {
  const SimRun& run = DefaultRun();
  const auto& labels = run.fleet->labels();
  ASSERT_EQ(labels.size(), 8u);
  std::set<AttackType> types;
  const std::vector<std::string> entities = run.fleet->entities();
  const int64_t end = run.options.start_ns + absl::ToInt64Nanoseconds(run.options.duration);
  for (size_t i = 0; i < labels.size(); ++i) {
    const AttackLabel& label = labels[i];
    types.insert(label.type);
    EXPECT_GE(label.start_ns, run.learning_end());
    EXPECT_LT(label.start_ns, label.end_ns);
    EXPECT_LE(label.end_ns, end);
    if (i > 0) EXPECT_GE(label.start_ns, labels[i - 1].end_ns);
    EXPECT_NE(std::find(entities.begin(), entities.end(), label.entity), entities.end());
    EXPECT_FALSE(label.group.empty());
    EXPECT_FALSE(label.description.empty());
    // The label's entity is active in its interval.
    EXPECT_FALSE(run.During(label).empty()) << AttackTypeName(label.type);
  }
  EXPECT_EQ(types.size(), 8u);
}

TEST(FleetSimulator, CryptoMinerExecsTheMinerAndConnectsToThePool) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kCryptoMiner);
  EXPECT_EQ(label.group, "registry.local/shop/web");
  bool shell = false, miner = false, pool3333 = false, pool4444 = false;
  for (const Event& e : run.During(label)) {
    const std::string_view subject = run.Name(e.subject), actor = run.Name(e.actor);
    shell |= e.kind == Kind::kExec && subject == "/bin/sh" && actor == "/usr/local/bin/node";
    miner |= e.kind == Kind::kExec && subject == "/tmp/.x/xmrig" && actor == "/bin/sh";
    pool3333 |= e.kind == Kind::kConnect && subject.ends_with(":3333");
    pool4444 |= e.kind == Kind::kConnect && subject.ends_with(":4444");
  }
  EXPECT_TRUE(shell && miner && pool3333 && pool4444);
  // The miner runs nowhere else and never outside its interval.
  const Symbol xmrig = run.Find("/tmp/.x/xmrig");
  for (const Event& e : run.events) {
    if (e.subject == xmrig || e.actor == xmrig) {
      EXPECT_EQ(run.Name(e.entity), label.entity);
      EXPECT_GE(e.time_ns, label.start_ns);
      EXPECT_LT(e.time_ns, label.end_ns);
    }
  }
}

TEST(FleetSimulator, ReverseShellConnectsOutAndRunsRecon) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kReverseShell);
  EXPECT_EQ(label.group, "registry.local/shop/orders-api");
  std::set<std::string> execs;
  bool spawned = false, connect = false, passwd = false;
  for (const Event& e : run.During(label)) {
    const std::string_view subject = run.Name(e.subject), actor = run.Name(e.actor);
    if (e.kind == Kind::kExec) {
      execs.insert(std::string(subject));
      spawned |= subject == "/bin/sh" && actor == "/app/orders-api";
    }
    connect |= e.kind == Kind::kConnect && subject == "203.0.113.66:4444";
    passwd |= e.kind == Kind::kFile && subject == "/etc/passwd";
  }
  EXPECT_TRUE(spawned && connect && passwd);
  for (const char* exe : {"/usr/bin/id", "/bin/uname", "/bin/cat", "/usr/bin/whoami"}) {
    EXPECT_TRUE(execs.contains(exe)) << exe;
  }
}

TEST(FleetSimulator, UnexpectedWorkloadIsANewContainerOfANeverSeenImage) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kUnexpectedWorkload);
  const Symbol group = run.Find(label.group);
  const Symbol entity = run.Find(label.entity);
  uint64_t n = 0;
  for (const Event& e : run.events) {
    if (e.group == group || e.entity == entity) {
      EXPECT_EQ(e.entity, entity);
      EXPECT_EQ(e.group, group);
      EXPECT_GE(e.time_ns, label.start_ns);
      EXPECT_LT(e.time_ns, label.end_ns);
      ++n;
    }
  }
  EXPECT_GT(n, 20u);
}

TEST(FleetSimulator, ExfiltrationSendsGigabytesToANewDestination) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kExfiltration);
  const Symbol entity = run.Find(label.entity);
  std::set<Symbol> known;
  for (const Event& e : run.events) {
    if (e.time_ns >= label.start_ns) break;
    if (e.entity == entity && e.kind == Kind::kConnect) known.insert(e.subject);
  }
  double new_bytes = 0;
  for (const Event& e : run.During(label)) {
    if (e.kind == Kind::kConnect && !known.contains(e.subject)) new_bytes += e.value;
  }
  EXPECT_GT(new_bytes, 1e9);
  EXPECT_THAT(label.description, HasSubstr("198.51.100.77:443"));
}

TEST(FleetSimulator, CredentialAbuseCallsNewActionsFromAForeignIp) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kCredentialAbuse);
  EXPECT_EQ(label.entity, "arn:aws:iam::123456789012:role/shop-orders");
  EXPECT_EQ(label.group, "123456789012");
  std::set<Symbol> learned_actions, learned_ips;
  const Symbol role = run.Find(label.entity);
  for (const Event& e : run.events) {
    if (e.time_ns >= run.learning_end()) break;
    if (e.entity == role) learned_actions.insert(e.subject), learned_ips.insert(e.actor);
  }
  int new_actions = 0, foreign = 0;
  bool create_key = false;
  for (const Event& e : run.During(label)) {
    if (e.kind != Kind::kApi || run.Name(e.actor) != "185.220.101.47") continue;
    ++foreign;
    EXPECT_FALSE(learned_ips.contains(e.actor));
    new_actions += !learned_actions.contains(e.subject);
    create_key |= run.Name(e.subject) == "iam.amazonaws.com:CreateAccessKey";
  }
  EXPECT_TRUE(create_key);
  EXPECT_GE(new_actions, 8);
  EXPECT_GE(foreign, 15);
}

TEST(FleetSimulator, ScanReachesHundredsOfNewDestinationsInMinutes) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kScan);
  EXPECT_LE(label.end_ns - label.start_ns, 5 * kMinute);
  std::set<Symbol> before;
  for (const Event& e : run.events) {
    if (e.time_ns >= label.start_ns) break;
    if (e.kind == Kind::kConnect) before.insert(e.subject);
  }
  std::set<Symbol> fresh;
  for (const Event& e : run.During(label)) {
    if (e.kind == Kind::kConnect && !before.contains(e.subject)) fresh.insert(e.subject);
  }
  EXPECT_GE(fresh.size(), 300u);
}

TEST(FleetSimulator, SilentServiceStopsServingButKeepsLiving) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kSilentService);
  const Symbol entity = run.Find(label.entity);
  int requests_in = 0, probes_in = 0, connects_in = 0, requests_before = 0, requests_after = 0;
  for (const Event& e : run.events) {
    if (e.entity != entity) continue;
    const bool in = e.time_ns >= label.start_ns && e.time_ns < label.end_ns;
    if (e.kind == Kind::kRequest && IsProbe(run, e)) {
      probes_in += in;
    } else if (e.kind == Kind::kRequest) {
      requests_in += in;
      requests_before += e.time_ns < label.start_ns && e.time_ns >= label.start_ns - 30 * kMinute;
      requests_after += e.time_ns >= label.end_ns && e.time_ns < label.end_ns + 30 * kMinute;
    } else if (e.kind == Kind::kConnect) {
      connects_in += in;
    }
  }
  EXPECT_EQ(requests_in, 0);
  EXPECT_EQ(connects_in, 0);
  EXPECT_NEAR(probes_in, 180, 1);
  EXPECT_GT(requests_before, 1000);
  EXPECT_GT(requests_after, 1000);
}

TEST(FleetSimulator, LatencyShiftSlowsRequestsAndAddsErrors) {
  const SimRun& run = DefaultRun();
  const AttackLabel& label = run.Label(AttackType::kLatencyShift);
  const Symbol entity = run.Find(label.entity);
  std::vector<double> before, during;
  int errors = 0;
  for (const Event& e : run.events) {
    if (e.entity != entity || e.kind != Kind::kRequest || IsProbe(run, e)) continue;
    if (e.time_ns >= label.start_ns - 60 * kMinute && e.time_ns < label.start_ns) {
      before.push_back(e.value);
    } else if (e.time_ns >= label.start_ns && e.time_ns < label.end_ns) {
      during.push_back(e.value);
      errors += e.status >= 500;
    }
  }
  ASSERT_GT(during.size(), 500u);
  std::sort(before.begin(), before.end());
  std::sort(during.begin(), during.end());
  const double ratio = during[during.size() / 2] / before[before.size() / 2];
  EXPECT_GT(ratio, 4.3);
  EXPECT_LT(ratio, 5.8);
  EXPECT_NEAR(static_cast<double>(errors) / during.size(), 0.3, 0.06);
}

TEST(FleetSimulator, AttacksCanBeChosenRepeatedAndOmitted) {
  FleetOptions options = ShortOptions();
  options.attacks = {AttackType::kCryptoMiner, AttackType::kCryptoMiner, AttackType::kScan};
  const auto run = Simulate(options);
  const auto& labels = run->fleet->labels();
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0].type, AttackType::kCryptoMiner);
  EXPECT_EQ(labels[1].type, AttackType::kCryptoMiner);
  EXPECT_NE(labels[0].entity, labels[1].entity);  // the repeat targets the next replica
  EXPECT_EQ(labels[2].type, AttackType::kScan);

  options.attacks.clear();
  const auto quiet = Simulate(options);
  EXPECT_TRUE(quiet->fleet->labels().empty());
  EXPECT_FALSE(quiet->symbols.Find("/tmp/.x/xmrig").has_value());
}

TEST(FleetSimulator, SwitchesRemoveAutoscalingAndJobs) {
  FleetOptions options = ShortOptions();
  options.autoscaling = false;
  options.batch_jobs = false;
  options.attacks.clear();
  options.replicas = 2;
  const auto run = Simulate(options);
  // 2 web + 2 api + 2 worker + 2 exporters + 2 roles.
  EXPECT_EQ(run->fleet->entities().size(), 10u);
  for (const Event& e : run->events) ASSERT_NE(e.kind, Kind::kExit);
}

// --- options --------------------------------------------------------------------

TEST(FleetSimulator, RejectsBadOptions) {
  struct Case {
    const char* field;
    void (*edit)(FleetOptions&);
  };
  const Case cases[] = {
      {"start_ns", [](FleetOptions& o) { o.start_ns = -1; }},
      {"duration", [](FleetOptions& o) { o.duration = absl::ZeroDuration(); }},
      {"duration", [](FleetOptions& o) { o.duration = absl::Hours(24 * 400); }},
      {"learning", [](FleetOptions& o) { o.learning = absl::Hours(-1); }},
      {"learning", [](FleetOptions& o) { o.learning = o.duration + absl::Seconds(1); }},
      // No time left for the attacks.
      {"duration", [](FleetOptions& o) { o.learning = o.duration; }},
      {"load", [](FleetOptions& o) { o.load = 0; }},
      {"load", [](FleetOptions& o) { o.load = 1e-9; }},
      {"load", [](FleetOptions& o) { o.load = std::nan(""); }},
      {"load", [](FleetOptions& o) { o.load = 1e9; }},
      {"replicas", [](FleetOptions& o) { o.replicas = 0; }},
      {"replicas", [](FleetOptions& o) { o.replicas = 65; }},
      {"attacks[1]",
       [](FleetOptions& o) { o.attacks = {AttackType::kScan, static_cast<AttackType>(99)}; }},
      // 6 h after learning cannot hold 10 slots of 40 minutes.
      {"duration", [](FleetOptions& o) {
         o.deploys = true;
         o.attacks.push_back(AttackType::kScan);
       }},
      {"start_ns", [](FleetOptions& o) { o.start_ns = std::numeric_limits<int64_t>::max() - 10; }},
  };
  for (const Case& c : cases) {
    FleetOptions options;
    c.edit(options);
    SymbolTable symbols;
    auto fleet = FleetSimulator::Create(options, symbols);
    ASSERT_FALSE(fleet.ok()) << c.field;
    EXPECT_EQ(fleet.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(fleet.status().message()),
                HasSubstr(absl::StrCat("FleetOptions.", c.field, ":")));
  }
}

TEST(FleetSimulator, AcceptsEdgeOptions) {
  FleetOptions benign_only;
  benign_only.learning = benign_only.duration;
  benign_only.attacks.clear();
  SymbolTable table;
  EXPECT_TRUE(FleetSimulator::Create(benign_only, table).ok());

  FleetOptions options;
  options.deploys = true;  // 9 slots of exactly 40 minutes
  SymbolTable symbols;
  EXPECT_TRUE(FleetSimulator::Create(options, symbols).ok());

  options = FleetOptions();
  options.learning = absl::ZeroDuration();
  options.duration = absl::Hours(6);
  options.replicas = 1;
  options.start_ns = 1'700'000'123'456'789'000;  // not on a day boundary
  const auto run = Simulate(options);
  EXPECT_EQ(run->fleet->labels().size(), 8u);
  for (size_t i = 1; i < run->events.size(); ++i) {
    ASSERT_GE(run->events[i].time_ns, run->events[i - 1].time_ns);
  }
  EXPECT_GE(run->events.front().time_ns, options.start_ns);
}

TEST(SimAttackType, NamesRoundTrip) {
  const std::vector<AttackType> all = AllAttackTypes();
  ASSERT_EQ(all.size(), static_cast<size_t>(kAttackTypeCount));
  std::set<std::string_view> names;
  for (AttackType type : all) {
    names.insert(AttackTypeName(type));
    EXPECT_EQ(AttackTypeFromName(AttackTypeName(type)), type);
  }
  EXPECT_EQ(names.size(), all.size());
  EXPECT_EQ(AttackTypeName(AttackType::kCryptoMiner), "crypto_miner");
  EXPECT_EQ(AttackTypeName(AttackType::kLatencyShift), "latency_shift");
  EXPECT_EQ(AttackTypeName(static_cast<AttackType>(200)), "invalid");
  EXPECT_FALSE(AttackTypeFromName("miner").has_value());
}

}  // namespace
}  // namespace timescan::sim
