// timescan/sim.h
//
// Provides the labelled fleet simulator: a seeded, deterministic stream of
// events from a small container fleet (a web frontend, an API backend, queue
// workers, node exporters, cloud roles, hourly and daily jobs, autoscaling),
// with attacks injected after the learning period and labelled with entity
// and interval.
//
//   timescan::SymbolTable& symbols = engine->symbols();
//   timescan::sim::FleetOptions options;            // 30 h, attacks after 24 h
//   auto fleet = timescan::sim::FleetSimulator::Create(options, symbols);
//   if (!fleet.ok()) return fleet.status();
//   timescan::Event event;
//   while ((*fleet)->Next(&event)) engine->Ingest(event);
//   for (const timescan::sim::AttackLabel& label : (*fleet)->labels()) { ... }
//
// The benign fleet is stationary given the time of day: event rates are
// Poisson around a smooth daily curve and every categorical choice comes from
// a fixed distribution per workload, so that after the learning period no
// benign value is new except through the designed high-cardinality fields
// (path ids in routes, addresses of a cloud service), new entity ids
// (autoscaled replicas, job runs) and, when enabled, the deploy.
//
// Determinism: the same options give the same events on every platform. The
// simulator draws from std::mt19937_64 (whose sequence the standard
// specifies) through its own distributions and its own log/exp/cos, built
// from IEEE-754 basic operations only; no std::*_distribution, no libm
// transcendental, no hash-table order. Memory does not grow with the
// duration beyond one small record per entity: events are generated on the
// fly from a priority queue of per-stream next-event times, and the
// high-cardinality fields draw from bounded id spaces.

#ifndef TIMESCAN_SIM_H_
#define TIMESCAN_SIM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "timescan/event.h"
#include "timescan/symbol_table.h"

namespace timescan::sim {

// The attacks the simulator injects. Names reach label files: never
// renumber, only append.
enum class AttackType : uint8_t {
  // A shell spawned by the web frontend's process downloads and runs
  // /tmp/.x/xmrig, which connects to a mining pool on ports 3333 and 4444.
  // Target: a web replica; 20 minutes.
  kCryptoMiner = 0,
  // /bin/sh spawned by the API process connects out to an unknown IP on port
  // 4444 and runs recon commands (id, uname, whoami, cat /etc/passwd and the
  // service-account token, ps, ls, env). Target: an API replica; 10 minutes.
  kReverseShell = 1,
  // A container of an image never seen in the fleet starts in the namespace
  // (a socat tunnel beaconing out). Target: a new entity; 30 minutes.
  kUnexpectedWorkload = 2,
  // About 1.5 GB in 30 connections to a new destination. Target: a worker
  // replica; 10 minutes.
  kExfiltration = 3,
  // The cloud role calls API actions it never called (sts:GetCallerIdentity,
  // iam:CreateUser, iam:CreateAccessKey, ...) from a foreign source IP.
  // Target: the role; 10 minutes.
  kCredentialAbuse = 4,
  // 400 connections to 400 new internal destinations (100 hosts x 4 ports).
  // Target: an API replica; 4 minutes.
  kScan = 5,
  // The replica stops serving requests (its request-driven connects and
  // execs stop too) while the container lives: health probes still succeed.
  // Target: an API replica; 30 minutes.
  kSilentService = 6,
  // Request latency x5 and 30% of requests answered 5xx. Target: a web
  // replica; 20 minutes.
  kLatencyShift = 7,
};

// The number of attack types; AttackType values are dense in [0, kAttackTypeCount).
inline constexpr int kAttackTypeCount = 8;

// Returns the label name of `type`: "crypto_miner", "reverse_shell",
// "unexpected_workload", "exfiltration", "credential_abuse", "scan",
// "silent_service", "latency_shift"; "invalid" outside the enum.
std::string_view AttackTypeName(AttackType type);

// Returns the attack type named `name` (exactly AttackTypeName's), or nullopt.
std::optional<AttackType> AttackTypeFromName(std::string_view name);

// Returns every attack type, in enum order.
std::vector<AttackType> AllAttackTypes();

// One injected attack. Every event of the attack has entity `entity` and a
// time in [start_ns, end_ns).
struct AttackLabel {
  AttackType type = AttackType::kCryptoMiner;
  std::string entity;       // container id or role ARN
  std::string group;        // image repository or account id
  int64_t start_ns = 0;     // time of the attack's first event (inclusive)
  int64_t end_ns = 0;       // end of the attack (exclusive)
  std::string description;  // what happens, with the paths and addresses used
};

// Every field has a documented default; FleetSimulator::Create validates them.
struct FleetOptions {
  // Seeds every random choice: event times, values, container ids, attack
  // times. Any value. Default 1.
  uint64_t seed = 1;

  // Start of the simulated time, ns since the unix epoch. The daily curve is
  // in UTC: traffic peaks at 02:00 and bottoms out at 14:00 (a shop serving
  // American evenings). Default 2026-11-02T00:00:00Z.
  int64_t start_ns = 1'793'577'600'000'000'000;

  // The benign-only prefix of the run: attacks and the deploy start after it.
  // Match the engine's learning period. Default 24 hours (a full daily cycle);
  // 0..duration.
  absl::Duration learning = absl::Hours(24);

  // Total simulated time. What follows the learning period is cut into one
  // slot per attack (and one for the deploy), each of at least 40 minutes.
  // Default 30 hours (6 hours of attacks after a learning day); at most 366 days.
  absl::Duration duration = absl::Hours(30);

  // Multiplies every traffic rate (requests, their connects and execs, queue
  // traffic, cloud API calls). Periodic activity (health probes every 10 s,
  // metric scrapes every 15 s, cron execs) keeps its period at load >= 1 and
  // is thinned in proportion below 1. Boot, job and attack events do not
  // scale. About 1.9 million events per 30 h at 1.0, 0.2 million at 0.1,
  // 18 million at 10 and 100 million at 57. Below about 0.1 the rarest benign
  // values (probability 0.01 a day) may first show after learning.
  // Default 1.0; 1e-6..10000.
  double load = 1.0;

  // Replicas of each long-running workload (web, orders-api, worker) and the
  // number of nodes (one node-exporter each). Attack targets rotate over
  // them. Default 3; 1..64.
  int replicas = 3;

  // Whether a deploy, in the first slot after learning, replaces every
  // replica of registry.local/shop/orders-api one by one with a new version
  // that runs a database migration (/app/bin/migrate) at start and connects
  // to a new cache (10.0.6.30:6379): benign but novel. Not labelled as an
  // attack; FleetSimulator::deploy_ns() tells when. Default false.
  bool deploys = false;

  // Whether the web frontend scales out with the daily load: +1 replica from
  // 22:00 to 06:00 UTC and +1 more from 01:00 to 04:00, each a new entity of
  // the known group, booting and later exiting. Default true.
  bool autoscaling = true;

  // Whether short-lived job containers run: registry.local/shop/cart-cleanup
  // every hour at :05 (1-2 minutes) and registry.local/shop/nightly-report
  // daily at 02:30 (about 10 minutes); every run is a new entity. Default true.
  bool batch_jobs = true;

  // The attacks to inject, in this order, one per slot after learning (a
  // type may repeat: repeats target the next replica). Default: all eight.
  std::vector<AttackType> attacks = AllAttackTypes();
};

// Generates the events of a fleet, in nondecreasing time order.
// Not thread-safe: one thread drives a simulator. Copy is deleted because the
// simulator holds per-stream generators mid-sequence and the caller's table.
class FleetSimulator {
 public:
  // Returns a simulator, or kInvalidArgument naming the option that is out of
  // range and what is expected. Strings are interned in `symbols`.
  // REQUIRES: `symbols` outlives the simulator.
  static absl::StatusOr<std::unique_ptr<FleetSimulator>> Create(
      const FleetOptions& options, SymbolTable& symbols);

  FleetSimulator(const FleetSimulator&) = delete;
  FleetSimulator& operator=(const FleetSimulator&) = delete;
  virtual ~FleetSimulator() = default;

  // Writes the next event into `*event` and returns true, or returns false at
  // the end of the run. Times are nondecreasing and inside
  // [start_ns, start_ns + duration).
  virtual bool Next(Event* event) = 0;

  // Fills `events` from the front with the next events; returns how many
  // (fewer than events.size() only at the end of the run).
  virtual size_t NextBatch(absl::Span<Event> events) = 0;

  // Returns the labels of every attack of the run, in time order. Known from
  // Create on.
  virtual const std::vector<AttackLabel>& labels() const = 0;

  // Returns every entity id the run produces (containers and role ARNs), in
  // order of their start (ties in a fixed order).
  virtual std::vector<std::string> entities() const = 0;

  // Returns the time the deploy starts, or 0 when options.deploys is false.
  virtual int64_t deploy_ns() const = 0;

  // Returns how many events Next and NextBatch have returned.
  virtual uint64_t events_emitted() const = 0;

  // Returns the options the simulator was created with.
  virtual const FleetOptions& options() const = 0;

 protected:
  FleetSimulator() = default;
};

// Runs a simulator with `options` and writes its events to `events_out` as
// native JSONL (one object a line: time, entity, group, kind, subject, actor,
// value, status; absent fields omitted) and its labels to `labels_out`, one
// object a line: {"type", "entity", "group", "start", "end", "description"},
// times as RFC 3339 UTC. Returns kInvalidArgument for bad options or
// kDataLoss when a stream fails to write.
absl::Status WriteJsonl(const FleetOptions& options, std::ostream& events_out,
                        std::ostream& labels_out);

}  // namespace timescan::sim

#endif  // TIMESCAN_SIM_H_
