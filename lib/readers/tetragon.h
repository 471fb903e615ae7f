// Decoder of Tetragon's JSON export (`tetra getevents -o json`, the export
// file), one event per line, mapped to timescan events (docs/formats.md,
// "Tetragon"):
//
//   entity   process.pod.container.id, else process.docker (short id);
//            "host:<node_name>" for a process in no container
//   group    the repository of process.pod.container.image.name; "host"
//   kind     process_exec -> exec, process_exit -> exit, process_kprobe ->
//            connect (function name with "connect"), accept ("accept"),
//            file (a file or path argument), else syscall;
//            process_connect (Isovalent's build) -> connect
//   subject  binary, destination ip:port, peer ip, file path or function name
//   actor    parent binary (exec, exit) or the process binary
//   status   exit code, or 128 + signal number (exit only)
//   value    size_arg of a file kprobe (bytes)
//   time     "time"; an exec without it takes process.start_time
//
// Other event types (process_throttle, process_tracepoint, process_uprobe,
// process_lsm, process_loader, process_close, process_listen, ...) are
// skipped with a counted reason naming the type.

#ifndef TIMESCAN_LIB_READERS_TETRAGON_H_
#define TIMESCAN_LIB_READERS_TETRAGON_H_

#include <memory>

#include "readers/record_decoder.h"

namespace timescan::internal {

// Returns a decoder of Tetragon JSON events. Not thread-safe.
std::unique_ptr<RecordDecoder> NewTetragonDecoder();

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_TETRAGON_H_
