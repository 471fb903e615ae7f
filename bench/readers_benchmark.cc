// Reader throughput on one core, from memory, over the real samples in
// tests/data/readers repeated to about 16 MB:
//
//   build/bench/readers_benchmark --benchmark_counters_tabular=true
//
// BM_Decode_<format>: parse and map only, one record at a time through the
// format's decoder (what the >= 500 MB/s target of each JSON reader is
// about). BM_Read_<format>: the whole EventReader from an in-memory input:
// line splitting, detection, counting and the event queue on top.
// Counters: bytes_per_second (input bytes) and items_per_second (records).
//
// Measured 2026-11-28 on the shared 2-core build machine (x86-64 with AVX2,
// GCC 12 -O3, Debian simdjson 3.0.1), median CPU time of 3 runs, MB/s:
//
//   benchmark                  -march=x86-64-v3   no -march
//   BM_Decode_Falco                  699             822
//   BM_Decode_Tetragon               697             922
//   BM_Decode_CloudTrail             669             676
//   BM_Decode_Native                 443             486
//   BM_Read_Falco                    495             499
//   BM_Read_Tetragon                 576             604
//   BM_Read_CloudTrail               527             563
//   BM_Read_CloudTrailDocument       234             216
//   BM_Read_Native                   310             347
//   BM_Read_Csv                      186             180
//   BM_Read_Proto                    368             274
//
// Debian's simdjson runs On-Demand's stage 1 and string unescaping in
// libsimdjson.so, which picks its kernel (haswell here) at run time: the
// -march of timescan's code does not change the JSON decoders. The machine
// was loaded by other builds (load 5 on 2 cores): runs differ by up to 20%.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "readers/cloudtrail.h"
#include "readers/falco.h"
#include "readers/native_jsonl.h"
#include "readers/proto_stream.h"
#include "readers/record_decoder.h"
#include "readers/tetragon.h"
#include "simdjson.h"
#include "timescan/reader.h"

namespace timescan {
namespace {

constexpr size_t kTargetBytes = size_t{16} << 20;

std::string ReadFile(const std::string& relative) {
  std::ifstream in(std::string(TIMESCAN_TEST_DATA_DIR) + "/readers/" + relative,
                   std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The samples' lines repeated to about kTargetBytes, one record per line.
std::string Repeat(const std::string& lines) {
  std::string out;
  if (lines.empty()) return out;
  while (out.size() < kTargetBytes) out += lines;
  return out;
}

std::string FalcoInput() {
  return Repeat(ReadFile("falco/falco-website-docs-alerts.jsonl") +
                ReadFile("falco/falcosecurity-readmes-alerts.jsonl") +
                ReadFile("falco/falco-test-single_rule_with_cat_write.jsonl"));
}

std::string TetragonInput() {
  return Repeat(ReadFile("tetragon/security-observability-with-ebpf-book.jsonl") +
                ReadFile("tetragon/tetragon-docs-examples.jsonl") +
                ReadFile("tetragon/tetragon-testdata-events.jsonl"));
}

std::string CloudTrailInput() {
  return Repeat(ReadFile("cloudtrail/otrf-ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl"));
}

// Pretty-printed JSON arrays one after another, as `cat *.json` gives.
std::string CloudTrailDocumentInput() {
  std::string docs;
  for (const char* name : {"aws.credential-access.ec2-get-password-data.json",
                           "aws.execution.ssm-send-command.json",
                           "aws.discovery.ec2-download-user-data.json"}) {
    docs += ReadFile(std::string("cloudtrail/stratus-red-team-detonation-logs/") + name) + "\n";
  }
  return Repeat(docs);
}

std::string NativeInput() {
  std::string lines;
  for (int i = 0; i < 1000; ++i) {
    lines += R"({"time":"2026-11-02T10:00:00.)" + std::to_string(100000000 + i) +
             R"(Z","entity":"container-)" + std::to_string(i % 50) +
             R"(","group":"registry.local/app-3","kind":"connect","subject":"10.0.)" +
             std::to_string(i % 7) + R"(.1:443","actor":"/usr/bin/curl","value":1234})" "\n";
  }
  return Repeat(lines);
}

// Decodes every line of `input` with `decoder`, records parsed in place.
void RunDecoder(benchmark::State& state, internal::RecordDecoder& decoder,
                const std::string& input) {
  std::string padded = input;
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < input.size();) {
    size_t end = input.find('\n', pos);
    if (end == std::string::npos) end = input.size();
    if (end > pos) lines.emplace_back(padded.data() + pos, end - pos);
    pos = end + 1;
  }
  SymbolTable symbols;
  std::vector<Event> events;
  std::string skip_reason;
  int64_t errors = 0;
  for (auto _ : state) {
    for (std::string_view line : lines) {
      events.clear();
      if (!decoder.Decode(line, /*padded=*/true, symbols, &events, &skip_reason).ok()) ++errors;
      benchmark::DoNotOptimize(events.data());
    }
  }
  if (errors > 0) state.SkipWithError("a sample record failed to decode");
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
}

class NativeRecordDecoder final : public internal::RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string*) override {
    Event e;
    absl::Status s = decoder_.Decode(record, padded, symbols, &e);
    if (s.ok()) out->push_back(e);
    return s;
  }

 private:
  internal::NativeJsonDecoder decoder_;
};

void BM_Decode_Falco(benchmark::State& state) {
  static const std::string input = FalcoInput();
  auto decoder = internal::NewFalcoDecoder();
  RunDecoder(state, *decoder, input);
}
BENCHMARK(BM_Decode_Falco)->Unit(benchmark::kMillisecond);

void BM_Decode_Tetragon(benchmark::State& state) {
  static const std::string input = TetragonInput();
  auto decoder = internal::NewTetragonDecoder();
  RunDecoder(state, *decoder, input);
}
BENCHMARK(BM_Decode_Tetragon)->Unit(benchmark::kMillisecond);

void BM_Decode_CloudTrail(benchmark::State& state) {
  static const std::string input = CloudTrailInput();
  auto decoder = internal::NewCloudTrailDecoder();
  RunDecoder(state, *decoder, input);
}
BENCHMARK(BM_Decode_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_Decode_Native(benchmark::State& state) {
  static const std::string input = NativeInput();
  NativeRecordDecoder decoder;
  RunDecoder(state, decoder, input);
}
BENCHMARK(BM_Decode_Native)->Unit(benchmark::kMillisecond);

// Reads all of `input` through EventReader.
void RunReader(benchmark::State& state, const std::string& input, Format format) {
  int64_t records = 0;
  for (auto _ : state) {
    SymbolTable symbols;
    ReaderOptions options;
    options.format = format;
    auto reader = EventReader::OpenBytes(input, "bench", symbols, options);
    if (!reader.ok()) {
      state.SkipWithError("open failed");
      return;
    }
    Event event;
    while (true) {
      absl::StatusOr<bool> got = (*reader)->Next(&event);
      if (got.ok() && !*got) break;
      benchmark::DoNotOptimize(event);
    }
    records = static_cast<int64_t>((*reader)->stats().records);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
  state.SetItemsProcessed(state.iterations() * records);
}

void BM_Read_Falco(benchmark::State& state) {
  static const std::string input = FalcoInput();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_Falco)->Unit(benchmark::kMillisecond);

void BM_Read_Tetragon(benchmark::State& state) {
  static const std::string input = TetragonInput();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_Tetragon)->Unit(benchmark::kMillisecond);

void BM_Read_CloudTrail(benchmark::State& state) {
  static const std::string input = CloudTrailInput();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_Read_CloudTrailDocument(benchmark::State& state) {
  static const std::string input = CloudTrailDocumentInput();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_CloudTrailDocument)->Unit(benchmark::kMillisecond);

void BM_Read_Native(benchmark::State& state) {
  static const std::string input = NativeInput();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_Native)->Unit(benchmark::kMillisecond);

void BM_Read_Csv(benchmark::State& state) {
  static const std::string input = [] {
    std::string lines = "time,entity,group,kind,subject,actor,value\n";
    std::string rows;
    for (int i = 0; i < 1000; ++i) {
      rows += "2026-11-02T10:00:00.123Z,container-" + std::to_string(i % 50) +
              ",registry.local/app-3,connect,10.0.0.1:443,/usr/bin/curl,1234\n";
    }
    return lines + Repeat(rows);
  }();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_Csv)->Unit(benchmark::kMillisecond);

void BM_Read_Proto(benchmark::State& state) {
  static const std::string input = [] {
    SymbolTable symbols;
    std::string stream;
    for (int i = 0; stream.size() < kTargetBytes; ++i) {
      internal::AppendDelimitedEvent(EventBuilder(symbols)
                                         .Time(1'793'577'600'000'000'000 + i)
                                         .Entity("container-" + std::to_string(i % 50))
                                         .Group("registry.local/app-3")
                                         .Kind(Kind::kConnect)
                                         .Subject("10.0.0.1:443")
                                         .Actor("/usr/bin/curl")
                                         .Value(1234)
                                         .Build(),
                                     symbols, &stream);
    }
    return stream;
  }();
  RunReader(state, input, Format::kAuto);
}
BENCHMARK(BM_Read_Proto)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace timescan
