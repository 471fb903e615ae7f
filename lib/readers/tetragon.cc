#include "readers/tetragon.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "readers/json_fields.h"
#include "simdjson.h"
#include "status_macros.h"
#include "timescan/timestamps.h"

namespace timescan::internal {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

enum class Type { kNone, kExec, kExit, kKprobe, kConnect, kUnmapped };

// Types that are deliberately not mapped; each gets its own skip reason so
// the summary tells what a capture held. Any other "process_*" type is
// counted under kSkipUnknown (the reason set stays bounded).
constexpr std::array<std::string_view, 10> kUnmappedTypes = {
    "process_throttle", "process_tracepoint", "process_uprobe", "process_lsm",
    "process_loader",   "process_close",      "process_listen", "rate_limit_info",
    "test",             "process_usdt",
};
constexpr std::string_view kSkipUnknown = "tetragon unknown event type";

constexpr std::array<std::string_view, 31> kSignals = {
    "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP", "SIGABRT", "SIGBUS",  "SIGFPE",
    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",  "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",  "SIGPWR",  "SIGSYS",
};

// Returns the exit status a shell reports for death by `signal`: 128 plus
// its Linux number (128 alone for a name not in the table).
int32_t SignalStatus(std::string_view signal) {
  for (size_t i = 0; i < kSignals.size(); ++i) {
    if (kSignals[i] == signal) return 128 + static_cast<int32_t>(i) + 1;
  }
  return 128;
}

bool IsEventTypeKey(std::string_view key) {
  return absl::StartsWith(ToAbsl(key), "process_") || key == "rate_limit_info" || key == "test";
}

struct Process {
  std::string_view binary, docker, container_id, image, start_time;
};

// A socket address from sock_arg (daddr, dport) or sockaddr_arg (addr,
// port).
struct Address {
  std::string_view ip;
  bool has_port = false;
  int64_t port = 0;
};

// What one event says, as views into the parser's buffers.
struct TetragonEvent {
  Type type = Type::kNone;
  std::string_view type_name, node_name;
  bool has_time = false;
  int64_t time_ns = 0;
  bool has_process = false;
  Process process;
  std::string_view parent_binary;
  // process_kprobe
  std::string_view function_name, path;
  bool has_size = false;
  int64_t size = 0;
  Address sock, sockaddr;
  // process_exit
  std::string_view signal;
  bool has_status = false;
  int64_t status = 0;
  // process_connect
  Address destination;
};

absl::Status ReadImage(object& image, Process* p) {
  SeenFields seen;
  for (auto field_result : image) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError("process.pod.container.image", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError("process.pod.container.image", e);
    if (key == "name") {
      RETURN_IF_ERROR(seen.Mark(0, "process.pod.container.image.name"));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), "process.pod.container.image.name", &p->image));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadContainer(object& container, Process* p) {
  SeenFields seen;
  for (auto field_result : container) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError("process.pod.container", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError("process.pod.container", e);
    if (key == "id") {
      RETURN_IF_ERROR(seen.Mark(0, "process.pod.container.id"));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), "process.pod.container.id", &p->container_id));
    } else if (key == "image") {
      RETURN_IF_ERROR(seen.Mark(1, "process.pod.container.image"));
      object image;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "process.pod.container.image", &image, &present));
      if (present) RETURN_IF_ERROR(ReadImage(image, p));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadPod(object& pod, Process* p) {
  SeenFields seen;
  for (auto field_result : pod) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError("process.pod", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError("process.pod", e);
    if (key == "container") {
      RETURN_IF_ERROR(seen.Mark(0, "process.pod.container"));
      object container;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "process.pod.container", &container, &present));
      if (present) RETURN_IF_ERROR(ReadContainer(container, p));
    }
  }
  return absl::OkStatus();
}

// Reads the fields of "process" (or, with `parent`, of "parent": its binary
// only).
absl::Status ReadProcess(object& process, bool parent, Process* p) {
  const std::string_view where = parent ? "parent" : "process";
  SeenFields seen;
  for (auto field_result : process) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError(where, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError(where, e);
    if (key == "binary") {
      const std::string_view name = parent ? "parent.binary" : "process.binary";
      RETURN_IF_ERROR(seen.Mark(0, name));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), name, &p->binary));
    } else if (parent) {
      continue;
    } else if (key == "docker") {
      RETURN_IF_ERROR(seen.Mark(1, "process.docker"));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), "process.docker", &p->docker));
    } else if (key == "start_time") {
      RETURN_IF_ERROR(seen.Mark(2, "process.start_time"));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), "process.start_time", &p->start_time));
    } else if (key == "pod") {
      RETURN_IF_ERROR(seen.Mark(3, "process.pod"));
      object pod;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "process.pod", &pod, &present));
      if (present) RETURN_IF_ERROR(ReadPod(pod, p));
    }
  }
  return absl::OkStatus();
}

// Where the address of a socket argument is, and what to call its fields in
// errors.
struct AddressKeys {
  std::string_view where, ip_key, ip_field, port_key, port_field;
};
constexpr AddressKeys kSockKeys = {"args[].sock_arg", "daddr", "args[].sock_arg.daddr", "dport",
                                   "args[].sock_arg.dport"};
constexpr AddressKeys kSockaddrKeys = {"args[].sockaddr_arg", "addr", "args[].sockaddr_arg.addr",
                                       "port", "args[].sockaddr_arg.port"};

absl::Status ReadAddress(object& o, const AddressKeys& keys, Address* address) {
  SeenFields seen;
  for (auto field_result : o) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError(keys.where, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError(keys.where, e);
    if (key == keys.ip_key) {
      RETURN_IF_ERROR(seen.Mark(0, keys.ip_field));
      RETURN_IF_ERROR(ReadOptionalString(field.value(), keys.ip_field, &address->ip));
    } else if (key == keys.port_key) {
      RETURN_IF_ERROR(seen.Mark(1, keys.port_field));
      RETURN_IF_ERROR(ReadOptionalInteger(field.value(), keys.port_field, 0, 65535,
                                          &address->port, &address->has_port));
    }
  }
  return absl::OkStatus();
}

// Reads one kprobe argument, a one-key object such as {"file_arg": {...}}.
// The first path and the first socket win; other argument types are skipped.
absl::Status ReadArgument(object& arg, TetragonEvent* ev) {
  for (auto field_result : arg) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError("args[]", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError("args[]", e);
    if (key == "file_arg" || key == "path_arg" || key == "linux_binprm_arg") {
      object file;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "args[].file_arg", &file, &present));
      if (!present || !ev->path.empty()) continue;
      for (auto file_field : file) {
        simdjson::ondemand::field f;
        if (auto e = std::move(file_field).get(f); e) return JsonFieldError("args[].file_arg", e);
        std::string_view file_key;
        if (auto e = f.unescaped_key().get(file_key); e) return JsonFieldError("args[].file_arg", e);
        if (file_key == "path" && ev->path.empty()) {
          RETURN_IF_ERROR(ReadOptionalString(f.value(), "args[].file_arg.path", &ev->path));
        }
      }
    } else if (key == "sock_arg") {
      object sock;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "args[].sock_arg", &sock, &present));
      if (present && ev->sock.ip.empty()) {
        RETURN_IF_ERROR(ReadAddress(sock, kSockKeys, &ev->sock));
      }
    } else if (key == "sockaddr_arg") {
      object sockaddr;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(field.value(), "args[].sockaddr_arg", &sockaddr, &present));
      if (present && ev->sockaddr.ip.empty()) {
        RETURN_IF_ERROR(ReadAddress(sockaddr, kSockaddrKeys, &ev->sockaddr));
      }
    } else if (key == "size_arg" && !ev->has_size) {
      RETURN_IF_ERROR(ReadOptionalInteger(field.value(), "args[].size_arg", 0,
                                          std::numeric_limits<int64_t>::max(), &ev->size,
                                          &ev->has_size));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadArguments(value args_value, TetragonEvent* ev) {
  json_type type;
  if (auto e = args_value.type().get(type); e) return JsonFieldError("args", e);
  if (type != json_type::array) {
    if (type == json_type::null) return CheckNull(args_value, "args");  // no arguments
    return FieldError("args", absl::StrCat("expected an array, got ", ToAbsl(JsonTypeName(type))));
  }
  simdjson::ondemand::array args;
  if (auto e = args_value.get_array().get(args); e) return JsonFieldError("args", e);
  for (auto element : args) {
    value arg_value;
    if (auto e = std::move(element).get(arg_value); e) return JsonFieldError("args", e);
    object arg;
    bool present = false;
    RETURN_IF_ERROR(ReadOptionalObject(arg_value, "args[]", &arg, &present));
    if (present) RETURN_IF_ERROR(ReadArgument(arg, ev));
  }
  return absl::OkStatus();
}

// Reads the event object (the value of "process_exec", ...).
absl::Status ReadEventBody(object& body, TetragonEvent* ev) {
  SeenFields seen;
  for (auto field_result : body) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return JsonFieldError(ev->type_name, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return JsonFieldError(ev->type_name, e);
    value v = field.value();
    if (key == "process") {
      RETURN_IF_ERROR(seen.Mark(0, "process"));
      object process;
      RETURN_IF_ERROR(ReadOptionalObject(v, "process", &process, &ev->has_process));
      if (ev->has_process) RETURN_IF_ERROR(ReadProcess(process, /*parent=*/false, &ev->process));
    } else if (key == "parent") {
      RETURN_IF_ERROR(seen.Mark(1, "parent"));
      object parent;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(v, "parent", &parent, &present));
      Process p;
      if (present) RETURN_IF_ERROR(ReadProcess(parent, /*parent=*/true, &p));
      ev->parent_binary = p.binary;
    } else if (ev->type == Type::kKprobe && key == "function_name") {
      RETURN_IF_ERROR(seen.Mark(2, "function_name"));
      RETURN_IF_ERROR(ReadOptionalString(v, "function_name", &ev->function_name));
    } else if (ev->type == Type::kKprobe && key == "args") {
      RETURN_IF_ERROR(seen.Mark(3, "args"));
      RETURN_IF_ERROR(ReadArguments(v, ev));
    } else if (ev->type == Type::kKprobe && key == "return") {
      // The returned value of an accept probe is the new socket.
      RETURN_IF_ERROR(seen.Mark(4, "return"));
      object ret;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(v, "return", &ret, &present));
      if (present) RETURN_IF_ERROR(ReadArgument(ret, ev));
    } else if (ev->type == Type::kExit && key == "status") {
      RETURN_IF_ERROR(seen.Mark(5, "status"));
      RETURN_IF_ERROR(ReadOptionalInteger(v, "status", 0, std::numeric_limits<int32_t>::max(),
                                          &ev->status, &ev->has_status));
    } else if (ev->type == Type::kExit && key == "signal") {
      RETURN_IF_ERROR(seen.Mark(6, "signal"));
      RETURN_IF_ERROR(ReadOptionalString(v, "signal", &ev->signal));
    } else if (ev->type == Type::kConnect && key == "destination_ip") {
      RETURN_IF_ERROR(seen.Mark(7, "destination_ip"));
      RETURN_IF_ERROR(ReadOptionalString(v, "destination_ip", &ev->destination.ip));
    } else if (ev->type == Type::kConnect && key == "destination_port") {
      RETURN_IF_ERROR(seen.Mark(8, "destination_port"));
      RETURN_IF_ERROR(ReadOptionalInteger(v, "destination_port", 0, 65535, &ev->destination.port,
                                          &ev->destination.has_port));
    }
  }
  return absl::OkStatus();
}

Type TypeOf(std::string_view key) {
  if (key == "process_exec") return Type::kExec;
  if (key == "process_exit") return Type::kExit;
  if (key == "process_kprobe") return Type::kKprobe;
  if (key == "process_connect") return Type::kConnect;
  return Type::kUnmapped;
}

class TetragonDecoder final : public RecordDecoder {
 public:
  absl::Status Decode(std::string_view record, bool padded, SymbolTable& symbols,
                      std::vector<Event>* out, std::string* skip_reason) override;

 private:
  absl::Status ReadRecord(object& root, TetragonEvent* ev);
  // Returns "ip:port" ("[ip]:port" for IPv6), or the ip alone without port.
  std::string_view FormatAddress(const Address& address);
  // Sets kind, subject and value of a kprobe event.
  void MapKprobe(const TetragonEvent& ev, Event* event, std::string_view* subject);

  simdjson::ondemand::parser parser_;
  std::string scratch_;
  std::string address_;
};

absl::Status TetragonDecoder::ReadRecord(object& root, TetragonEvent* ev) {
  SeenFields seen;
  for (auto field_result : root) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field); e) return RecordJsonError(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return RecordJsonError(e);
    value v = field.value();
    if (key == "time") {
      RETURN_IF_ERROR(seen.Mark(0, key));
      RETURN_IF_ERROR(ReadRfc3339(v, key, &ev->time_ns));
      ev->has_time = true;
    } else if (key == "node_name") {
      RETURN_IF_ERROR(seen.Mark(1, key));
      RETURN_IF_ERROR(ReadOptionalString(v, key, &ev->node_name));
    } else if (IsEventTypeKey(key)) {
      if (ev->type != Type::kNone) {
        return FieldError(key, absl::StrCat("second event object after '",
                                            ToAbsl(ev->type_name), "'; expected one per record"));
      }
      ev->type = TypeOf(key);
      ev->type_name = key;
      if (ev->type == Type::kUnmapped) continue;
      object body;
      bool present = false;
      RETURN_IF_ERROR(ReadOptionalObject(v, key, &body, &present));
      if (!present) return FieldError(key, "expected an object, got null");
      RETURN_IF_ERROR(ReadEventBody(body, ev));
    }
  }
  return absl::OkStatus();
}

std::string_view TetragonDecoder::FormatAddress(const Address& address) {
  if (address.ip.empty() || !address.has_port) return address.ip;
  address_.clear();
  if (address.ip.find(':') != std::string_view::npos) {
    absl::StrAppend(&address_, "[", ToAbsl(address.ip), "]:", address.port);
  } else {
    absl::StrAppend(&address_, ToAbsl(address.ip), ":", address.port);
  }
  return address_;
}

void TetragonDecoder::MapKprobe(const TetragonEvent& ev, Event* event,
                                std::string_view* subject) {
  const absl::string_view function = ToAbsl(ev.function_name);
  if (absl::StrContains(function, "connect")) {
    // security_socket_connect's sockaddr holds the destination before the
    // socket is connected; tcp_connect's sock holds it in daddr.
    const Address& to = ev.sockaddr.ip.empty() ? ev.sock : ev.sockaddr;
    if (!to.ip.empty()) {
      event->kind = Kind::kConnect;
      *subject = FormatAddress(to);
      return;
    }
  } else if (absl::StrContains(function, "accept")) {
    if (!ev.sock.ip.empty()) {
      event->kind = Kind::kAccept;
      *subject = ev.sock.ip;  // the peer, without its ephemeral port
      return;
    }
  } else if (!ev.path.empty()) {
    event->kind = Kind::kFile;
    *subject = ev.path;
    if (ev.has_size) {
      event->value = static_cast<double>(ev.size);
      event->has_value = true;
    }
    return;
  }
  event->kind = Kind::kSyscall;
  *subject = ev.function_name;
}

absl::Status TetragonDecoder::Decode(std::string_view record, bool padded, SymbolTable& symbols,
                                     std::vector<Event>* out, std::string* skip_reason) {
  simdjson::ondemand::document doc;
  object root;
  RETURN_IF_ERROR(IterateObject(parser_, record, padded, &scratch_, "one JSON object per line",
                                &doc, &root));
  TetragonEvent ev;
  RETURN_IF_ERROR(ReadRecord(root, &ev));
  RETURN_IF_ERROR(ExpectDocumentEnd(doc));
  if (ev.type == Type::kNone) {
    return absl::InvalidArgumentError(
        "expected an event object such as process_exec, process_exit or process_kprobe");
  }
  if (ev.type == Type::kUnmapped) {
    for (std::string_view unmapped : kUnmappedTypes) {
      if (ev.type_name == unmapped) {
        *skip_reason = absl::StrCat("tetragon ", ToAbsl(unmapped));
        return absl::OkStatus();
      }
    }
    *skip_reason = kSkipUnknown;
    return absl::OkStatus();
  }
  if (!ev.has_process) return FieldError("process", "missing; expected the process object");
  if (!ev.has_time) {
    // The exec of a process happens at its start; Tetragon's own test data
    // has execs without "time".
    if (ev.type != Type::kExec || ev.process.start_time.empty()) {
      return FieldError("time", "missing; expected an RFC 3339 time");
    }
    absl::StatusOr<int64_t> start = ParseRfc3339(ev.process.start_time);
    if (!start.ok()) {
      return absl::Status(start.status().code(), absl::StrCat("field 'process.start_time': ",
                                                              start.status().message()));
    }
    ev.time_ns = *start;
  }

  Event event;
  event.time_ns = ev.time_ns;
  std::string_view container = ev.process.container_id;
  if (container.empty()) container = ev.process.docker;
  if (container.empty()) {
    event.entity = symbols.Intern(HostEntity(ev.node_name));
    event.group = symbols.Intern(kHostGroup);
  } else {
    event.entity = symbols.Intern(ShortContainerId(container));
    event.group = symbols.Intern(ImageRepository(ev.process.image));
  }
  std::string_view subject = ev.process.binary;
  std::string_view actor = ev.process.binary;
  switch (ev.type) {
    case Type::kExec:
      event.kind = Kind::kExec;
      actor = ev.parent_binary;
      break;
    case Type::kExit:
      event.kind = Kind::kExit;
      actor = ev.parent_binary;
      event.has_status = true;
      event.status = !ev.signal.empty() ? SignalStatus(ev.signal)
                                        : static_cast<int32_t>(ev.status);
      break;
    case Type::kKprobe:
      if (ev.function_name.empty()) {
        return FieldError("process_kprobe.function_name", "missing; expected the probed function");
      }
      MapKprobe(ev, &event, &subject);
      break;
    case Type::kConnect:
      event.kind = Kind::kConnect;
      subject = FormatAddress(ev.destination);
      break;
    default:
      break;
  }
  event.subject = symbols.Intern(subject);
  event.actor = symbols.Intern(actor);
  out->push_back(event);
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<RecordDecoder> NewTetragonDecoder() {
  return std::make_unique<TetragonDecoder>();
}

}  // namespace timescan::internal
