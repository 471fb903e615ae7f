// Engine throughput and memory.
//
//   build/bench/engine_benchmark --benchmark_counters_tabular=true
//
// BM_Engine_Ingest: in-memory events, default models, 1,000 entities in 50
// groups, after learning (every window is scored). BM_Cli_Jsonl: native
// JSONL from a file through EventReader into the engine, as `timescan score`
// does. BM_Engine_MemoryPerEntity: heap bytes per live entity. BM_Snapshot
// and BM_Restore: snapshot size per entity and per group, and speed.

#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "timescan/engine.h"
#include "timescan/reader.h"
#include "readers/native_jsonl.h"
#include "timescan/timestamps.h"

namespace timescan {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kStart = 1'793'577'600 * kSecond;  // 2026-11-02T00:00:00Z

// One hour of a fleet: `entities` containers in groups of 20, each emitting
// `per_minute` events a minute (requests, connects, a few execs), with
// routes that sometimes carry an id.
std::vector<Event> MakeHour(SymbolTable& symbols, int entities, int per_minute, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Symbol> entity_symbols, group_symbols, routes, dests, execs;
  for (int e = 0; e < entities; ++e) {
    entity_symbols.push_back(symbols.Intern(absl::StrCat("container-", e)));
    group_symbols.push_back(symbols.Intern(absl::StrCat("registry.local/app-", e / 20)));
  }
  for (int i = 0; i < 20; ++i) routes.push_back(symbols.Intern(absl::StrCat("/api/v1/r", i)));
  for (int i = 0; i < 200; ++i) routes.push_back(symbols.Intern(absl::StrCat("/api/orders/", i)));
  for (int i = 0; i < 8; ++i) dests.push_back(symbols.Intern(absl::StrCat("10.0.0.", i, ":443")));
  for (int i = 0; i < 4; ++i) execs.push_back(symbols.Intern(absl::StrCat("/usr/bin/tool", i)));
  const Symbol client = symbols.Intern("client");
  const Symbol node = symbols.Intern("/usr/bin/node");
  std::vector<Event> events;
  events.reserve(static_cast<size_t>(entities) * per_minute * 60);
  for (int minute = 0; minute < 60; ++minute) {
    for (int i = 0; i < entities * per_minute; ++i) {
      const int e = static_cast<int>(rng() % entities);
      Event ev;
      ev.time_ns = kStart + minute * kMinute + (static_cast<int64_t>(i) * kMinute) / (entities * per_minute);
      ev.entity = entity_symbols[e];
      ev.group = group_symbols[e];
      const uint64_t r = rng() % 100;
      if (r < 80) {
        ev.kind = Kind::kRequest;
        ev.subject = routes[rng() % routes.size()];
        ev.actor = client;
        ev.value = 12.5;
        ev.has_value = true;
        ev.status = 200;
        ev.has_status = true;
      } else if (r < 99) {
        ev.kind = Kind::kConnect;
        ev.subject = dests[rng() % dests.size()];
        ev.actor = node;
      } else {
        ev.kind = Kind::kExec;
        ev.subject = execs[rng() % execs.size()];
        ev.actor = node;
      }
      events.push_back(ev);
    }
  }
  return events;
}

void BM_Engine_Ingest(benchmark::State& state) {
  const int entities = static_cast<int>(state.range(0));
  EngineOptions options;
  options.learning_period = absl::Hours(1);
  options.categorical_model = state.range(1) & 1;
  // The mix model (off by default) reads the categorical tables: bit 8 adds it.
  options.mix_model = (state.range(1) & 1) && (state.range(1) & 8);
  options.count_model = state.range(1) & 2;
  options.value_model = state.range(1) & 4;
  auto engine = *Engine::Create(options);
  const std::vector<Event> hour = MakeHour(engine->symbols(), entities, 100, 1);
  uint64_t findings = 0;
  engine->SetFindingCallback([&](const Finding&) { ++findings; });
  // Learn for the first hour outside the timed loop.
  for (const Event& e : hour) engine->Ingest(e);
  int64_t offset = kHour;
  size_t next = 0;
  constexpr size_t kBatch = 100'000;
  std::vector<Event> batch(kBatch);
  for (auto _ : state) {
    // The next batch, an hour later each time round: the benchmark's input,
    // not the engine's work, so untimed (until 2026-12-02 it was timed; on
    // its own the copy takes 0.3-0.5 ms, against 10-14 ms for the batch).
    state.PauseTiming();
    for (size_t i = 0; i < kBatch; ++i) {
      batch[i] = hour[next];
      batch[i].time_ns += offset;
      if (++next == hour.size()) {
        next = 0;
        offset += kHour;
      }
    }
    state.ResumeTiming();
    engine->Ingest(absl::MakeConstSpan(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["windows_scored"] = static_cast<double>(engine->stats().windows_scored);
  state.counters["findings"] = static_cast<double>(findings);
}
// Second argument: the models on (1 categorical, 2 count, 4 value, 8 the mix
// model, which needs 1); 7 is the default set.
BENCHMARK(BM_Engine_Ingest)->Args({1000, 7})->Args({1000, 15})->Args({1000, 0})->Args({1000, 1})->Args({1000, 2})->Args({1000, 4})->Unit(benchmark::kMillisecond);
// The default set for a fixed 30 batches (half an hour after the learned
// hour): the same work every run, for instruction and cache-miss counts
// that do not depend on the machine's load:
//   valgrind --tool=cachegrind --cache-sim=yes --LL=1048576,16,64 \
//     build/bench/engine_benchmark --benchmark_filter=BM_Engine_Ingest_FixedWork
BENCHMARK(BM_Engine_Ingest)->Name("BM_Engine_Ingest_FixedWork")->Args({1000, 7})->Iterations(30)->Unit(benchmark::kMillisecond);

// Heap bytes in use, including blocks glibc serves with mmap (128 KiB and
// up, such as the engine's array of entity records): until 2026-12-03 only
// uordblks was counted, which left those out.
double HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

void BM_Engine_MemoryPerEntity(benchmark::State& state) {
  const int entities = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    EngineOptions options;
    options.learning_period = absl::Minutes(30);
    auto engine = *Engine::Create(options);
    // Symbols are interned here, so the heap growth below is entity and
    // group state only.
    std::vector<Event> hour = MakeHour(engine->symbols(), entities, 100, 2);
    const auto before = HeapBytes();
    state.ResumeTiming();
    for (const Event& e : hour) engine->Ingest(e);
    state.PauseTiming();
    const auto after = HeapBytes();
    // Groups are shared by 20 entities each; their share is included.
    state.counters["bytes_per_entity"] = (after - before) / entities;
    state.counters["groups"] = static_cast<double>(engine->stats().groups);
    state.counters["live_entities"] = static_cast<double>(engine->stats().entities_live);
    hour.clear();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Engine_MemoryPerEntity)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Snapshot size and speed on the fleet of BM_Engine_MemoryPerEntity after an
// hour (30 minutes learned, 30 scored). bytes_per_entity: what live entities
// and their open windows add; bytes_per_group: the rest (baselines, and the
// symbols, which a snapshot keeps whole) per group.
void BM_Snapshot(benchmark::State& state) {
  const int entities = static_cast<int>(state.range(0));
  EngineOptions options;
  options.learning_period = absl::Minutes(30);
  auto engine = *Engine::Create(options);
  std::vector<Event> hour = MakeHour(engine->symbols(), entities, 100, 2);
  for (const Event& e : hour) engine->Ingest(e);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string snapshot = *engine->Snapshot();
    bytes = snapshot.size();
    benchmark::DoNotOptimize(snapshot.data());
  }
  const double groups = static_cast<double>(engine->stats().groups);
  // Past the idle TTL every entity retires: what is left is per group.
  engine->AdvanceTo(kStart + 3 * kHour);
  const double group_bytes = static_cast<double>(engine->Snapshot()->size());
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_entity"] = (static_cast<double>(bytes) - group_bytes) / entities;
  state.counters["bytes_per_group"] = group_bytes / groups;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Snapshot)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Restore(benchmark::State& state) {
  const int entities = static_cast<int>(state.range(0));
  EngineOptions options;
  options.learning_period = absl::Minutes(30);
  auto engine = *Engine::Create(options);
  for (const Event& e : MakeHour(engine->symbols(), entities, 100, 2)) engine->Ingest(e);
  const std::string snapshot = *engine->Snapshot();
  for (auto _ : state) {
    auto restored = Engine::FromSnapshot(snapshot);
    benchmark::DoNotOptimize(restored->get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * snapshot.size()));
}
BENCHMARK(BM_Restore)->Arg(1000)->Unit(benchmark::kMillisecond);

// Writes native JSONL for the benchmark once.
std::string WriteJsonl(int entities, int per_minute) {
  const std::string path = absl::StrCat("/tmp/timescan_bench_", entities, "_", per_minute, ".jsonl");
  SymbolTable symbols;
  const std::vector<Event> hour = MakeHour(symbols, entities, per_minute, 3);
  std::ofstream out(path);
  for (const Event& e : hour) {
    out << "{\"time\":\"" << FormatRfc3339(e.time_ns) << "\",\"entity\":\"" << symbols.Name(e.entity)
        << "\",\"group\":\"" << symbols.Name(e.group) << "\",\"kind\":\"" << KindName(e.kind)
        << "\",\"subject\":\"" << symbols.Name(e.subject) << "\",\"actor\":\"" << symbols.Name(e.actor)
        << "\"";
    if (e.has_value) out << ",\"value\":" << e.value;
    if (e.has_status) out << ",\"status\":" << e.status;
    out << "}\n";
  }
  return path;
}

// Argument: 1 decodes on a second thread (ReaderOptions::decode_thread, as
// `timescan score` does for files on two cores); its figure is wall time,
// the one-core target's is BM_Cli_Jsonl/0.
void BM_Cli_Jsonl(benchmark::State& state) {
  // Written once, before the timed loop.
  static const std::string path = WriteJsonl(1000, 20);
  uint64_t lines = 0, bytes = 0;
  ReaderOptions reader_options;
  reader_options.decode_thread = state.range(0) == 1;
  for (auto _ : state) {
    EngineOptions options;
    options.learning_period = absl::Minutes(20);
    auto engine = *Engine::Create(options);
    auto reader = *EventReader::Open(path, engine->symbols(), reader_options);
    // As `timescan score` does: batches of 256 events.
    std::vector<Event> batch;
    Event event;
    while (true) {
      absl::StatusOr<bool> got = reader->Next(&event);
      if (!got.ok()) continue;
      if (!*got) break;
      batch.push_back(event);
      if (batch.size() == 256) {
        engine->Ingest(absl::MakeConstSpan(batch));
        batch.clear();
      }
    }
    engine->Ingest(absl::MakeConstSpan(batch));
    engine->Flush();
    lines += reader->stats().records;
  }
  std::ifstream in(path, std::ios::ate | std::ios::binary);
  bytes = static_cast<uint64_t>(in.tellg()) * state.iterations();
  state.SetItemsProcessed(static_cast<int64_t>(lines));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Cli_Jsonl)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cli_Jsonl)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// The reader half of BM_Cli_Jsonl: the same file through EventReader, no engine.
void BM_Read_Jsonl(benchmark::State& state) {
  static const std::string path = WriteJsonl(1000, 20);
  uint64_t lines = 0;
  for (auto _ : state) {
    SymbolTable symbols;
    auto reader = *EventReader::Open(path, symbols, {});
    Event event;
    while (true) {
      absl::StatusOr<bool> got = reader->Next(&event);
      if (!got.ok()) continue;
      if (!*got) break;
      benchmark::DoNotOptimize(event);
    }
    lines += reader->stats().records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(lines));
}
BENCHMARK(BM_Read_Jsonl)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace timescan

namespace timescan {
namespace {

// Native JSONL decoding alone (no engine), lines already in memory.
void BM_Decode_NativeJsonl(benchmark::State& state) {
  static const std::string path = WriteJsonl(1000, 20);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  SymbolTable symbols;
  internal::NativeJsonDecoder decoder;
  size_t next = 0;
  uint64_t bytes = 0;
  Event event;
  for (auto _ : state) {
    const std::string& line = lines[next];
    if (++next == lines.size()) next = 0;
    benchmark::DoNotOptimize(decoder.Decode(line, /*padded=*/false, symbols, &event));
    bytes += line.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Decode_NativeJsonl);

}  // namespace
}  // namespace timescan
