#include "readers/falco.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "status_macros.h"
#include "simdjson.h"

namespace timescan::internal {
namespace {


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
// The same with their path, for errors.
constexpr std::array<std::string_view, kStringFieldCount> kStringFieldPaths = {
    "output_fields.container.id", "output_fields.container.image.repository",
    "output_fields.evt.type",     "output_fields.fd.name",
    "output_fields.fd.sip",       "output_fields.fd.cip",
    "output_fields.fs.path.name", "output_fields.proc.exepath",
    "output_fields.proc.name",    "output_fields.proc.cmdline",
    "output_fields.proc.pname",   "output_fields.proc.pexepath",
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
  // Without the syscall the direction is unknown; outbound is the common
  // case of rules that print a server address or a connection tuple.
  if (!a.field(kFdSip).empty() || IsSocketTuple(a.field(kFdName))) return Kind::kConnect;
  if (!a.field(kFdCip).empty()) return Kind::kAccept;
  if (!a.field(kFdName).empty() || !a.field(kFsPathName).empty()) return Kind::kFile;
  if (!ProcessName(a).empty()) return Kind::kExec;
  return std::nullopt;
}

// Returns why a valid alert describes no container activity, or "".
std::string_view SkipReason(const Alert& a) {
  // Internal records share the alert channel but describe Falco itself.
  if (a.rule == "Falco internal: metrics snapshot") return kSkipMetrics;
  if (a.source == "internal" || a.rule.substr(0, 14) == "Falco internal") return kSkipInternal;
  // Plugin sources (k8s_audit, cloudtrail, gcp_auditlog, ...) describe API
  // calls, not container activity; old Falco wrote no source for syscalls.
  if (!a.source.empty() && a.source != "syscall") return kSkipPluginSource;
  if (a.field(kContainerId).empty()) return kSkipNoContainer;
  return {};
}

class FalcoDecoder final : public RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override;

 private:
  absl::Status ReadAlert(simdjson::ondemand::object& object, Alert* alert);
  absl::Status ReadOutputFields(simdjson::ondemand::object& object, Alert* alert);
  // Sets the subject and actor of `event` (its kind set) from `a`.
  void SetSubjectAndActor(const Alert& a, SymbolTable& symbols, Event* event);
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
  return ForEachField(object, "output_fields", [&](std::string_view key,
                                                   simdjson::ondemand::value value) {
    if (key == "evt.time") {
      RETURN_IF_ERROR(seen.Mark(kEvtTime, "output_fields.evt.time"));
      return ReadOptionalInteger(value, "output_fields.evt.time", 0,
                                 std::numeric_limits<int64_t>::max(), &alert->evt_time,
                                 &alert->has_evt_time);
    }
    if (key == "fd.sport") {
      RETURN_IF_ERROR(seen.Mark(kFdSport, "output_fields.fd.sport"));
      return ReadOptionalInteger(value, "output_fields.fd.sport", 0, 65535, &alert->sport,
                                 &alert->has_sport);
    }
    for (int f = 0; f < kStringFieldCount; ++f) {
      if (key != kStringFieldNames[f]) continue;
      RETURN_IF_ERROR(seen.Mark(f, kStringFieldPaths[f]));
      return ReadOptionalString(value, kStringFieldPaths[f], &alert->fields[f]);
    }
    // Other keys (user.name, k8s.*, ka.*, proc.aname[2], ...) are skipped.
    return absl::OkStatus();
  });
}

absl::Status FalcoDecoder::ReadAlert(simdjson::ondemand::object& object, Alert* alert) {
  SeenFields seen;
  return ForEachField(object, "", [&](std::string_view key, simdjson::ondemand::value value) {
    if (key == "time") {
      RETURN_IF_ERROR(seen.Mark(kTime, key));
      alert->has_time = true;
      return ReadRfc3339(value, key, &alert->time_ns);
    }
    if (key == "rule") {
      RETURN_IF_ERROR(seen.Mark(kRule, key));
      RETURN_IF_ERROR(ReadOptionalString(value, key, &alert->rule));
      alert->has_rule = !alert->rule.empty();
      return absl::OkStatus();
    }
    if (key == "source") {
      RETURN_IF_ERROR(seen.Mark(kSource, key));
      return ReadOptionalString(value, key, &alert->source);
    }
    if (key == "hostname") {
      RETURN_IF_ERROR(seen.Mark(kHostname, key));
      return ReadOptionalString(value, key, &alert->hostname);
    }
    if (key != "output_fields") return absl::OkStatus();
    RETURN_IF_ERROR(seen.Mark(kOutputFields, key));
    simdjson::ondemand::object fields;
    RETURN_IF_ERROR(ReadOptionalObject(value, key, &fields, &alert->has_output_fields));
    return alert->has_output_fields ? ReadOutputFields(fields, alert) : absl::OkStatus();
  });
}

std::string_view FalcoDecoder::Destination(const Alert& a) {
  if (!a.field(kFdSip).empty()) {
    if (!a.has_sport) return a.field(kFdSip);
    destination_.clear();
    absl::StrAppend(&destination_, ToAbsl(a.field(kFdSip)), ":", a.sport);
    return destination_;
  }
  const std::string_view fd_name = a.field(kFdName);
  const size_t arrow = fd_name.find("->");
  return arrow == std::string_view::npos ? std::string_view() : fd_name.substr(arrow + 2);
}

std::string_view FalcoDecoder::Peer(const Alert& a) {
  if (!a.field(kFdCip).empty()) return a.field(kFdCip);
  const std::string_view fd_name = a.field(kFdName);
  const size_t arrow = fd_name.find("->");
  if (arrow == std::string_view::npos) return {};
  const std::string_view client = fd_name.substr(0, arrow);
  return client.substr(0, client.rfind(':'));
}

void FalcoDecoder::SetSubjectAndActor(const Alert& a, SymbolTable& symbols, Event* event) {
  std::string_view subject;
  std::string_view actor = ProcessName(a);
  switch (event->kind) {
    case Kind::kExec:
      subject = ProcessName(a);
      actor = a.field(kProcPexepath).empty() ? a.field(kProcPname) : a.field(kProcPexepath);
      break;
    case Kind::kConnect:
      subject = Destination(a);
      break;
    case Kind::kAccept:
      subject = Peer(a);
      break;
    case Kind::kFile:
      subject = a.field(kFdName).empty() ? a.field(kFsPathName) : a.field(kFdName);
      break;
    default:
      subject = a.field(kEvtType);
      break;
  }
  event->subject = symbols.Intern(subject);
  event->actor = symbols.Intern(actor);
}

absl::Status FalcoDecoder::Decode(std::string_view record, bool padded, SymbolTable& symbols,
                                  std::vector<Event>* out, std::string* skip_reason) {
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  RETURN_IF_ERROR(IterateObject(parser_, record, padded, &scratch_, "one JSON object per line",
                                &doc, &object));
  Alert a;
  RETURN_IF_ERROR(ReadAlert(object, &a));
  RETURN_IF_ERROR(ExpectDocumentEnd(doc));
  if (!a.has_rule) return FieldError("rule", "missing; expected the name of the Falco rule");
  if (!a.has_output_fields) {
    return FieldError("output_fields", "missing; expected the object of the rule's fields");
  }
  if (const std::string_view reason = SkipReason(a); !reason.empty()) {
    *skip_reason = reason;
    return absl::OkStatus();
  }
  const std::optional<Kind> kind = KindOfAlert(a);
  if (!kind) {
    *skip_reason = kSkipNoActivity;
    return absl::OkStatus();
  }
  if (!a.has_time && !a.has_evt_time) {
    return FieldError("time", "missing; expected an RFC 3339 time (or output_fields.evt.time)");
  }

  Event event;
  event.time_ns = a.has_time ? a.time_ns : a.evt_time;
  event.kind = *kind;
  if (a.field(kContainerId) == "host") {
    event.entity = symbols.Intern(HostEntity(a.hostname));
    event.group = symbols.Intern(kHostGroup);
  } else {
    event.entity = symbols.Intern(ShortContainerId(a.field(kContainerId)));
    event.group = symbols.Intern(a.field(kImageRepository));
  }
  SetSubjectAndActor(a, symbols, &event);
  out->push_back(event);
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<RecordDecoder> NewFalcoDecoder() { return std::make_unique<FalcoDecoder>(); }

}  // namespace timescan::internal
