// timescan/event.h
//
// Provides the event value type that every reader produces and the engine
// consumes, and the kinds of events timescan understands.
//
//   timescan::SymbolTable symbols;
//   timescan::Event e = timescan::EventBuilder(symbols)
//                           .Time(t_ns).Entity("c-1").Group("web")
//                           .Kind(timescan::Kind::kExec)
//                           .Subject("/usr/bin/curl").Actor("/bin/sh")
//                           .Build();
//
// Strings are interned once into 32-bit symbols so that the hot path of the
// engine never touches a string.

#ifndef TIMESCAN_EVENT_H_
#define TIMESCAN_EVENT_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "timescan/symbol_table.h"

namespace timescan {

// What happened. Values reach disk (snapshots, protobuf streams): never
// renumber, only append.
enum class Kind : uint8_t {
  kExec = 0,     // a process started; subject = exe path, actor = parent exe
  kExit = 1,     // a process ended; subject = exe path, status = exit code
  kConnect = 2,  // outbound connection; subject = destination, value = bytes
  kAccept = 3,   // inbound connection; subject = peer, value = bytes
  kRequest = 4,  // served request; subject = route, value = latency ms,
                 // status = HTTP status, actor = client
  kApi = 5,      // cloud API call; subject = action, actor = caller or source
  kFile = 6,     // file access; subject = path, value = bytes
  kSyscall = 7,  // syscall; subject = syscall name, actor = process
  kMetric = 8,   // numeric sample; subject = metric name, value = sample
};

// The number of kinds; Kind values are dense in [0, kKindCount).
inline constexpr int kKindCount = 9;

// Returns the lower-case schema name of `kind` ("exec", "connect", ...), or
// "invalid" for a value outside the enum.
std::string_view KindName(Kind kind);

// Returns the kind named `name` (exactly the schema name), or nullopt.
std::optional<Kind> KindFromName(std::string_view name);

// One observation about one entity (container, role, host). Trivially
// copyable, 40 bytes.
struct Event {
  int64_t time_ns = 0;         // event time, nanoseconds since the unix epoch
  Symbol entity = kNoSymbol;   // container id, role ARN, ...; required
  Symbol group = kNoSymbol;    // workload or image; kNoSymbol: the entity is
                               // a group of its own
  Kind kind = Kind::kExec;
  bool has_value = false;      // `value` was given
  bool has_status = false;     // `status` was given
  int32_t status = 0;          // HTTP status, exit code or error code
  Symbol subject = kNoSymbol;  // exe path, destination, route, action, ...
  Symbol actor = kNoSymbol;    // parent exe, user, principal, client
  double value = 0;            // latency ms, bytes or the metric sample
};

// Builds events from strings, interning them in a SymbolTable.
// Not thread-safe (the table is not).
class EventBuilder {
 public:
  // REQUIRES: `symbols` outlives the builder.
  explicit EventBuilder(SymbolTable& symbols) : symbols_(symbols) {}

  EventBuilder& Time(int64_t time_ns) { event_.time_ns = time_ns; return *this; }
  EventBuilder& Entity(std::string_view s) { event_.entity = symbols_.Intern(s); return *this; }
  EventBuilder& Group(std::string_view s) { event_.group = symbols_.Intern(s); return *this; }
  EventBuilder& Kind(timescan::Kind k) { event_.kind = k; return *this; }
  EventBuilder& Subject(std::string_view s) { event_.subject = symbols_.Intern(s); return *this; }
  EventBuilder& Actor(std::string_view s) { event_.actor = symbols_.Intern(s); return *this; }
  EventBuilder& Value(double v) { event_.value = v; event_.has_value = true; return *this; }
  EventBuilder& Status(int32_t s) { event_.status = s; event_.has_status = true; return *this; }

  // Returns the event built so far; the builder keeps its fields, so a loop
  // can change only what differs between events.
  Event Build() const { return event_; }

 private:
  SymbolTable& symbols_;
  Event event_;
};

}  // namespace timescan

#endif  // TIMESCAN_EVENT_H_
