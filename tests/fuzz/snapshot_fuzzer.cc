// libFuzzer target for Engine::FromSnapshot. The first byte picks what the
// rest is: even, raw snapshot bytes (the frame's checks); odd, a payload
// that gets a valid frame, so that the fuzzer reaches the protobuf message
// and every rule the decoder enforces. Whatever restores must behave: it
// takes events for its entities, closes and scores their windows, and its
// own snapshot restores to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/snapshot.h"
#include "google/protobuf/stubs/logging.h"
#include "timescan/engine.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string bytes = (data[0] & 1) != 0
                                ? timescan::internal::FrameSnapshot(rest, timescan::kSnapshotFormatVersion)
                                : std::string(rest);
  auto restored = timescan::Engine::FromSnapshot(bytes);
  if (!restored.ok()) {
    Check(!restored.status().message().empty());
    return 0;
  }
  timescan::Engine& engine = **restored;
  const std::string again = *engine.Snapshot();
  auto twice = timescan::Engine::FromSnapshot(again);
  Check(twice.ok());
  Check(*(*twice)->Snapshot() == again);

  // Events for the first symbols as entities, at the newest time seen, then
  // every window closed: restored windows and baselines get scored.
  const timescan::EngineStats stats = engine.stats();
  const int64_t now = stats.watermark_ns;
  const size_t symbols = engine.symbols().size();
  for (timescan::Symbol s = 1; s < symbols && s < 8; ++s) {
    timescan::Event event;
    event.time_ns = now + static_cast<int64_t>(s);
    event.entity = s;
    event.kind = static_cast<timescan::Kind>(s % timescan::kKindCount);
    event.subject = static_cast<timescan::Symbol>(symbols - s);
    engine.Ingest(event);
  }
  engine.AdvanceTo(now + 3'600'000'000'000LL);
  engine.Flush();
  return 0;
}
