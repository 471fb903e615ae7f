// Snapshot encoding: the engine's state to and from the protobuf message of
// proto/timescan/v1/snapshot.proto, inside a frame that carries the format
// version and a checksum:
//
//   offset 0   8 bytes  magic "\x89TSNAP\r\n" (a text-mode transfer or a
//                       wrong file type shows at once)
//          8   uint32   format version, little-endian
//         12   uint32   CRC-32 (zlib) of the payload, little-endian
//         16   uint64   payload length in bytes, little-endian
//         24   payload  timescan.v1.Snapshot, binary protobuf

#ifndef TIMESCAN_LIB_ENGINE_SNAPSHOT_H_
#define TIMESCAN_LIB_ENGINE_SNAPSHOT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/engine_impl.h"

#include "timescan/v1/snapshot.pb.h"

namespace timescan::internal {

inline constexpr std::string_view kSnapshotMagic{"\x89TSNAP\r\n", 8};
inline constexpr size_t kSnapshotHeaderBytes = 24;

// Wraps a serialized payload in the frame.
std::string FrameSnapshot(std::string_view payload, uint32_t version);

// Checks the frame (magic, length, checksum, version) and returns the
// payload. kDataLoss for truncated or corrupt bytes, kInvalidArgument for a
// file that is not a snapshot or comes from a newer format.
absl::StatusOr<std::string_view> UnframeSnapshot(std::string_view bytes);

// Reads and writes the parts of the engine and its models that a snapshot
// holds; a friend of each, so their state stays private to everyone else.
class SnapshotCodec {
 public:
  static void Encode(const EngineImpl& engine, v1::Snapshot* out);

  // Validates everything: the result scores exactly as the engine that was
  // encoded would have.
  static absl::StatusOr<std::unique_ptr<EngineImpl>> Decode(const v1::Snapshot& in);

 private:
  static void EncodeTable(const CategoricalTable& table, v1::CategoricalTable* out);
  static void EncodeGroup(const GroupState& group, v1::Group* out);
  static void EncodeCounts(const CountBaseline& counts, v1::CountBaseline* out);
  static absl::Status DecodeCounts(const v1::CountBaseline& in, bool decaying,
                                   const std::string& path, CountBaseline* out);
  static void EncodeWindow(const WindowAccumulator& acc, v1::Window* out);
  static void EncodeConsensus(const GroupConsensus& consensus, v1::GroupConsensus* out);
  static void EncodeMetrics(const EntityMetrics& metrics, v1::EntityMetrics* out);
  static void EncodeHeld(const HeldFinding& held, v1::HeldFinding* out);
  static void EncodeMultivariate(const MultivariateBaseline& model, v1::MultivariateBaseline* out);
  static absl::Status DecodeMultivariate(const v1::MultivariateBaseline& in,
                                         const std::string& path, MultivariateBaseline* out);
  // `path` names the field in errors, e.g. "groups[2].tables[5]".
  static absl::Status DecodeTable(const v1::CategoricalTable& in, size_t symbol_count,
                                  uint32_t max_values, const std::string& path,
                                  CategoricalTable* out);
  // `decaying`: baseline_half_life is on, so window weights may be fractional.
  static absl::Status DecodeGroup(const v1::Group& in, size_t symbol_count, uint32_t max_values,
                                  bool decaying, const std::string& path, GroupState* out);
  static absl::Status DecodeWindow(const v1::Window& in, const EngineImpl& engine,
                                   const std::string& path, WindowAccumulator* out);
  // Decodes the entity's sequence state (its exec history, processes, and
  // its open windows' untracked n-grams and examples).
  static absl::Status DecodeSequences(const v1::Entity& in, const EngineImpl& engine,
                                      const std::string& path, EntityState* out);
  static absl::Status DecodeMetrics(const v1::EntityMetrics& in, const EngineImpl& engine,
                                    const std::string& path, EntityMetrics* out);
  static absl::Status DecodeConsensus(const v1::GroupConsensus& in, size_t symbol_count,
                                      const std::string& path, GroupConsensus* out);
  static absl::Status DecodeHeld(const v1::HeldFinding& in, const EngineImpl& engine,
                                 const std::string& path, HeldFinding* out);
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_SNAPSHOT_H_
