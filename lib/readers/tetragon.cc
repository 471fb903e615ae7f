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

// Reads `v` as an object that may be null, and when present its fields with
// `read(object&)`.
template <typename Read>
absl::Status ReadNested(value v, std::string_view field, Read read) {
  object o;
  bool present = false;
  RETURN_IF_ERROR(ReadOptionalObject(v, field, &o, &present));
  return present ? read(o) : absl::OkStatus();
}

absl::Status ReadContainer(object& container, Process* p) {
  SeenFields seen;
  return ForEachField(container, "process.pod.container", [&](std::string_view key, value v) {
    if (key == "id") {
      RETURN_IF_ERROR(seen.Mark(0, "process.pod.container.id"));
      return ReadOptionalString(v, "process.pod.container.id", &p->container_id);
    }
    if (key != "image") return absl::OkStatus();
    RETURN_IF_ERROR(seen.Mark(1, "process.pod.container.image"));
    return ReadNested(v, "process.pod.container.image", [&](object& image) {
      SeenFields seen_in_image;
      return ForEachField(image, "process.pod.container.image", [&](std::string_view k, value iv) {
        if (k != "name") return absl::OkStatus();
        RETURN_IF_ERROR(seen_in_image.Mark(0, "process.pod.container.image.name"));
        return ReadOptionalString(iv, "process.pod.container.image.name", &p->image);
      });
    });
  });
}

// Reads the fields of "process" (or, with `parent`, of "parent": its binary
// only).
absl::Status ReadProcess(object& process, bool parent, Process* p) {
  SeenFields seen;
  return ForEachField(process, parent ? "parent" : "process", [&](std::string_view key, value v) {
    if (key == "binary") {
      const std::string_view name = parent ? "parent.binary" : "process.binary";
      RETURN_IF_ERROR(seen.Mark(0, name));
      return ReadOptionalString(v, name, &p->binary);
    }
    if (parent) return absl::OkStatus();
    if (key == "docker") {
      RETURN_IF_ERROR(seen.Mark(1, "process.docker"));
      return ReadOptionalString(v, "process.docker", &p->docker);
    }
    if (key == "start_time") {
      RETURN_IF_ERROR(seen.Mark(2, "process.start_time"));
      return ReadOptionalString(v, "process.start_time", &p->start_time);
    }
    if (key != "pod") return absl::OkStatus();
    RETURN_IF_ERROR(seen.Mark(3, "process.pod"));
    return ReadNested(v, "process.pod", [&](object& pod) {
      SeenFields seen_in_pod;
      return ForEachField(pod, "process.pod", [&](std::string_view k, value pv) {
        if (k != "container") return absl::OkStatus();
        RETURN_IF_ERROR(seen_in_pod.Mark(0, "process.pod.container"));
        return ReadNested(pv, "process.pod.container",
                          [&](object& container) { return ReadContainer(container, p); });
      });
    });
  });
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
  return ForEachField(o, keys.where, [&](std::string_view key, value v) {
    if (key == keys.ip_key) {
      RETURN_IF_ERROR(seen.Mark(0, keys.ip_field));
      return ReadOptionalString(v, keys.ip_field, &address->ip);
    }
    if (key != keys.port_key) return absl::OkStatus();
    RETURN_IF_ERROR(seen.Mark(1, keys.port_field));
    return ReadOptionalInteger(v, keys.port_field, 0, 65535, &address->port, &address->has_port);
  });
}

// Reads one kprobe argument, a one-key object such as {"file_arg": {...}}.
// The first path and the first socket win; other argument types are skipped.
absl::Status ReadArgument(object& arg, TetragonEvent* ev) {
  return ForEachField(arg, "args[]", [&](std::string_view key, value v) {
    if (key == "file_arg" || key == "path_arg" || key == "linux_binprm_arg") {
      return ReadNested(v, "args[].file_arg", [&](object& file) {
        return ForEachField(file, "args[].file_arg", [&](std::string_view k, value fv) {
          if (k != "path" || !ev->path.empty()) return absl::OkStatus();
          return ReadOptionalString(fv, "args[].file_arg.path", &ev->path);
        });
      });
    }
    if (key == "sock_arg" && ev->sock.ip.empty()) {
      return ReadNested(v, "args[].sock_arg",
                        [&](object& sock) { return ReadAddress(sock, kSockKeys, &ev->sock); });
    }
    if (key == "sockaddr_arg" && ev->sockaddr.ip.empty()) {
      return ReadNested(v, "args[].sockaddr_arg", [&](object& sockaddr) {
        return ReadAddress(sockaddr, kSockaddrKeys, &ev->sockaddr);
      });
    }
    if (key == "size_arg" && !ev->has_size) {
      return ReadOptionalInteger(v, "args[].size_arg", 0, std::numeric_limits<int64_t>::max(),
                                 &ev->size, &ev->has_size);
    }
    return absl::OkStatus();
  });
}

absl::Status ReadArguments(value args_value, TetragonEvent* ev) {
  json_type type;
  if (auto e = args_value.type().get(type); e) return JsonFieldError("args", e);
  if (type == json_type::null) return CheckNull(args_value, "args");  // no arguments
  if (type != json_type::array) {
    return FieldError("args", absl::StrCat("expected an array, got ", ToAbsl(JsonTypeName(type))));
  }
  simdjson::ondemand::array args;
  if (auto e = args_value.get_array().get(args); e) return JsonFieldError("args", e);
  for (auto element : args) {
    value arg_value;
    if (auto e = std::move(element).get(arg_value); e) return JsonFieldError("args", e);
    RETURN_IF_ERROR(ReadNested(arg_value, "args[]", [&](object& arg) {
      return ReadArgument(arg, ev);
    }));
  }
  return absl::OkStatus();
}

// Reads the fields of process_kprobe, process_exit and process_connect that
// the other types do not have.
absl::Status ReadTypeField(std::string_view key, value v, SeenFields& seen, TetragonEvent* ev) {
  switch (ev->type) {
    case Type::kKprobe:
      if (key == "function_name") {
        RETURN_IF_ERROR(seen.Mark(2, "function_name"));
        return ReadOptionalString(v, "function_name", &ev->function_name);
      }
      if (key == "args") {
        RETURN_IF_ERROR(seen.Mark(3, "args"));
        return ReadArguments(v, ev);
      }
      if (key == "return") {
        // The returned value of an accept probe is the new socket.
        RETURN_IF_ERROR(seen.Mark(4, "return"));
        return ReadNested(v, "return", [&](object& ret) { return ReadArgument(ret, ev); });
      }
      return absl::OkStatus();
    case Type::kExit:
      if (key == "status") {
        RETURN_IF_ERROR(seen.Mark(5, "status"));
        return ReadOptionalInteger(v, "status", 0, std::numeric_limits<int32_t>::max(),
                                   &ev->status, &ev->has_status);
      }
      if (key == "signal") {
        RETURN_IF_ERROR(seen.Mark(6, "signal"));
        return ReadOptionalString(v, "signal", &ev->signal);
      }
      return absl::OkStatus();
    case Type::kConnect:
      if (key == "destination_ip") {
        RETURN_IF_ERROR(seen.Mark(7, "destination_ip"));
        return ReadOptionalString(v, "destination_ip", &ev->destination.ip);
      }
      if (key == "destination_port") {
        RETURN_IF_ERROR(seen.Mark(8, "destination_port"));
        return ReadOptionalInteger(v, "destination_port", 0, 65535, &ev->destination.port,
                                   &ev->destination.has_port);
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

// Reads the event object (the value of "process_exec", ...).
absl::Status ReadEventBody(object& body, TetragonEvent* ev) {
  SeenFields seen;
  return ForEachField(body, ev->type_name, [&](std::string_view key, value v) {
    if (key == "process") {
      RETURN_IF_ERROR(seen.Mark(0, "process"));
      object process;
      RETURN_IF_ERROR(ReadOptionalObject(v, "process", &process, &ev->has_process));
      return ev->has_process ? ReadProcess(process, /*parent=*/false, &ev->process)
                             : absl::OkStatus();
    }
    if (key == "parent") {
      RETURN_IF_ERROR(seen.Mark(1, "parent"));
      Process parent;
      RETURN_IF_ERROR(ReadNested(v, "parent", [&](object& o) {
        return ReadProcess(o, /*parent=*/true, &parent);
      }));
      ev->parent_binary = parent.binary;
      return absl::OkStatus();
    }
    return ReadTypeField(key, v, seen, ev);
  });
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
  // Sets the entity (container or host) and group (image or "host").
  static void SetEntityAndGroup(const TetragonEvent& ev, SymbolTable& symbols, Event* event);
  // Sets kind, subject and value of a kprobe event.
  void MapKprobe(const TetragonEvent& ev, Event* event, std::string_view* subject);

  simdjson::ondemand::parser parser_;
  std::string scratch_;
  std::string address_;
};

absl::Status TetragonDecoder::ReadRecord(object& root, TetragonEvent* ev) {
  SeenFields seen;
  return ForEachField(root, "", [&](std::string_view key, value v) {
    if (key == "time") {
      RETURN_IF_ERROR(seen.Mark(0, key));
      ev->has_time = true;
      return ReadRfc3339(v, key, &ev->time_ns);
    }
    if (key == "node_name") {
      RETURN_IF_ERROR(seen.Mark(1, key));
      return ReadOptionalString(v, key, &ev->node_name);
    }
    if (!IsEventTypeKey(key)) return absl::OkStatus();
    if (ev->type != Type::kNone) {
      return FieldError(key, absl::StrCat("second event object after '", ToAbsl(ev->type_name),
                                          "'; expected one per record"));
    }
    ev->type = TypeOf(key);
    ev->type_name = key;
    if (ev->type == Type::kUnmapped) return absl::OkStatus();
    object body;
    bool present = false;
    RETURN_IF_ERROR(ReadOptionalObject(v, key, &body, &present));
    if (!present) return FieldError(key, "expected an object, got null");
    return ReadEventBody(body, ev);
  });
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

// Returns the skip reason of an event type that is not mapped.
std::string SkipReasonOf(std::string_view type_name) {
  for (std::string_view unmapped : kUnmappedTypes) {
    if (type_name == unmapped) return absl::StrCat("tetragon ", ToAbsl(unmapped));
  }
  return std::string(kSkipUnknown);
}

// Returns the event time: "time", or for an exec without it the process
// start (Tetragon's own test data has execs without "time").
absl::StatusOr<int64_t> TimeOf(const TetragonEvent& ev) {
  if (ev.has_time) return ev.time_ns;
  if (ev.type != Type::kExec || ev.process.start_time.empty()) {
    return FieldError("time", "missing; expected an RFC 3339 time");
  }
  absl::StatusOr<int64_t> start = ParseRfc3339(ev.process.start_time);
  if (!start.ok()) {
    return absl::Status(start.status().code(), absl::StrCat("field 'process.start_time': ",
                                                            start.status().message()));
  }
  return *start;
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
    *skip_reason = SkipReasonOf(ev.type_name);
    return absl::OkStatus();
  }
  if (!ev.has_process) return FieldError("process", "missing; expected the process object");
  if (ev.type == Type::kKprobe && ev.function_name.empty()) {
    return FieldError("process_kprobe.function_name", "missing; expected the probed function");
  }
  Event event;
  ASSIGN_OR_RETURN(event.time_ns, TimeOf(ev));
  SetEntityAndGroup(ev, symbols, &event);
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
      MapKprobe(ev, &event, &subject);
      break;
    default:  // Type::kConnect
      event.kind = Kind::kConnect;
      subject = FormatAddress(ev.destination);
      break;
  }
  event.subject = symbols.Intern(subject);
  event.actor = symbols.Intern(actor);
  out->push_back(event);
  return absl::OkStatus();
}

void TetragonDecoder::SetEntityAndGroup(const TetragonEvent& ev, SymbolTable& symbols,
                                        Event* event) {
  std::string_view container = ev.process.container_id;
  if (container.empty()) container = ev.process.docker;
  if (container.empty()) {
    event->entity = symbols.Intern(HostEntity(ev.node_name));
    event->group = symbols.Intern(kHostGroup);
    return;
  }
  event->entity = symbols.Intern(ShortContainerId(container));
  event->group = symbols.Intern(ImageRepository(ev.process.image));
}

}  // namespace

std::unique_ptr<RecordDecoder> NewTetragonDecoder() {
  return std::make_unique<TetragonDecoder>();
}

}  // namespace timescan::internal
