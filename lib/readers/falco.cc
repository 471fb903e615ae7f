#include "readers/falco.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "simdjson.h"

namespace timescan::internal {
namespace {

using simdjson::ondemand::json_type;

constexpr std::string_view kSkipMetrics = "falco metrics snapshot";
constexpr std::string_view kSkipInternal = "falco internal event";
constexpr std::string_view kSkipPluginSource = "falco alert from a plugin source";
constexpr std::string_view kSkipNoContainer = "falco alert without container.id";
constexpr std::string_view kSkipNoActivity = "falco alert without evt.type, fd or proc fields";

// The top-level fields read; the rest (output, priority, tags...) are skipped.
enum TopField { kTime, kRule, kSource, kHostname, kOutputFields };

// The output_fields keys read, as string values unless noted.
enum OutputField {
  kContainerId,
  kImageRepository,
  kEvtType,
  kFdName,
  kFdSip,
  kFdCip,
  kFsPathName,
  kProcExepath,
  kProcName,
  kProcCmdline,
  kProcPname,
  kProcPexepath,
  kStringFieldCount,
  kEvtTime = kStringFieldCount,  // integer nanoseconds
  kFdSport,                      // integer port
};

constexpr std::array<std::string_view, kStringFieldCount> kStringFieldNames = {
    "container.id", "container.image.repository", "evt.type", "fd.name", "fd.sip",
    "fd.cip",       "fs.path.name",               "proc.exepath", "proc.name",
    "proc.cmdline", "proc.pname",                 "proc.pexepath",
};

// Syscalls whose fd or path is a file (read and write are left out: their fd
// may as well be a socket or a pipe).
constexpr std::array<std::string_view, 24> kFileSyscalls = {
    "open",     "openat",   "openat2",   "creat",   "open_by_handle_at", "unlink",
    "unlinkat", "rename",   "renameat",  "renameat2", "mkdir",           "mkdirat",
    "rmdir",    "chmod",    "fchmod",    "fchmodat", "chown",            "lchown",
    "fchown",   "fchownat", "link",      "linkat",   "symlink",          "symlinkat",
};

// What one alert says, as views into the parser's buffers.
struct Alert {
  std::string_view rule, source, hostname;
  bool has_rule = false;
  bool has_output_fields = false;
  bool has_time = false;
  int64_t time_ns = 0;
  std::array<std::string_view, kStringFieldCount> fields;
  bool has_evt_time = false;
  int64_t evt_time = 0;
  bool has_sport = false;
  int64_t sport = 0;

  std::string_view field(OutputField f) const { return fields[f]; }
};

bool IsSocketTuple(std::string_view fd_name) {
  return fd_name.find("->") != std::string_view::npos;
}

// Returns the name of the process: its exe path, else its name, else the
// first word of its command line (rules often print only proc.cmdline).
std::string_view ProcessName(const Alert& a) {
  if (!a.field(kProcExepath).empty()) return a.field(kProcExepath);
  if (!a.field(kProcName).empty()) return a.field(kProcName);
  std::string_view cmdline = a.field(kProcCmdline);
  return cmdline.substr(0, cmdline.find(' '));
}

Kind KindOfSyscall(std::string_view syscall) {
  if (syscall == "execve" || syscall == "execveat") return Kind::kExec;
  if (syscall == "connect") return Kind::kConnect;
  if (syscall == "accept" || syscall == "accept4") return Kind::kAccept;
  for (std::string_view file : kFileSyscalls) {
    if (syscall == file) return Kind::kFile;
  }
  return Kind::kSyscall;
}

// Decides the kind from the fields the rule printed (which reflect its
// family): the syscall when printed, else the fd, else the process.
std::optional<Kind> KindOfAlert(const Alert& a) {
  if (!a.field(kEvtType).empty()) return KindOfSyscall(a.field(kEvtType));
  const bool server_side = !a.field(kFdSip).empty() || IsSocketTuple(a.field(kFdName));
  if (server_side) return Kind::kConnect;
  if (!a.field(kFdCip).empty()) return Kind::kAccept;
  if (!a.field(kFdName).empty() || !a.field(kFsPathName).empty()) return Kind::kFile;
  if (!ProcessName(a).empty()) return Kind::kExec;
  return std::nullopt;
}

class FalcoDecoder final : public RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override;

 private:
  absl::Status ReadAlert(simdjson::ondemand::object& object, Alert* alert);
  absl::Status ReadOutputFields(simdjson::ondemand::object& object, Alert* alert);
  // Returns the destination of a connect ("10.96.0.1:443").
  std::string_view Destination(const Alert& a);
  // Returns the peer of an accept: the client address without its
  // ephemeral port.
  static std::string_view Peer(const Alert& a);

  simdjson::ondemand::parser parser_;
  std::string scratch_;
  std::string destination_;
};

absl::Status FalcoDecoder::ReadOutputFields(simdjson::ondemand::object& object, Alert* alert) {
  SeenFields seen;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError("output_fields", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError("output_fields", e);
    simdjson::ondemand::value value = field.value();
    if (key == "evt.time") {
      RETURN_IF_ERROR_FALCO(seen.Mark(kEvtTime, "output_fields.evt.time"));
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace timescan::internal
