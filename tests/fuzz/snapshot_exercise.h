// What fuzz_snapshot checks of one input, shared with snapshot_test, which
// replays the fuzzer's corpus without clang.

#ifndef TIMESCAN_TESTS_FUZZ_SNAPSHOT_EXERCISE_H_
#define TIMESCAN_TESTS_FUZZ_SNAPSHOT_EXERCISE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/snapshot.h"
#include "timescan/engine.h"

namespace timescan::fuzz {

// The snapshot bytes a fuzzer input stands for: its first byte picks raw
// bytes (even) or the rest wrapped in a valid frame (odd), so that the
// fuzzer reaches the protobuf message and every rule the decoder enforces.
inline std::string SnapshotBytesOfInput(std::string_view input) {
  if (input.empty()) return {};
  const std::string_view rest = input.substr(1);
  return (static_cast<uint8_t>(input[0]) & 1) != 0
             ? internal::FrameSnapshot(rest, kSnapshotFormatVersion)
             : std::string(rest);
}

// Restores `bytes` and exercises what restored: its own snapshot restores
// to the same bytes, and it takes events for its first symbols as entities,
// closes every window and scores. Returns "" when every check holds (a
// refusal with a message included), else the check that failed.
inline std::string ExerciseSnapshot(std::string_view bytes) {
  auto restored = Engine::FromSnapshot(bytes);
  if (!restored.ok()) {
    return restored.status().message().empty() ? "refused without a message" : "";
  }
  Engine& engine = **restored;
  const std::string again = *engine.Snapshot();
  auto twice = Engine::FromSnapshot(again);
  if (!twice.ok()) return "its own snapshot does not restore";
  if (*(*twice)->Snapshot() != again) return "its own snapshot restores to other bytes";
  const int64_t now = engine.stats().watermark_ns;
  const size_t symbols = engine.symbols().size();
  for (Symbol s = 1; s < symbols && s < 8; ++s) {
    Event event;
    event.time_ns = now + static_cast<int64_t>(s);
    event.entity = s;
    event.kind = static_cast<Kind>(s % kKindCount);
    event.subject = static_cast<Symbol>(symbols - s);
    engine.Ingest(event);
  }
  engine.AdvanceTo(now + 3'600'000'000'000LL);
  engine.Flush();
  return "";
}

}  // namespace timescan::fuzz

#endif  // TIMESCAN_TESTS_FUZZ_SNAPSHOT_EXERCISE_H_
