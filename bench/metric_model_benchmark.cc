// The metric model's cost and memory.
//
//   build/bench/metric_model_benchmark --benchmark_counters_tabular=true
//
// BM_MetricModel_ScoreUpdate: one window of one series scored and learned
// (after warm-up). BM_Engine_IngestMetrics: metric events through the
// engine, 1,000 entities with 3 metrics each, 4 samples per metric per
// 1-minute window, after learning; reports heap bytes per entity (entity
// state, windows and the three metric models, after warm-up).

#include <malloc.h>

#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "models/metric_model.h"
#include "timescan/engine.h"

namespace timescan {
namespace {

void BM_MetricModel_ScoreUpdate(benchmark::State& state) {
  internal::MetricModel model;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 1);
  int64_t w = 0;
  for (; w < 3000; ++w) {
    const double x = 10 + std::sin(w * 0.1) + noise(rng);
    model.Update(w, internal::MetricObservation{1, x, x, x}, nullptr, w >= 2000);
  }
  for (auto _ : state) {
    const double x = 10 + std::sin(w * 0.1) + noise(rng);
    const internal::MetricObservation o{1, x, x, x};
    const internal::MetricScore s = model.Score(w, o);
    model.Update(w, o, &s, true);
    benchmark::DoNotOptimize(s.p_value);
    ++w;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_series"] = static_cast<double>(model.MemoryBytes());
  state.counters["period"] = static_cast<double>(model.state().period);
}
BENCHMARK(BM_MetricModel_ScoreUpdate);

void BM_Engine_IngestMetrics(benchmark::State& state) {
  constexpr int64_t kMinute = 60'000'000'000;
  constexpr int64_t kStart = 1'793'577'600'000'000'000;
  const int entities = static_cast<int>(state.range(0));
  EngineOptions options;
  options.learning_period = absl::Hours(1);
  auto engine = *Engine::Create(options);
  std::vector<Symbol> names, metrics;
  for (int e = 0; e < entities; ++e) names.push_back(engine->Intern(absl::StrCat("container-", e)));
  for (const char* m : {"cpu", "memory", "network"}) metrics.push_back(engine->Intern(m));
  std::mt19937_64 rng(2);
  std::normal_distribution<double> noise(0, 1);
  int64_t minute = 0;
  auto make_minute = [&](std::vector<Event>& out) {
    out.clear();
    for (int k = 0; k < 4; ++k) {
      for (int e = 0; e < entities; ++e) {
        for (Symbol m : metrics) {
          Event ev;
          ev.time_ns = kStart + minute * kMinute + k * kMinute / 4;
          ev.entity = names[e];
          ev.kind = Kind::kMetric;
          ev.subject = m;
          ev.value = 50 + noise(rng);
          ev.has_value = true;
          out.push_back(ev);
        }
      }
    }
    ++minute;
  };
  std::vector<Event> batch;
  const auto before = static_cast<double>(mallinfo2().uordblks);
  for (int i = 0; i < 65; ++i) {  // learning and warm-up, outside the timed loop
    make_minute(batch);
    engine->Ingest(absl::MakeConstSpan(batch));
  }
  const auto after = static_cast<double>(mallinfo2().uordblks);
  for (auto _ : state) {
    state.PauseTiming();
    make_minute(batch);
    state.ResumeTiming();
    engine->Ingest(absl::MakeConstSpan(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.counters["bytes_per_entity"] = (after - before) / entities;
}
BENCHMARK(BM_Engine_IngestMetrics)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace timescan
