// Decoder of Falco alerts written with `json_output: true`, one JSON object
// per line, mapped to timescan events (docs/formats.md, "Falco"):
//
//   entity   output_fields["container.id"] (short id); "host:<hostname>" for
//            container id "host"
//   group    output_fields["container.image.repository"]; "host" for host
//   kind     from evt.type (execve -> exec, connect, accept, open... -> file,
//            other syscalls -> syscall), else fd fields (socket -> connect,
//            path -> file), else the rule's tags, else proc fields -> exec
//   subject  exe path, destination, peer, file path or syscall name
//   actor    parent process (exec) or the process (other kinds)
//   time     "time" (RFC 3339), else output_fields["evt.time"] (ns)
//
// Records that are valid but describe no container activity are skipped with
// a counted reason: metrics snapshots and other "Falco internal" records,
// alerts from plugin sources (k8s_audit, gcp_auditlog, ...), and alerts whose
// rule output has no container.id.

#ifndef TIMESCAN_LIB_READERS_FALCO_H_
#define TIMESCAN_LIB_READERS_FALCO_H_

#include <memory>

#include "readers/record_decoder.h"

namespace timescan::internal {

// Returns a decoder of Falco JSON alerts. Not thread-safe.
std::unique_ptr<RecordDecoder> NewFalcoDecoder();

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_FALCO_H_
