// libFuzzer target for Engine::FromSnapshot: see snapshot_exercise.h for how
// an input is read and what is checked of it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "snapshot_exercise.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!timescan::fuzz::ExerciseSnapshot(timescan::fuzz::SnapshotBytesOfInput(input)).empty()) {
    __builtin_trap();
  }
  return 0;
}
