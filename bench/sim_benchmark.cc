// Fleet simulator throughput.
//
//   build/bench/sim_benchmark --benchmark_counters_tabular=true
//
// BM_Sim_Next/<load x 10>: events a second from FleetSimulator::Next over
// the default 30 h scenario (all attacks, autoscaling, jobs), interning into
// a fresh table; the argument is the load times 10. BM_Sim_WriteJsonl: the
// same run written as native JSONL to a discarding stream (lines and bytes a
// second).

#include <ostream>
#include <streambuf>

#include "benchmark/benchmark.h"
#include "timescan/sim.h"

namespace timescan::sim {
namespace {

void BM_Sim_Next(benchmark::State& state) {
  FleetOptions options;
  options.load = static_cast<double>(state.range(0)) / 10;
  uint64_t events = 0;
  for (auto _ : state) {
    SymbolTable symbols;
    auto fleet = FleetSimulator::Create(options, symbols);
    if (!fleet.ok()) {
      state.SkipWithError("Create failed");
      return;
    }
    Event event;
    while ((*fleet)->Next(&event)) benchmark::DoNotOptimize(event);
    events += (*fleet)->events_emitted();
  }
  state.counters["events"] = static_cast<double>(events) / state.iterations();
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_Sim_Next)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

// A stream buffer that counts and discards.
class CountingBuf : public std::streambuf {
 public:
  uint64_t bytes = 0, lines = 0;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    bytes += static_cast<uint64_t>(n);
    for (std::streamsize i = 0; i < n; ++i) lines += s[i] == '\n';
    return n;
  }
  int_type overflow(int_type c) override {
    ++bytes;
    return c;
  }
};

void BM_Sim_WriteJsonl(benchmark::State& state) {
  FleetOptions options;
  uint64_t bytes = 0, lines = 0;
  for (auto _ : state) {
    CountingBuf events_buf, labels_buf;
    std::ostream events_out(&events_buf), labels_out(&labels_buf);
    if (!WriteJsonl(options, events_out, labels_out).ok()) {
      state.SkipWithError("WriteJsonl failed");
      return;
    }
    bytes += events_buf.bytes;
    lines += events_buf.lines;
  }
  state.SetItemsProcessed(static_cast<int64_t>(lines));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Sim_WriteJsonl)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace timescan::sim
