// Learns two days of twenty replicas of a web service that runs one health
// check a minute, then sees a new executable in one replica: one finding.
#include <cstdio>
#include <string>

#include "timescan/engine.h"
#include "timescan/timestamps.h"

int main() {
  timescan::EngineOptions options;
  options.learning_period = absl::Hours(48);
  absl::StatusOr<std::unique_ptr<timescan::Engine>> engine = timescan::Engine::Create(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  int findings = 0;
  (*engine)->SetFindingCallback([&](const timescan::Finding& f) {
    ++findings;
    std::printf("%s\n", timescan::FindingToJson(f).c_str());
  });
  const int64_t start = *timescan::ParseRfc3339("2026-11-02T00:00:00Z");
  const int64_t minute = 60'000'000'000;
  timescan::EventBuilder builder((*engine)->symbols());
  builder.Group("registry.local/web").Kind(timescan::Kind::kExec).Actor("/usr/bin/node");
  // Events arrive in time order (a late one would be counted, not scored).
  for (int64_t m = 0; m < 50 * 60; ++m) {
    for (int replica = 0; replica < 20; ++replica) {
      builder.Entity("web-" + std::to_string(replica)).Subject("/usr/bin/health");
      (*engine)->Ingest(builder.Time(start + m * minute + replica).Build());
    }
    if (m == 49 * 60) {
      (*engine)->Ingest(
          builder.Time(start + m * minute + 30).Entity("web-2").Subject("/tmp/.x/xmrig").Build());
    }
  }
  (*engine)->Flush();
  if (findings == 0 || (*engine)->stats().late_events != 0) {
    std::fprintf(stderr, "consumer: expected a finding for the new executable\n");
    return 1;
  }
  std::printf("consumer: %d finding(s)\n", findings);
  return 0;
}
