// The sequence model: n-gram ids, p-values calibrated under the null and
// powerful against a new order, merge equal to learning the union, memory
// bounded under floods; in the engine, a reverse shell made of known
// programs in a new order is a finding (the same programs in their usual
// order are not), syscall sequences are followed per process, and the
// state travels in snapshots exactly.

#include "models/sequence_model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/snapshot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snapshot_testing.h"
#include "timescan/engine.h"

namespace timescan {
namespace {

using ::testing::HasSubstr;
using internal::kExecSequence;
using internal::kSyscallSequence;
using internal::NGramId;
using internal::SequenceNameHash;
using internal::SequenceObservation;
using internal::SequenceScore;
using internal::SequenceTable;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kStart = 1'793'577'600 * kSecond;  // 2026-11-02T00:00:00Z

uint64_t Id(const std::vector<std::string>& names) {
  std::vector<uint64_t> hashes;
  for (const std::string& n : names) hashes.push_back(SequenceNameHash(n));
  return NGramId(hashes.data(), static_cast<int>(hashes.size()));
}

// --- the table -----------------------------------------------------------

TEST(SequenceTable, IdsAreNameHashesInOrder) {
  const uint64_t abc = Id({"/bin/sh", "/usr/bin/id", "/usr/bin/curl"});
  EXPECT_EQ(abc, Id({"/bin/sh", "/usr/bin/id", "/usr/bin/curl"}));
  EXPECT_NE(abc, Id({"/usr/bin/curl", "/usr/bin/id", "/bin/sh"}));
  EXPECT_NE(abc, Id({"/bin/sh", "/usr/bin/curl", "/usr/bin/id"}));
  EXPECT_NE(Id({"a", "b"}), Id({"", "a", "b"}));  // lengths never share ids
  EXPECT_GT(abc, 0u);
  EXPECT_LE(abc, internal::kNGramIdMask);
  // The hash is fixed (snapshots store ids): pinned values.
  EXPECT_EQ(SequenceNameHash(""), SequenceNameHash(std::string()));
  EXPECT_NE(SequenceNameHash(""), SequenceNameHash("a"));
}

TEST(SequenceTable, KnownValues) {
  SequenceTable t;
  // 100 windows, none novel; counts 1, 3 and 96.
  EXPECT_TRUE(t.Add(1, 1, 10));
  EXPECT_TRUE(t.Add(2, 3, 10));
  EXPECT_TRUE(t.Add(3, 90, 10));
  EXPECT_FALSE(t.Add(3, 6, 10));
  for (int w = 0; w < 100; ++w) t.AddWindow(false);
  EXPECT_EQ(t.total(), 100u);
  EXPECT_EQ(t.distinct(), 3u);
  EXPECT_EQ(t.Count(3), 96u);
  EXPECT_EQ(t.Count(4), 0u);
  EXPECT_DOUBLE_EQ(t.RareMass(1), 0.01);
  EXPECT_DOUBLE_EQ(t.RareMass(3), 0.04);
  EXPECT_DOUBLE_EQ(t.RareMass(100), 1.0);
  EXPECT_DOUBLE_EQ(t.EventNoveltyRate(), 1.5 / 101);
  // One new n-gram alone: the windowed rate, (0 + 0.5) / (100 + 1).
  SequenceObservation fresh;
  fresh.Observe(77, 1, 0);
  SequenceScore s = t.Score(fresh, 0.5, 1, 3);
  EXPECT_TRUE(s.novelty);
  EXPECT_DOUBLE_EQ(s.p_value, 0.5 / 101);
  // The rare known one: 1% of the learned n-grams are that rare.
  SequenceObservation rare;
  rare.Observe(1, 1, t.Count(1));
  rare.Observe(3, 4, t.Count(3));
  s = t.Score(rare, 0.5, 1, 3);
  EXPECT_FALSE(s.novelty);
  EXPECT_EQ(rare.rarest, 1u);
  EXPECT_NEAR(s.p_value, 1 - 0.99 * 0.99, 1e-12);
  // Only common known n-grams: nothing to say.
  SequenceObservation common;
  common.Observe(3, 10, t.Count(3));
  EXPECT_EQ(t.Score(common, 0.5, 1, 3).p_value, 1.0);
}

// A stationary process of execs: a Markov chain over `k` programs with a
// few likely successors each and rare other ones.
struct Chain {
  int k;
  std::vector<std::vector<double>> next;
  int state = 0;
  std::vector<uint64_t> hashes;

  Chain(int programs, uint64_t seed) : k(programs), next(programs) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < k; ++i) {
      next[i].assign(k, 0.002);
      for (int j = 0; j < 3; ++j) next[i][rng() % k] += 1.0;
      hashes.push_back(SequenceNameHash(absl::StrCat("/usr/bin/p", i)));
    }
  }
  // The ids of a window of `n` execs, trigrams.
  std::vector<uint64_t> Window(std::mt19937_64& rng, int n, std::vector<uint64_t>* history) {
    std::vector<uint64_t> ids;
    for (int e = 0; e < n; ++e) {
      std::discrete_distribution<int> d(next[state].begin(), next[state].end());
      state = d(rng);
      history->push_back(hashes[state]);
      const size_t h = history->size();
      ids.push_back(NGramId(history->data() + h - 3, 3));
    }
    return ids;
  }
};

// Learns a window as the engine does: its n-grams and, past the warm-up
// (the discovery burst at the start), one window of exposure.
void LearnWindow(SequenceTable& t, const std::vector<uint64_t>& ids, bool warm = true) {
  bool novel = false;
  for (uint64_t id : ids) novel |= t.Add(id, 1, 1'000'000);
  if (warm) t.AddWindow(novel);
}

SequenceObservation Observe(const SequenceTable& t, const std::vector<uint64_t>& ids) {
  std::vector<uint64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  SequenceObservation o;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    o.Observe(sorted[i], static_cast<uint32_t>(j - i), t.Count(sorted[i]));
    i = j;
  }
  return o;
}

TEST(SequenceTable, PValuesCalibratedUnderTheNull) {
  for (const uint64_t seed : {1u, 2u, 3u}) {
    Chain chain(12, seed);
    std::mt19937_64 rng(seed + 100);
    std::vector<uint64_t> history(2, SequenceNameHash(""));
    SequenceTable t;
    for (int w = 0; w < 3000; ++w) LearnWindow(t, chain.Window(rng, 8, &history));
    int small = 0, tiny = 0;
    const int windows = 30000;
    for (int w = 0; w < windows; ++w) {
      const std::vector<uint64_t> ids = chain.Window(rng, 8, &history);
      const double p = t.Score(Observe(t, ids), 0.5, 1, 3).p_value;
      small += p <= 0.01;
      tiny += p <= 0.001;
      LearnWindow(t, ids);  // as the engine learns windows below the threshold
    }
    // At most the nominal rates (with room for sampling noise).
    EXPECT_LE(small, 0.01 * windows * 1.3) << "seed " << seed;
    EXPECT_LE(tiny, 0.001 * windows * 1.5 + 5) << "seed " << seed;
    // And not uselessly conservative at the 1% level.
    EXPECT_GE(small, 0.01 * windows * 0.2) << "seed " << seed;
  }
}

TEST(SequenceTable, PowerAgainstANewOrderDependsOnTheGroupsNovelty) {
  // A group whose sequences never changed after warm-up.
  Chain steady(6, 7);
  for (auto& row : steady.next) {
    for (double& p : row) p = p < 1 ? 0 : p;  // no rare successors at all
  }
  std::mt19937_64 rng(8);
  std::vector<uint64_t> history(2, SequenceNameHash(""));
  SequenceTable quiet;
  for (int w = 0; w < 2000; ++w) LearnWindow(quiet, steady.Window(rng, 5, &history), w >= 500);
  ASSERT_EQ(quiet.novel_windows(), 0u);
  // A group whose sequences keep bringing new n-grams (random programs).
  SequenceTable busy;
  std::vector<uint64_t> random_history(2, SequenceNameHash(""));
  for (int w = 0; w < 2000; ++w) {
    std::vector<uint64_t> ids;
    for (int e = 0; e < 5; ++e) {
      random_history.push_back(SequenceNameHash(absl::StrCat("/tmp/job-", rng() % 5000)));
      ids.push_back(NGramId(random_history.data() + random_history.size() - 3, 3));
    }
    LearnWindow(busy, ids);
  }
  // The alternative: known programs in an order never seen, each step one
  // the chain never takes (a reverse shell: sh, id, curl).
  std::vector<uint64_t> window = steady.Window(rng, 2, &history);
  std::vector<int> path = {steady.state};
  while (path.size() < 4) {
    for (int p = 0; p < steady.k && path.size() < 4; ++p) {
      if (steady.next[path.back()][p] == 0) path.push_back(p);
    }
  }
  for (size_t i = 1; i < path.size(); ++i) {
    history.push_back(steady.hashes[path[i]]);
    window.push_back(NGramId(history.data() + history.size() - 3, 3));
  }
  const SequenceObservation o = Observe(quiet, window);
  ASSERT_GE(o.new_grams, 3u);
  EXPECT_LT(quiet.Score(o, 0.5, 1, 3).p_value, 1e-6);
  // One new step alone (two new trigrams) is one surprise: the windowed rate.
  SequenceObservation one = o;
  one.new_grams = 2;
  EXPECT_DOUBLE_EQ(quiet.Score(one, 0.5, 1, 3).p_value, 0.5 / 1501);
  // The same number of new n-grams in the busy group is unremarkable.
  SequenceObservation same = o;
  EXPECT_GT(busy.Score(same, 0.5, 1, 3).p_value, 0.01);
}

TEST(SequenceTable, MergeEqualsLearningTheUnion) {
  Chain chain(10, 21);
  std::mt19937_64 rng(22);
  std::vector<uint64_t> history(2, SequenceNameHash(""));
  SequenceTable a, b, all;
  for (int w = 0; w < 4000; ++w) {
    const std::vector<uint64_t> ids = chain.Window(rng, 6, &history);
    LearnWindow(w % 3 == 0 ? a : b, ids);
    LearnWindow(all, ids);
  }
  SequenceTable ab = a, ba = b;
  ab.Merge(b, 1'000'000);
  ba.Merge(a, 1'000'000);
  for (const SequenceTable* m : {&ab, &ba}) {
    EXPECT_EQ(m->Sorted(), all.Sorted());
    EXPECT_EQ(m->total(), all.total());
    EXPECT_EQ(m->windows(), all.windows());
    EXPECT_EQ(m->overflow(), 0u);
    for (uint32_t c = 1; c <= internal::kSequenceRareLimit; ++c) {
      EXPECT_DOUBLE_EQ(m->RareMass(c), all.RareMass(c));
    }
    const SequenceObservation o = Observe(all, chain.Window(rng, 6, &history));
    EXPECT_EQ(m->Score(o, 0.5, 1, 3).p_value, all.Score(o, 0.5, 1, 3).p_value);
  }
  // Novel windows add: each part counts its own discoveries.
  EXPECT_EQ(ab.novel_windows(), a.novel_windows() + b.novel_windows());
  // Restore from the serialised form is exact.
  SequenceTable restored;
  ASSERT_TRUE(restored.Restore(all.Sorted(), all.total(), all.windows(), all.novel_windows(),
                               all.overflow(), 1'000'000));
  EXPECT_EQ(restored.Sorted(), all.Sorted());
  EXPECT_DOUBLE_EQ(restored.EventNoveltyRate(), all.EventNoveltyRate());
  EXPECT_FALSE(restored.Restore({{5, 1}, {5, 1}}, 2, 0, 0, 0, 10));  // repeated id
  EXPECT_FALSE(restored.Restore({{5, 1}}, 0, 0, 0, 0, 10));          // total below counts
  EXPECT_EQ(restored.distinct(), 0u);
}

TEST(SequenceTable, BoundedUnderAFloodOfDistinctNGrams) {
  SequenceTable t;
  for (uint64_t id = 1; id <= 100'000; ++id) t.Add(id, 1, 1000);
  EXPECT_EQ(t.distinct(), 1000u);
  EXPECT_EQ(t.overflow(), 99'000u);
  EXPECT_EQ(t.total(), 100'000u);
  EXPECT_LE(t.MemoryBytes(), sizeof(SequenceTable) + 2048 * sizeof(uint64_t));
  // Overflow keeps the unseen mass high: a new n-gram is no surprise.
  EXPECT_GT(t.EventNoveltyRate(), 0.9);
  SequenceTable merged;
  merged.Merge(t, 500);
  EXPECT_EQ(merged.distinct(), 500u);
  EXPECT_EQ(merged.total(), t.total());
  EXPECT_EQ(merged.overflow(), 99'500u);
}

// --- the engine ------------------------------------------------------------

struct Recorder {
  std::vector<Finding> findings;
  void Attach(Engine& engine) {
    engine.SetFindingCallback([this](const Finding& f) { findings.push_back(f); });
  }
};

Event Exec(Engine& engine, int64_t time, const std::string& entity, const std::string& group,
           const std::string& subject) {
  return EventBuilder(engine.symbols()).Time(time).Entity(entity).Group(group)
      .Kind(Kind::kExec).Subject(subject).Actor("/usr/local/bin/app").Build();
}

Event Syscall(Engine& engine, int64_t time, const std::string& entity, const std::string& process,
              const std::string& syscall) {
  return EventBuilder(engine.symbols()).Time(time).Entity(entity).Group("db")
      .Kind(Kind::kSyscall).Subject(syscall).Actor(process).Build();
}

EngineOptions SixHours() {
  EngineOptions options;
  options.learning_period = absl::Hours(6);
  return options;
}

// A service whose replicas run a health check each minute: /bin/sh, then
// curl, then id, one to three times. `extra(replica, window, t)` may add
// execs after the usual ones. With `others`, two more groups run checks
// of their own (a fleet whose sequences never change).
void RunService(Engine& engine, int replicas, int windows, uint64_t seed,
                const std::function<void(int, int, int64_t)>& extra, bool others = false) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> cycle = {"/bin/sh", "/usr/bin/curl", "/usr/bin/id"};
  const std::vector<std::string> api = {"/usr/bin/python3", "/bin/sh", "/usr/bin/date"};
  const std::vector<std::string> worker = {"/usr/bin/java", "/usr/bin/gzip"};
  for (int w = 0; w < windows; ++w) {
    for (int r = 0; r < replicas; ++r) {
      const std::string entity = absl::StrCat("web-", r);
      int64_t t = kStart + w * kMinute + (r + 1) * kSecond;
      const int rounds = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < rounds; ++i) {
        for (const std::string& s : cycle) engine.Ingest(Exec(engine, t += kSecond, entity, "web", s));
      }
      extra(r, w, t);
      if (!others) continue;
      for (const std::string& s : api) {
        engine.Ingest(Exec(engine, t += kSecond, absl::StrCat("api-", r), "api", s));
      }
      for (int i = 0; i < 1 + static_cast<int>(rng() % 2); ++i) {
        for (const std::string& s : worker) {
          engine.Ingest(Exec(engine, t += kSecond, absl::StrCat("worker-", r), "worker", s));
        }
      }
    }
  }
}

TEST(SequenceEngine, ReverseShellInAnOrderNeverSeenIsAFinding) {
  // A day of learning (the default) on a fleet of three groups of eight
  // replicas whose exec sequences never change: a new step is rare
  // evidence, and the group's rate is shrunk towards the fleet's.
  auto engine = *Engine::Create(EngineOptions{});
  Recorder rec;
  rec.Attach(*engine);
  const int attack_window = 24 * 60 + 30;
  RunService(*engine, 8, 24 * 60 + 60, 1, [&](int r, int w, int64_t t) {
    if (w != attack_window) return;
    if (r == 0) {
      // The reverse shell: the service spawns a shell that runs id, then
      // curl; each program known to the group, the order never seen.
      for (const char* s : {"/bin/sh", "/usr/bin/id", "/usr/bin/curl"}) {
        engine->Ingest(Exec(*engine, t += kSecond, "web-0", "web", s));
      }
    } else if (r == 1) {
      // The same programs in their usual order.
      for (const char* s : {"/bin/sh", "/usr/bin/curl", "/usr/bin/id"}) {
        engine->Ingest(Exec(*engine, t += kSecond, "web-1", "web", s));
      }
    }
  }, /*others=*/true);
  engine->Flush();
  std::vector<const Finding*> attack;
  for (const Finding& f : rec.findings) {
    EXPECT_EQ(f.entity, "web-0") << FindingToJson(f);
    if (f.entity == "web-0" && f.window_start_ns == kStart + attack_window * kMinute) {
      attack.push_back(&f);
    }
  }
  ASSERT_EQ(attack.size(), 1u);
  const Reason& why = attack[0]->reasons.at(0);
  EXPECT_EQ(why.model, "sequence");
  EXPECT_EQ(why.feature, "exec.sequence");
  EXPECT_THAT(why.observed, HasSubstr("/bin/sh \u2192 /usr/bin/id \u2192 /usr/bin/curl"));
  EXPECT_THAT(why.observed, HasSubstr("(new)"));
  EXPECT_THAT(why.expected, HasSubstr("known 3-grams; a new one about once in"));
  EXPECT_LT(why.p_value, 1e-5);
  // Only the attacked replica, in the attack's window and the next (whose
  // first n-grams still follow the shell's).
  for (const Finding& f : rec.findings) {
    EXPECT_LE(f.window_start_ns, kStart + (attack_window + 1) * kMinute) << FindingToJson(f);
  }
}

TEST(SequenceEngine, OffOrLongerSequencesAsConfigured) {
  EngineOptions off = SixHours();
  off.sequence_model = false;
  auto engine = *Engine::Create(off);
  Recorder rec;
  rec.Attach(*engine);
  RunService(*engine, 4, 6 * 60 + 10, 2, [&](int r, int w, int64_t t) {
    if (r != 0 || w != 6 * 60 + 5) return;
    for (const char* s : {"/bin/sh", "/usr/bin/id", "/usr/bin/curl"}) {
      engine->Ingest(Exec(*engine, t += kSecond, "web-0", "web", s));
    }
  });
  engine->Flush();
  for (const Finding& f : rec.findings) {
    for (const Reason& r : f.reasons) EXPECT_NE(r.model, "sequence");
  }
  EngineOptions bad = SixHours();
  bad.sequence_length = 7;
  EXPECT_THAT(Engine::Create(bad).status().message(), HasSubstr("sequence_length"));
  bad.sequence_length = 1;
  EXPECT_FALSE(Engine::Create(bad).ok());
}

// Two processes per replica with stable syscall orders, their events
// interleaved at random: per process the sequences never change.
void RunDatabase(Engine& engine, int replicas, int windows, uint64_t seed,
                 const std::function<void(int, int, int64_t)>& extra) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> server = {"read", "write", "fsync"};
  const std::vector<std::string> backup = {"openat", "read", "close"};
  for (int w = 0; w < windows; ++w) {
    for (int r = 0; r < replicas; ++r) {
      const std::string entity = absl::StrCat("db-", r);
      int64_t t = kStart + w * kMinute + (r + 1) * kSecond;
      size_t a = 0, b = 0;
      const size_t n = 3 * (2 + rng() % 4);
      while (a < n || b < n) {
        const bool first = b == n || (a < n && rng() % 2 == 0);
        const std::string& call = first ? server[a++ % 3] : backup[b++ % 3];
        engine.Ingest(Syscall(engine, t += 100'000'000, entity,
                              first ? "/usr/bin/postgres" : "/usr/bin/pg_backup", call));
      }
      extra(r, w, t);
    }
  }
}

TEST(SequenceEngine, SyscallSequencesArePerProcess) {
  auto engine = *Engine::Create(SixHours());
  Recorder rec;
  rec.Attach(*engine);
  const int attack_window = 6 * 60 + 20;
  RunDatabase(*engine, 4, 6 * 60 + 40, 3, [&](int r, int w, int64_t t) {
    if (r != 2 || w != attack_window) return;
    // The server opens files and closes them: syscalls the group knows
    // (from the backup process), in an order this process never made.
    for (const char* s : {"openat", "close", "openat", "close"}) {
      engine->Ingest(Syscall(*engine, t += 100'000'000, "db-2", "/usr/bin/postgres", s));
    }
  });
  engine->Flush();
  ASSERT_FALSE(rec.findings.empty());
  EXPECT_EQ(rec.findings[0].window_start_ns, kStart + attack_window * kMinute);
  EXPECT_THAT(rec.findings[0].reasons.at(0).observed, HasSubstr("\u2192 openat \u2192 close"));
  for (const Finding& f : rec.findings) {
    // The attacked replica only (the random interleaving of its two
    // processes never is), in the attack's window or the next.
    ASSERT_EQ(f.entity, "db-2") << FindingToJson(f);
    EXPECT_LE(f.window_start_ns, kStart + (attack_window + 1) * kMinute);
    EXPECT_EQ(f.reasons.at(0).model, "sequence");
    EXPECT_EQ(f.reasons.at(0).feature, "syscall.sequence");
  }
}

TEST(SequenceEngine, MemoryBoundedUnderAFloodOfDistinctNGrams) {
  EngineOptions options;
  options.learning_period = absl::Minutes(30);
  options.max_values_per_feature = 500;
  options.max_values_per_window = 32;
  auto engine = *Engine::Create(options);
  std::mt19937_64 rng(5);
  for (int w = 0; w < 40; ++w) {
    for (int i = 0; i < 200; ++i) {
      const int64_t t = kStart + w * kMinute + i * 250'000'000LL;
      engine->Ingest(Exec(*engine, t, "flood", "g", absl::StrCat("/tmp/x", rng() % 1000)));
      // 40 processes, each with its own syscalls: at most 16 followed.
      engine->Ingest(EventBuilder(engine->symbols()).Time(t).Entity("flood").Group("g")
                         .Kind(Kind::kSyscall).Subject(absl::StrCat("sys", rng() % 300))
                         .Actor(absl::StrCat("/proc/", i % 40)).Build());
    }
  }
  const v1::Snapshot s = Decoded(*engine->Snapshot());
  ASSERT_EQ(s.entities_size(), 1);
  const v1::SequenceEntity& e = s.entities(0).sequences();
  EXPECT_EQ(e.processes_size(), 16);
  EXPECT_GT(e.evicted(), 1000u);
  for (const v1::Window& w : s.entities(0).windows()) {
    EXPECT_LE(w.sequences().keys_size(), 2 * 32);  // two features, each capped
    ASSERT_EQ(w.sequences().untracked_size(), 2);
    EXPECT_GT(w.sequences().untracked(0), 0u);
    EXPECT_LE(w.sequences().examples_size(), 8);
  }
  for (const v1::Group& g : s.groups()) {
    for (const v1::SequenceTable& t : g.sequences().tables()) {
      EXPECT_LE(t.ids_size(), 500);
      if (g.name() != 1) EXPECT_GT(t.overflow(), 0u);
    }
  }
}

// Scores `events` in one engine, restoring from a snapshot every `every`
// events; returns the findings as JSON.
// `feed(engine, step)` ingests through engine() (the current engine: it
// changes at each restore) and calls step() between windows.
using Feed = std::function<void(const std::function<Engine&()>&, const std::function<void()>&)>;

std::string Replay(const EngineOptions& options, const Feed& feed, int every) {
  std::unique_ptr<Engine> engine = *Engine::Create(options);
  std::string out;
  auto attach = [&] {
    engine->SetFindingCallback([&](const Finding& f) { absl::StrAppend(&out, FindingToJson(f), "\n"); });
  };
  attach();
  int n = 0;
  feed([&]() -> Engine& { return *engine; }, [&] {
    if (every == 0 || ++n % every != 0) return;
    const std::string bytes = *engine->Snapshot();
    engine.reset();
    auto restored = Engine::FromSnapshot(bytes);
    ASSERT_TRUE(restored.ok()) << restored.status();
    engine = std::move(*restored);
    EXPECT_EQ(*engine->Snapshot(), bytes);
    attach();
  });
  engine->Flush();
  return out;
}

TEST(SequenceEngine, SnapshotRoundTripGivesIdenticalFindings) {
  EngineOptions options = SixHours();
  options.max_values_per_window = 4;  // n-grams past the cap travel too
  options.allowed_lateness = absl::Seconds(90);
  // Execs and syscalls of two services, with a reverse shell and a server
  // out of order after learning; `step` runs between windows.
  auto feed = [](const std::function<Engine&()>& engine, const std::function<void()>& step) {
    std::mt19937_64 rng(9);
    const std::vector<std::string> cycle = {"/bin/sh", "/usr/bin/curl", "/usr/bin/id"};
    for (int w = 0; w < 6 * 60 + 30; ++w) {
      for (int r = 0; r < 4; ++r) {
        int64_t t = kStart + w * kMinute + (r + 1) * kSecond;
        for (int i = 0; i < 1 + static_cast<int>(rng() % 3); ++i) {
          for (const std::string& s : cycle) {
            engine().Ingest(Exec(engine(), t += kSecond, absl::StrCat("web-", r), "web", s));
          }
        }
        for (int i = 0; i < 6; ++i) {
          engine().Ingest(Syscall(engine(), t += kSecond, absl::StrCat("db-", r),
                                absl::StrCat("/usr/bin/p", rng() % 3),
                                i % 2 == 0 ? "read" : "write"));
        }
        if (w == 6 * 60 + 10 && r == 0) {
          for (const char* s : {"/bin/sh", "/usr/bin/id", "/usr/bin/curl", "/tmp/x"}) {
            engine().Ingest(Exec(engine(), t += kSecond, "web-0", "web", s));
          }
          for (const char* s : {"write", "write", "fsync", "read", "read"}) {
            engine().Ingest(Syscall(engine(), t += kSecond, "db-0", "/usr/bin/p0", s));
          }
        }
        step();
      }
    }
  };
  const std::string whole = Replay(options, feed, 0);
  ASSERT_THAT(whole, HasSubstr("\"sequence\""));
  EXPECT_EQ(Replay(options, feed, 97), whole);
  EXPECT_EQ(Replay(options, feed, 13), whole);
}

TEST(SequenceEngine, OlderSnapshotsLoadWithTheModelOffAndBadFieldsAreNamed) {
  auto engine = *Engine::Create(SixHours());
  RunService(*engine, 3, 30, 4, [](int, int, int64_t) {});
  RunDatabase(*engine, 2, 30, 4, [](int, int, int64_t) {});
  const v1::Snapshot good = Decoded(*engine->Snapshot());
  ASSERT_TRUE(Engine::FromSnapshot(Framed(good)).ok());

  // As written before the model: no option, no tables, no entity state.
  v1::Snapshot older = good;
  older.mutable_options()->clear_sequence_model();
  older.mutable_options()->clear_sequence_length();
  for (v1::Group& g : *older.mutable_groups()) g.clear_sequences();
  for (v1::Entity& e : *older.mutable_entities()) {
    e.clear_sequences();
    for (v1::Window& w : *e.mutable_windows()) w.clear_sequences();
  }
  auto restored = Engine::FromSnapshot(Framed(older));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE((*restored)->options().sequence_model);
  EXPECT_EQ((*restored)->options().sequence_length, 3u);

  int group = -1;
  for (int g = 0; g < good.groups_size() && group < 0; ++g) {
    if (good.groups(g).sequences().tables(kExecSequence).ids_size() > 2) group = g;
  }
  ASSERT_GE(group, 0);
  int entity = -1;
  for (int i = 0; i < good.entities_size() && entity < 0; ++i) {
    if (good.entities(i).sequences().processes_size() > 0) entity = i;
  }
  ASSERT_GE(entity, 0);
  const std::string table = absl::StrCat("groups[", group, "].sequences.tables[0]");
  const std::string state = absl::StrCat("entities[", entity, "].sequences");
  const std::vector<SnapshotDamage> cases = {
      {table, [&](v1::Snapshot& s) {
         auto* t = s.mutable_groups(group)->mutable_sequences()->mutable_tables(0);
         t->set_ids(1, t->ids(0));
       }},
      {table, [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_sequences()->mutable_tables(0)->set_total(0);
       }},
      {absl::StrCat("groups[", group, "].sequences.tables"), [&](v1::Snapshot& s) {
         s.mutable_groups(group)->mutable_sequences()->mutable_tables()->RemoveLast();
       }},
      {state + ".exec_history", [&](v1::Snapshot& s) {
         s.mutable_entities(entity)->mutable_sequences()->add_exec_history(1);
       }},
      {state + ".processes[0]", [&](v1::Snapshot& s) {
         s.mutable_entities(entity)->mutable_sequences()->mutable_processes(0)->set_actor(0);
       }},
      {state + ".processes[0]", [&](v1::Snapshot& s) {
         auto* e = s.mutable_entities(entity)->mutable_sequences();
         e->mutable_processes(0)->set_last_use(e->clock() + 1);
       }},
      {"entities[0].sequences", [&](v1::Snapshot& s) { s.mutable_options()->set_sequence_model(false); }},
      {"options", [&](v1::Snapshot& s) { s.mutable_options()->set_sequence_length(9); }},
  };
  ExpectEachRefusedNaming(good, cases);
}

TEST(SequenceEngine, MergedEnginesKnowTheUnionOfSequences) {
  // Two engines, each seeing half of the replicas: merged, the tables
  // equal those of one engine that saw all (counts and exposure add).
  auto whole = *Engine::Create(SixHours());
  auto part_a = *Engine::Create(SixHours());
  auto part_b = *Engine::Create(SixHours());
  for (Engine* e : {whole.get(), part_a.get(), part_b.get()}) {
    RunService(*e, 4, 120, 6, [&](int r, int w, int64_t t) {
      if (w % 7 == 0 && r == 3) {
        e->Ingest(Exec(*e, t + kSecond, "web-3", "web", "/usr/bin/env"));
      }
    });
  }
  // Not a real split of replicas (every engine saw the same stream), but
  // merge must then double every count: the union with multiplicity.
  ASSERT_TRUE(part_a->Merge(*part_b).ok());
  const v1::Snapshot merged = Decoded(*part_a->Snapshot());
  const v1::Snapshot single = Decoded(*whole->Snapshot());
  ASSERT_EQ(merged.groups_size(), single.groups_size());
  for (int g = 0; g < merged.groups_size(); ++g) {
    for (int f = 0; f < 2; ++f) {
      const v1::SequenceTable& m = merged.groups(g).sequences().tables(f);
      const v1::SequenceTable& s = single.groups(g).sequences().tables(f);
      ASSERT_EQ(m.ids_size(), s.ids_size());
      for (int i = 0; i < m.ids_size(); ++i) {
        EXPECT_EQ(m.ids(i), s.ids(i));
        EXPECT_EQ(m.counts(i), std::min<uint32_t>(2 * s.counts(i), 65535));
      }
      EXPECT_EQ(m.windows(), 2 * s.windows());
      EXPECT_EQ(m.total(), 2 * s.total());
    }
  }
  EngineOptions longer = SixHours();
  longer.sequence_length = 4;
  auto other = *Engine::Create(longer);
  EXPECT_THAT(part_a->Merge(*other).message(), HasSubstr("sequence_length"));
}

}  // namespace
}  // namespace timescan
