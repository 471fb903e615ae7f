// Helpers for tests that open snapshots up: decode a snapshot's protobuf
// message, frame a (possibly damaged) message again, and check that a
// damaged one is refused with an error naming the field.

#ifndef TIMESCAN_TESTS_ENGINE_SNAPSHOT_TESTING_H_
#define TIMESCAN_TESTS_ENGINE_SNAPSHOT_TESTING_H_

#include <functional>
#include <string>
#include <vector>

#include "engine/snapshot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "timescan/engine.h"

namespace timescan {

// Returns the message inside the framed snapshot `bytes`.
inline v1::Snapshot Decoded(const std::string& bytes) {
  v1::Snapshot message;
  EXPECT_TRUE(message.ParseFromString(std::string(*internal::UnframeSnapshot(bytes))));
  return message;
}

// Returns `message` framed as Engine::Snapshot() frames it.
inline std::string Framed(const v1::Snapshot& message) {
  return internal::FrameSnapshot(message.SerializeAsString(), kSnapshotFormatVersion);
}

// Expects `good` with `damage` applied to be refused as kInvalidArgument
// with a message that names `path`.
inline void ExpectRefusedNaming(const v1::Snapshot& good, const std::string& path,
                                const std::function<void(v1::Snapshot&)>& damage) {
  v1::Snapshot damaged = good;
  damage(damaged);
  const auto result = Engine::FromSnapshot(Framed(damaged));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << path;
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr(path)) << result.status();
}

// A damage to a snapshot message, and the field its refusal must name.
struct SnapshotDamage {
  std::string path;
  std::function<void(v1::Snapshot&)> damage;
};

// Expects `good` with each damage applied alone to be refused naming its
// path (ExpectRefusedNaming).
inline void ExpectEachRefusedNaming(const v1::Snapshot& good,
                                    const std::vector<SnapshotDamage>& damages) {
  for (const SnapshotDamage& d : damages) ExpectRefusedNaming(good, d.path, d.damage);
}

}  // namespace timescan

#endif  // TIMESCAN_TESTS_ENGINE_SNAPSHOT_TESTING_H_
