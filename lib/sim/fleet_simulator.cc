// The fleet simulator: a plan (every container's life, every attack's time
// and script, the labels) made once at Create, then events generated on the
// fly by merging per-stream sources in time order.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"
#include "sim/random.h"
#include "sim/sources.h"
#include "timescan/sim.h"
#include "timescan/timestamps.h"

namespace timescan::sim {
namespace {

using sim_internal::DailyCurve;
using sim_internal::IdSpace;
using sim_internal::Impairment;
using sim_internal::kDayNs;
using sim_internal::kHourNs;
using sim_internal::kMinuteNs;
using sim_internal::kSecondNs;
using sim_internal::Mix64;
using sim_internal::PeriodicItem;
using sim_internal::PeriodicSource;
using sim_internal::PeriodicSpec;
using sim_internal::Picker;
using sim_internal::Rng;
using sim_internal::ScriptItem;
using sim_internal::ScriptSource;
using sim_internal::Source;
using sim_internal::SourceHeap;
using sim_internal::StatusPicker;
using sim_internal::TrafficSource;
using sim_internal::TrafficSpec;
using sim_internal::ValueSpec;
using sim_internal::World;

constexpr int64_t kMillisecondNs = 1'000'000;
constexpr int64_t kMinSlotNs = 40 * kMinuteNs;  // longest attack (30 min) + margins
constexpr int64_t kExitLeadNs = 1'000;          // the exit precedes the container's end by 1 us
constexpr int kMaxReplicas = 64;
constexpr double kMinLoad = 1e-6;
constexpr double kMaxLoad = 10000;
constexpr int64_t kMaxDurationNs = 366 * kDayNs;

// Daily curve: peak at 02:00 UTC, 4x the trough at 14:00.
constexpr double kDailyAmplitude = 0.6;
constexpr double kPeakHour = 2;

// Salts for deriving independent generators from the seed.
enum Salt : uint64_t {
  kSaltContainerId = 1,
  kSaltJobs = 2,
  kSaltAttacks = 3,
  kSaltSources = 4,
  kSaltBoot = 5,
  kSaltScripts = 6,
};

enum class Workload : uint8_t {
  kWeb, kApi, kWorker, kExporter, kRole, kHourlyJob, kDailyJob, kSidecar,
};

int64_t AttackLengthNs(AttackType type) {
  switch (type) {
    case AttackType::kCryptoMiner: return 20 * kMinuteNs;
    case AttackType::kReverseShell: return 10 * kMinuteNs;
    case AttackType::kUnexpectedWorkload: return 30 * kMinuteNs;
    case AttackType::kExfiltration: return 10 * kMinuteNs;
    case AttackType::kCredentialAbuse: return 10 * kMinuteNs;
    case AttackType::kScan: return 4 * kMinuteNs;
    case AttackType::kSilentService: return 30 * kMinuteNs;
    case AttackType::kLatencyShift: return 20 * kMinuteNs;
  }
  return 0;
}

struct ExecStep {
  Symbol exe;
  Symbol parent;
  int64_t min_delay_ns;  // after the previous step (or the container start)
  int64_t max_delay_ns;
};

// Everything the fleet says: groups, executables, destinations, routes and
// the distributions they are drawn from. Built once; sources point into it,
// so it never moves.
struct Catalog {
  explicit Catalog(SymbolTable& symbols);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  SymbolTable& symbols;
  Symbol S(std::string_view text) { return symbols.Intern(text); }

  // Groups.
  Symbol web_group, api_group, worker_group, exporter_group, hourly_group, daily_group, account;
  std::vector<std::string> role_names;
  // Processes.
  Symbol shim, node, orders_api, worker, node_exporter, entrypoint_sh;
  // High-cardinality spaces.
  IdSpace products{IdSpace::Format::kDecimal, "/products/", "", 1, 20000, true};
  IdSpace orders{IdSpace::Format::kDecimal, "/api/orders/", "", 100000, 100000, false};
  IdSpace skus{IdSpace::Format::kSku, "/api/inventory/SKU-", "", 0, 20000, false};
  IdSpace cloud{IdSpace::Format::kIpv4, "52.216.", ":443", 0, 256 * 254, false};
  // Pickers.
  Picker web_routes, web_clients, backend, cloud_dest, node_actor;
  Picker api_routes, api_clients, databases, redis, api_actor, helper;
  Picker queue, worker_actor;
  Picker orders_actions, reports_actions, nat_ips;
  StatusPicker web_status, api_status;
  // Streams.
  TrafficSpec web_requests, web_backend, web_cloud;
  TrafficSpec api_requests, api_db, api_redis, api_helper;
  TrafficSpec worker_queue;
  TrafficSpec role_orders, role_reports;
  PeriodicSpec probe, worker_tool, metrics;
  // Boots.
  std::vector<ExecStep> web_boot, api_boot, api_boot_v2, worker_boot, exporter_boot;
  // Jobs.
  Symbol sh, cart_cleanup, python3, pg_dump, db_primary, db_replica;
};

Catalog::Catalog(SymbolTable& table) : symbols(table) {
  web_group = S("registry.local/shop/web");
  api_group = S("registry.local/shop/orders-api");
  worker_group = S("registry.local/shop/worker");
  exporter_group = S("registry.local/monitoring/node-exporter");
  hourly_group = S("registry.local/shop/cart-cleanup");
  daily_group = S("registry.local/shop/nightly-report");
  account = S("123456789012");
  role_names = {"arn:aws:iam::123456789012:role/shop-orders",
                "arn:aws:iam::123456789012:role/shop-reports"};

  shim = S("/usr/bin/containerd-shim-runc-v2");
  node = S("/usr/local/bin/node");
  orders_api = S("/app/orders-api");
  worker = S("/usr/local/bin/worker");
  node_exporter = S("/bin/node_exporter");
  entrypoint_sh = S("/app/entrypoint.sh");
  sh = S("/bin/sh");
  cart_cleanup = S("/usr/local/bin/cart-cleanup");
  python3 = S("/usr/bin/python3");
  pg_dump = S("/usr/bin/pg_dump");
  db_primary = S("10.0.4.12:5432");
  db_replica = S("10.0.4.13:5432");

  // --- web frontend ---
  web_routes.Add(0.14, S("/"))
      .Add(0.10, S("/products"))
      .Add(0.25, &products)
      .Add(0.08, S("/search"))
      .Add(0.08, S("/cart"))
      .Add(0.03, S("/checkout"))
      .Add(0.03, S("/login"))
      .Add(0.10, &orders)
      .Add(0.08, S("/static/app.js"))
      .Add(0.06, S("/static/app.css"))
      .Add(0.05, S("/static/logo.svg"));
  web_clients.Add(1, S("spiffe://cluster.local/ns/ingress/sa/ingress-nginx"));
  web_status.Add(0.955, 200).Add(0.02, 304).Add(0.015, 404).Add(0.005, 401).Add(0.003, 500).Add(
      0.002, 503);
  backend.Add(1, S("10.96.14.21:8080"));
  cloud_dest.Add(1, &cloud);
  node_actor.Add(1, node);

  web_requests = {Kind::kRequest, 100, true, true, &web_routes, &web_clients,
                  ValueSpec::LogNormal(35, 0.6, 1000), &web_status};
  web_backend = {Kind::kConnect, 60, true, true, &backend, &node_actor,
                 ValueSpec::LogNormal(3000, 0.8, 1), nullptr};
  web_cloud = {Kind::kConnect, 10, true, true, &cloud_dest, &node_actor,
               ValueSpec::LogNormal(60000, 1.0, 1), nullptr};

  // --- orders API ---
  api_routes.Add(0.45, &orders)
      .Add(0.15, S("/api/orders"))
      .Add(0.15, S("/api/cart"))
      .Add(0.10, &skus)
      .Add(0.10, S("/api/payments"))
      .Add(0.05, S("/api/customers/me"));
  api_clients.Add(0.9, S("spiffe://cluster.local/ns/shop/sa/web"))
      .Add(0.1, S("spiffe://cluster.local/ns/shop/sa/worker"));
  api_status.Add(0.95, 200).Add(0.03, 201).Add(0.012, 404).Add(0.005, 409).Add(0.003, 500);
  databases.Add(0.75, db_primary).Add(0.25, db_replica);
  redis.Add(1, S("10.0.6.30:6379"));
  api_actor.Add(1, orders_api);
  helper.Add(1, S("/usr/local/bin/pdf-render"));

  api_requests = {Kind::kRequest, 60, true, false, &api_routes, &api_clients,
                  ValueSpec::LogNormal(12, 0.5, 1000), &api_status};
  api_db = {Kind::kConnect, 48, true, false, &databases, &api_actor,
            ValueSpec::LogNormal(4000, 0.9, 1), nullptr};
  api_redis = {Kind::kConnect, 20, true, false, &redis, &api_actor,
               ValueSpec::LogNormal(500, 0.5, 1), nullptr};
  api_helper = {Kind::kExec, 0.2, true, false, &helper, &api_actor, ValueSpec::None(), nullptr};

  // --- worker ---
  queue.Add(1, S("10.0.5.20:5672"));
  worker_actor.Add(1, worker);
  worker_queue = {Kind::kConnect, 10, true, false, &queue, &worker_actor,
                  ValueSpec::LogNormal(8000, 0.7, 1), nullptr};

  // --- cloud roles ---
  orders_actions.Add(0.55, S("s3.amazonaws.com:GetObject"))
      .Add(0.20, S("s3.amazonaws.com:PutObject"))
      .Add(0.15, S("sqs.amazonaws.com:SendMessage"))
      .Add(0.08, S("kms.amazonaws.com:Decrypt"))
      .Add(0.02, S("sts.amazonaws.com:AssumeRoleWithWebIdentity"));
  reports_actions.Add(0.20, S("athena.amazonaws.com:StartQueryExecution"))
      .Add(0.40, S("athena.amazonaws.com:GetQueryExecution"))
      .Add(0.20, S("athena.amazonaws.com:GetQueryResults"))
      .Add(0.15, S("s3.amazonaws.com:GetObject"))
      .Add(0.05, S("glue.amazonaws.com:GetTable"));
  nat_ips.Add(0.5, S("3.120.55.14")).Add(0.3, S("3.120.55.15")).Add(0.2, S("3.120.55.16"));
  role_orders = {Kind::kApi, 20, true, false, &orders_actions, &nat_ips, ValueSpec::None(),
                 nullptr};
  role_reports = {Kind::kApi, 2, false, false, &reports_actions, &nat_ips, ValueSpec::None(),
                  nullptr};

  // --- periodic ---
  PeriodicItem probe_item;
  probe_item.subject = S("/healthz");
  probe_item.actor = S("kubelet");
  probe_item.value = ValueSpec::LogNormal(1.2, 0.3, 1000);
  probe_item.has_status = true;
  probe_item.status = 200;
  probe = {Kind::kRequest, 10 * kSecondNs, {probe_item}};

  PeriodicItem tool_item;
  tool_item.subject = S("/usr/local/bin/queue-stats");
  tool_item.actor = worker;
  worker_tool = {Kind::kExec, 5 * kMinuteNs, {tool_item}};

  PeriodicItem cpu, memory, network;
  cpu.subject = S("node_cpu_utilization");
  cpu.value = ValueSpec::Daily(0.35, 0.25, 0.02, 1000, 1.0);
  memory.subject = S("node_memory_used_bytes");
  memory.value = ValueSpec::Daily(6.2e9, 1.0e9, 4e7, 1);
  network.subject = S("node_network_receive_bytes_per_second");
  network.value = ValueSpec::Daily(2.5e6, 2.0e6, 1.5e5, 1);
  metrics = {Kind::kMetric, 15 * kSecondNs, {cpu, memory, network}};

  // --- boots: the entrypoint, a config tool, the service, in the first seconds ---
  const Symbol docker_entrypoint = S("/docker-entrypoint.sh");
  const Symbol confd = S("/usr/local/bin/confd");
  web_boot = {{docker_entrypoint, shim, 50 * kMillisecondNs, 400 * kMillisecondNs},
              {S("/usr/bin/envsubst"), docker_entrypoint, 100 * kMillisecondNs,
               600 * kMillisecondNs},
              {node, docker_entrypoint, 200 * kMillisecondNs, 1500 * kMillisecondNs}};
  api_boot = {{entrypoint_sh, shim, 50 * kMillisecondNs, 400 * kMillisecondNs},
              {confd, entrypoint_sh, 100 * kMillisecondNs, 600 * kMillisecondNs},
              {orders_api, entrypoint_sh, 200 * kMillisecondNs, 1500 * kMillisecondNs}};
  api_boot_v2 = {{entrypoint_sh, shim, 50 * kMillisecondNs, 400 * kMillisecondNs},
                 {confd, entrypoint_sh, 100 * kMillisecondNs, 600 * kMillisecondNs},
                 {S("/app/bin/migrate"), entrypoint_sh, 200 * kMillisecondNs,
                  1000 * kMillisecondNs},
                 {orders_api, entrypoint_sh, 5 * kSecondNs, 20 * kSecondNs}};
  worker_boot = {{entrypoint_sh, shim, 50 * kMillisecondNs, 400 * kMillisecondNs},
                 {confd, entrypoint_sh, 100 * kMillisecondNs, 600 * kMillisecondNs},
                 {worker, entrypoint_sh, 200 * kMillisecondNs, 1500 * kMillisecondNs}};
  exporter_boot = {{node_exporter, shim, 50 * kMillisecondNs, 400 * kMillisecondNs}};
}

// One container's (or role's) life.
struct Container {
  std::string id;
  Symbol entity = kNoSymbol;
  Symbol group = kNoSymbol;
  Workload workload = Workload::kWeb;
  int slot = 0;        // replica index; role index
  int generation = 0;  // orders-api: 1 after the deploy
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // exclusive
  bool boot = true;    // emits its boot execs at start
  bool exits = false;  // emits its main process's exit just before end_ns
  uint64_t salt = 0;
  int attack = -1;     // kSidecar: the attack it realises
  std::vector<Impairment> impairments;
};

struct PlannedAttack {
  AttackType type;
  int container = -1;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::vector<ScriptItem> script;  // moved into a source when the attack starts
};

ScriptItem Item(int64_t t, Kind kind, Symbol subject, Symbol actor) {
  ScriptItem item;
  item.time_ns = t;
  item.kind = kind;
  item.subject = subject;
  item.actor = actor;
  return item;
}

ScriptItem WithValue(ScriptItem item, double value) {
  item.has_value = true;
  item.value = value;
  return item;
}

ScriptItem WithStatus(ScriptItem item, int32_t status) {
  item.has_status = true;
  item.status = status;
  return item;
}

int64_t Jitter(Rng& rng, int64_t lo_ns, int64_t hi_ns) { return rng.Between(lo_ns, hi_ns); }

// Returns a uniform offset in [0, span_ns). REQUIRES: span_ns > 0.
int64_t Offset(Rng& rng, int64_t span_ns) {
  return static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span_ns)));
}

std::string FormatBytes(double bytes) {
  return bytes >= 1e9 ? absl::StrFormat("%.2f GB", bytes / 1e9)
                      : absl::StrFormat("%.1f MB", bytes / 1e6);
}

class FleetSimulatorImpl final : public FleetSimulator {
 public:
  FleetSimulatorImpl(const FleetOptions& options, SymbolTable& symbols)
      : options_(options),
        symbols_(symbols),
        curve_(kDailyAmplitude, kPeakHour),
        catalog_(std::make_unique<Catalog>(symbols)) {
    world_.symbols = &symbols_;
    world_.curve = &curve_;
    world_.load = options.load;
    world_.replicas = options.replicas;
    world_.autoscaling = options.autoscaling;
    run_start_ = options.start_ns;
    run_end_ = options.start_ns + absl::ToInt64Nanoseconds(options.duration);
    learning_end_ = options.start_ns + absl::ToInt64Nanoseconds(options.learning);
  }

  absl::Status Plan();

  bool Next(Event* event) override;
  size_t NextBatch(absl::Span<Event> events) override {
    size_t n = 0;
    while (n < events.size() && Next(&events[n])) ++n;
    return n;
  }
  const std::vector<AttackLabel>& labels() const override { return labels_; }
  std::vector<std::string> entities() const override;
  int64_t deploy_ns() const override { return deploy_ns_; }
  uint64_t events_emitted() const override { return emitted_; }
  const FleetOptions& options() const override { return options_; }

 private:
  struct SpawnItem {
    int64_t time_ns;
    int container;  // >= 0: a container starts
    int attack;     // >= 0: an attack on a live container starts
  };

  int AddContainer(Container container);
  int FindContainer(Workload workload, int slot, int64_t begin_ns, int64_t end_ns) const;
  void PlanAutoscaling();
  void PlanJobs();
  void PlanDeploy(int64_t slot_start_ns);
  absl::Status PlanAttack(AttackType type, int occurrence, int64_t start_ns);

  void Spawn(const SpawnItem& item);
  void SpawnContainer(const Container& c);
  void AddSource(std::unique_ptr<Source> source);
  // `all_impairments`: the stream is the container's requests and suffers
  // every impairment; false: it only falls silent with them.
  void AddTraffic(const TrafficSpec& spec, const Container& c, int64_t start_ns, int64_t end_ns,
                  int stream, bool all_impairments);
  void AddPeriodic(const PeriodicSpec& spec, const Container& c, int64_t first_ns,
                   int64_t end_ns, int stream);
  int64_t AppendBoot(const std::vector<ExecStep>& steps, int64_t start_ns, Rng& rng,
                     std::vector<ScriptItem>* script) const;
  uint64_t StreamSeed(uint64_t salt, int stream) const {
    return Mix64(Mix64(Mix64(options_.seed, kSaltSources), salt), static_cast<uint64_t>(stream));
  }

  // Attack scripts.
  std::vector<ScriptItem> MinerScript(int64_t t, int64_t end, Rng& rng, std::string* what);
  std::vector<ScriptItem> ReverseShellScript(int64_t t, int64_t end, Rng& rng, std::string* what);
  std::vector<ScriptItem> SidecarScript(int64_t t, int64_t end, Rng& rng, std::string* what);
  std::vector<ScriptItem> ExfiltrationScript(int64_t t, int64_t end, Rng& rng, std::string* what);
  std::vector<ScriptItem> CredentialScript(int64_t t, int64_t end, Rng& rng, std::string* what);
  std::vector<ScriptItem> ScanScript(int64_t t, int64_t end, Rng& rng, std::string* what);

  Symbol S(std::string_view text) { return symbols_.Intern(text); }

  FleetOptions options_;
  SymbolTable& symbols_;
  DailyCurve curve_;
  World world_;
  std::unique_ptr<Catalog> catalog_;
  int64_t run_start_ = 0, run_end_ = 0, learning_end_ = 0;
  int64_t deploy_ns_ = 0;

  std::vector<Container> containers_;
  std::vector<PlannedAttack> attacks_;
  std::vector<AttackLabel> labels_;
  absl::flat_hash_set<std::string> ids_;
  std::vector<SpawnItem> spawns_;
  std::vector<int> entity_order_;  // containers in order of their start

  size_t next_spawn_ = 0;
  SourceHeap heap_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_seq_ = 0;
  uint64_t emitted_ = 0;
};

int FleetSimulatorImpl::AddContainer(Container c) {
  if (c.workload == Workload::kRole) {
    c.id = catalog_->role_names[c.slot];
  } else {
    // 12 hex digits, like a container id; derived from the seed and the
    // container's identity, so ids do not depend on event generation order.
    uint64_t salt = c.salt;
    do {
      c.id = absl::StrFormat("%012x", Mix64(Mix64(options_.seed, kSaltContainerId), salt) >> 16);
      ++salt;
    } while (ids_.contains(c.id));
  }
  ids_.insert(c.id);
  c.entity = S(c.id);
  containers_.push_back(std::move(c));
  return static_cast<int>(containers_.size()) - 1;
}

int FleetSimulatorImpl::FindContainer(Workload workload, int slot, int64_t begin_ns,
                                      int64_t end_ns) const {
  for (size_t i = 0; i < containers_.size(); ++i) {
    const Container& c = containers_[i];
    if (c.workload == workload && c.slot == slot && c.start_ns <= begin_ns && c.end_ns >= end_ns) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

uint64_t ContainerSalt(Workload workload, int slot, int generation, int64_t start_ns) {
  return Mix64(Mix64(Mix64(static_cast<uint64_t>(workload), static_cast<uint64_t>(slot)),
                     static_cast<uint64_t>(generation)),
               static_cast<uint64_t>(start_ns));
}

void FleetSimulatorImpl::PlanAutoscaling() {
  // Extra replica k lives in [22:00, 06:00) (k = 0) or [01:00, 04:00) (k = 1)
  // of every day, as World::WebExtras says.
  struct Window { int64_t begin, end; };
  const Window windows[2] = {{22 * kHourNs, 30 * kHourNs}, {25 * kHourNs, 28 * kHourNs}};
  std::vector<Container> extras;
  for (int k = 0; k < 2; ++k) {
    for (int64_t day = (run_start_ / kDayNs - 1) * kDayNs; day < run_end_; day += kDayNs) {
      const int64_t begin = std::max(run_start_, day + windows[k].begin);
      const int64_t end = std::min(run_end_, day + windows[k].end);
      if (begin >= end) continue;
      Container c;
      c.workload = Workload::kWeb;
      c.group = catalog_->web_group;
      c.slot = options_.replicas + k;
      c.start_ns = begin;
      c.end_ns = end;
      c.exits = end < run_end_;
      c.salt = ContainerSalt(c.workload, c.slot, 0, begin);
      extras.push_back(std::move(c));
    }
  }
  std::stable_sort(extras.begin(), extras.end(),
                   [](const Container& a, const Container& b) { return a.start_ns < b.start_ns; });
  for (Container& c : extras) AddContainer(std::move(c));
}

void FleetSimulatorImpl::PlanJobs() {
  Rng rng(Mix64(options_.seed, kSaltJobs));
  std::vector<Container> jobs;
  // Hourly cart-cleanup at :05 (1-2 minutes); daily nightly-report at 02:30
  // (8-12 minutes). A run is planned only when it fits inside the run.
  // One run per period at `offset` (plus up to `jitter`), lasting between
  // `min_length` and `max_length`; draws in the order the periods come.
  auto plan = [&](int64_t period, int64_t offset, int64_t jitter, int64_t min_length,
                  int64_t max_length, Workload workload, Symbol group) {
    for (int64_t base = run_start_ / period * period; base < run_end_; base += period) {
      const int64_t start = base + offset + Jitter(rng, 0, jitter);
      const int64_t length = Jitter(rng, min_length, max_length);
      if (start < run_start_ || start + length >= run_end_) continue;
      Container c;
      c.workload = workload;
      c.group = group;
      c.start_ns = start;
      c.end_ns = start + length;
      c.boot = false;
      c.salt = ContainerSalt(c.workload, 0, 0, start);
      jobs.push_back(std::move(c));
    }
  };
  plan(kHourNs, 5 * kMinuteNs, 20 * kSecondNs, 60 * kSecondNs, 120 * kSecondNs,
       Workload::kHourlyJob, catalog_->hourly_group);
  plan(kDayNs, 2 * kHourNs + 30 * kMinuteNs, 30 * kSecondNs, 8 * kMinuteNs, 12 * kMinuteNs,
       Workload::kDailyJob, catalog_->daily_group);
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Container& a, const Container& b) { return a.start_ns < b.start_ns; });
  for (Container& c : jobs) AddContainer(std::move(c));
}

void FleetSimulatorImpl::PlanDeploy(int64_t slot_start_ns) {
  // A rolling replacement of every orders-api replica, one step apart.
  deploy_ns_ = slot_start_ns + 5 * kMinuteNs;
  const int64_t step = std::min<int64_t>(kMinuteNs, 30 * kMinuteNs / options_.replicas);
  for (int slot = 0; slot < options_.replicas; ++slot) {
    const int64_t at = deploy_ns_ + slot * step;
    const int old = FindContainer(Workload::kApi, slot, at, at);
    containers_[old].end_ns = at;
    containers_[old].exits = true;
    Container c;
    c.workload = Workload::kApi;
    c.group = catalog_->api_group;
    c.slot = slot;
    c.generation = 1;
    c.start_ns = at;
    c.end_ns = run_end_;
    c.salt = ContainerSalt(c.workload, slot, 1, at);
    AddContainer(std::move(c));
  }
}

absl::Status FleetSimulatorImpl::Plan() {
  const Catalog& cat = *catalog_;
  const int replicas = options_.replicas;
  auto primary = [&](Workload workload, Symbol group, int slot) {
    Container c;
    c.workload = workload;
    c.group = group;
    c.slot = slot;
    c.start_ns = run_start_;
    c.end_ns = run_end_;
    c.boot = workload != Workload::kRole;
    c.salt = ContainerSalt(workload, slot, 0, run_start_);
    AddContainer(std::move(c));
  };
  for (int i = 0; i < replicas; ++i) primary(Workload::kWeb, cat.web_group, i);
  for (int i = 0; i < replicas; ++i) primary(Workload::kApi, cat.api_group, i);
  for (int i = 0; i < replicas; ++i) primary(Workload::kWorker, cat.worker_group, i);
  for (int i = 0; i < replicas; ++i) primary(Workload::kExporter, cat.exporter_group, i);
  for (int i = 0; i < 2; ++i) primary(Workload::kRole, cat.account, i);
  if (options_.autoscaling) PlanAutoscaling();
  if (options_.batch_jobs) PlanJobs();

  // After learning: one slot for the deploy, then one per attack.
  const int slots = static_cast<int>(options_.attacks.size()) + (options_.deploys ? 1 : 0);
  if (slots > 0) {
    const int64_t slot_ns = (run_end_ - learning_end_) / slots;
    int slot = 0;
    if (options_.deploys) PlanDeploy(learning_end_ + slot_ns * slot++);
    Rng rng(Mix64(options_.seed, kSaltAttacks));
    int occurrences[kAttackTypeCount] = {};
    for (AttackType type : options_.attacks) {
      const int64_t start =
          learning_end_ + slot_ns * slot++ + 3 * kMinuteNs + Jitter(rng, 0, 2 * kMinuteNs);
      if (absl::Status s = PlanAttack(type, occurrences[static_cast<int>(type)]++, start); !s.ok())
        return s;
    }
  }

  // Spawns in time order; plan order breaks ties.
  for (size_t i = 0; i < containers_.size(); ++i) {
    spawns_.push_back({containers_[i].start_ns, static_cast<int>(i), -1});
  }
  for (size_t i = 0; i < attacks_.size(); ++i) {
    if (attacks_[i].type != AttackType::kUnexpectedWorkload) {
      spawns_.push_back({attacks_[i].start_ns, -1, static_cast<int>(i)});
    }
  }
  std::stable_sort(spawns_.begin(), spawns_.end(),
                   [](const SpawnItem& a, const SpawnItem& b) { return a.time_ns < b.time_ns; });
  for (const SpawnItem& item : spawns_) {
    if (item.container >= 0) entity_order_.push_back(item.container);
  }
  ids_.clear();  // only needed while planning
  std::stable_sort(labels_.begin(), labels_.end(), [](const AttackLabel& a, const AttackLabel& b) {
    return a.start_ns < b.start_ns;
  });
  return absl::OkStatus();
}

absl::Status FleetSimulatorImpl::PlanAttack(AttackType type, int occurrence, int64_t start) {
  const int64_t end = start + AttackLengthNs(type);
  const int replicas = options_.replicas;
  Rng rng(Mix64(Mix64(options_.seed, kSaltScripts),
                Mix64(static_cast<uint64_t>(type), static_cast<uint64_t>(occurrence))));
  PlannedAttack attack;
  attack.type = type;
  attack.start_ns = start;
  attack.end_ns = end;
  std::string what;

  auto target = [&](Workload workload, int base_slot) -> int {
    return FindContainer(workload, (base_slot + occurrence) % replicas, start, end);
  };
  switch (type) {
    case AttackType::kCryptoMiner:
      attack.container = target(Workload::kWeb, 0);
      attack.script = MinerScript(start, end, rng, &what);
      break;
    case AttackType::kReverseShell:
      attack.container = target(Workload::kApi, 0);
      attack.script = ReverseShellScript(start, end, rng, &what);
      break;
    case AttackType::kUnexpectedWorkload: {
      static constexpr std::string_view kImages[] = {
          "docker.io/alpine/socat", "docker.io/library/busybox", "ghcr.io/k0d3r/tunnel"};
      Container c;
      c.workload = Workload::kSidecar;
      c.group = S(kImages[occurrence % 3]);
      c.start_ns = start;
      c.end_ns = end;
      c.boot = false;
      c.salt = ContainerSalt(c.workload, occurrence, 0, start);
      c.attack = static_cast<int>(attacks_.size());
      attack.container = AddContainer(std::move(c));
      attack.script = SidecarScript(start, end, rng, &what);
      break;
    }
    case AttackType::kExfiltration:
      attack.container = target(Workload::kWorker, 0);
      attack.script = ExfiltrationScript(start, end, rng, &what);
      break;
    case AttackType::kCredentialAbuse:
      attack.container = FindContainer(Workload::kRole, 0, start, end);
      attack.script = CredentialScript(start, end, rng, &what);
      break;
    case AttackType::kScan:
      attack.container = target(Workload::kApi, 1);
      attack.script = ScanScript(start, end, rng, &what);
      break;
    case AttackType::kSilentService:
      attack.container = target(Workload::kApi, 2);
      what = "silent service: the orders-api replica stops serving requests for 30 minutes "
             "(no requests, no database connects, no helper execs) while the container lives "
             "and keeps answering its health probes";
      if (attack.container >= 0) {
        containers_[attack.container].impairments.push_back(
            {Impairment::Type::kSilent, start, end});
      }
      break;
    case AttackType::kLatencyShift:
      attack.container = target(Workload::kWeb, 1);
      what = "latency and error shift: the web replica answers requests 5x slower and 30% of "
             "them with 5xx (500, 502, 503, 504) for 20 minutes";
      if (attack.container >= 0) {
        containers_[attack.container].impairments.push_back({Impairment::Type::kSlow, start, end});
      }
      break;
  }
  if (attack.container < 0) {
    return absl::InternalError(absl::StrCat("fleet simulator: no live target for attack ",
                                            internal::ToAbsl(AttackTypeName(type))));
  }
  const Container& c = containers_[attack.container];
  AttackLabel label;
  label.type = type;
  label.entity = c.id;
  label.group = std::string(symbols_.Name(c.group));
  label.start_ns = start;
  label.end_ns = end;
  label.description = std::move(what);
  labels_.push_back(std::move(label));
  attacks_.push_back(std::move(attack));
  return absl::OkStatus();
}

// --- attack scripts ------------------------------------------------------------

std::vector<ScriptItem> FleetSimulatorImpl::MinerScript(int64_t t, int64_t end, Rng& rng,
                                                        std::string* what) {
  const Symbol node = catalog_->node, sh = catalog_->sh;
  const Symbol curl = S("/usr/bin/curl"), chmod = S("/bin/chmod"), xmrig = S("/tmp/.x/xmrig");
  const Symbol pool1 = S("45.9.148.21:3333"), pool2 = S("45.9.148.22:4444");
  std::vector<ScriptItem> s;
  s.push_back(Item(t, Kind::kExec, sh, node));
  s.push_back(Item(t + 400 * kMillisecondNs, Kind::kExec, curl, sh));
  s.push_back(WithValue(Item(t + 600 * kMillisecondNs, Kind::kConnect, S("91.215.85.17:80"), curl),
                        2'450'112));
  s.push_back(Item(t + 2500 * kMillisecondNs, Kind::kExec, chmod, sh));
  s.push_back(Item(t + 2700 * kMillisecondNs, Kind::kExec, xmrig, sh));
  // Stratum: a login, then shares every ~30 s, a fifth of them to the fallback pool.
  for (int64_t at = t + 3500 * kMillisecondNs; at < end - kSecondNs;
       at += Jitter(rng, 25 * kSecondNs, 35 * kSecondNs)) {
    const Symbol pool = rng.Uniform() < 0.8 ? pool1 : pool2;
    s.push_back(WithValue(Item(at, Kind::kConnect, pool, xmrig),
                          sim_internal::Quantize(rng.LogNormal(2000, 0.3), 1)));
  }
  *what = "crypto-miner: /bin/sh spawned by /usr/local/bin/node fetches a payload with "
          "/usr/bin/curl from 91.215.85.17:80 and runs /tmp/.x/xmrig, which connects to the "
          "mining pool 45.9.148.21:3333 and its fallback 45.9.148.22:4444 every ~30 s";
  return s;
}

std::vector<ScriptItem> FleetSimulatorImpl::ReverseShellScript(int64_t t, int64_t end, Rng& rng,
                                                               std::string* what) {
  const Symbol sh = catalog_->sh, cat = S("/bin/cat");
  const Symbol c2 = S("203.0.113.66:4444");
  std::vector<ScriptItem> s;
  s.push_back(Item(t, Kind::kExec, sh, catalog_->orders_api));
  s.push_back(WithValue(Item(t + 200 * kMillisecondNs, Kind::kConnect, c2, sh), 512));
  struct Step { int64_t at_s; const char* exe; const char* file; double bytes; };
  static constexpr Step kSteps[] = {
      {20, "/usr/bin/id", nullptr, 0},
      {35, "/bin/uname", nullptr, 0},
      {50, "/usr/bin/whoami", nullptr, 0},
      {70, "/bin/cat", "/etc/passwd", 1432},
      {120, "/bin/ps", nullptr, 0},
      {180, "/bin/ls", nullptr, 0},
      {240, "/bin/cat", "/var/run/secrets/kubernetes.io/serviceaccount/token", 1024},
      {360, "/usr/bin/env", nullptr, 0},
  };
  for (const Step& step : kSteps) {
    const int64_t at = t + step.at_s * kSecondNs + Jitter(rng, 0, 5 * kSecondNs);
    const Symbol exe = S(step.exe);
    s.push_back(Item(at, Kind::kExec, exe, sh));
    if (step.file != nullptr) {
      s.push_back(WithValue(Item(at + 10 * kMillisecondNs, Kind::kFile, S(step.file), cat),
                            step.bytes));
    }
  }
  // The session's traffic, reported when the connection closes.
  s.push_back(WithValue(Item(end - 10 * kSecondNs, Kind::kConnect, c2, sh), 48'213));
  *what = "reverse shell: /bin/sh spawned by /app/orders-api connects out to 203.0.113.66:4444 "
          "and runs recon commands: id, uname, whoami, cat /etc/passwd, cat the "
          "service-account token, ps, ls, env";
  return s;
}

std::vector<ScriptItem> FleetSimulatorImpl::SidecarScript(int64_t t, int64_t end, Rng& rng,
                                                          std::string* what) {
  const Symbol socat = S("/usr/bin/socat"), sh = catalog_->sh, wget = S("/usr/bin/wget");
  const Symbol beacon = S("198.51.100.23:8443");
  std::vector<ScriptItem> s;
  s.push_back(Item(t, Kind::kExec, socat, catalog_->shim));
  s.push_back(WithValue(Item(t + kSecondNs, Kind::kConnect, beacon, socat), 900));
  for (int64_t at = t + 60 * kSecondNs; at < end - kSecondNs;
       at += Jitter(rng, 50 * kSecondNs, 70 * kSecondNs)) {
    s.push_back(WithValue(Item(at, Kind::kConnect, beacon, socat),
                          sim_internal::Quantize(rng.LogNormal(4000, 0.5), 1)));
  }
  for (int64_t minute : {5, 15}) {
    const int64_t at = t + minute * kMinuteNs + Jitter(rng, 0, 10 * kSecondNs);
    s.push_back(Item(at, Kind::kExec, sh, socat));
    s.push_back(Item(at + 300 * kMillisecondNs, Kind::kExec, wget, sh));
  }
  *what = "unexpected workload: a container of an image never seen in the fleet starts in the "
          "namespace, runs /usr/bin/socat and beacons to 198.51.100.23:8443 every minute, "
          "fetching with /usr/bin/wget from a shell twice";
  return s;
}

std::vector<ScriptItem> FleetSimulatorImpl::ExfiltrationScript(int64_t t, int64_t end, Rng& rng,
                                                               std::string* what) {
  const Symbol dest = S("198.51.100.77:443");
  std::vector<ScriptItem> s;
  double total = 0;
  const int64_t step = (end - t) / 30;
  for (int i = 0; i < 30; ++i) {
    const int64_t at = t + i * step + (i == 0 ? 0 : Jitter(rng, 0, step / 2));
    const double bytes = sim_internal::Quantize(rng.LogNormal(50e6, 0.3), 1);
    total += bytes;
    s.push_back(WithValue(Item(at, Kind::kConnect, dest, catalog_->worker), bytes));
  }
  *what = absl::StrCat("exfiltration: /usr/local/bin/worker sends ", FormatBytes(total),
                       " in 30 connections to the new destination 198.51.100.77:443");
  return s;
}

std::vector<ScriptItem> FleetSimulatorImpl::CredentialScript(int64_t t, int64_t end, Rng& rng,
                                                             std::string* what) {
  const Symbol foreign = S("185.220.101.47");
  static constexpr std::string_view kCalls[] = {
      "sts.amazonaws.com:GetCallerIdentity",
      "iam.amazonaws.com:ListUsers",
      "iam.amazonaws.com:ListRoles",
      "iam.amazonaws.com:ListAttachedRolePolicies",
      "s3.amazonaws.com:ListBuckets",
      "iam.amazonaws.com:CreateUser",
      "iam.amazonaws.com:CreateAccessKey",
      "iam.amazonaws.com:AttachUserPolicy",
      "secretsmanager.amazonaws.com:ListSecrets",
      "secretsmanager.amazonaws.com:GetSecretValue",
      "secretsmanager.amazonaws.com:GetSecretValue",
  };
  std::vector<ScriptItem> s;
  int64_t at = t;
  for (std::string_view call : kCalls) {
    s.push_back(Item(at, Kind::kApi, S(call), foreign));
    at += Jitter(rng, 10 * kSecondNs, 40 * kSecondNs);
  }
  // Then bulk reads of the bucket the role normally reads, from the foreign IP.
  const Symbol get = S("s3.amazonaws.com:GetObject");
  for (int i = 0; i < 12 && at < end - kSecondNs; ++i) {
    s.push_back(Item(at, Kind::kApi, get, foreign));
    at += Jitter(rng, 5 * kSecondNs, 20 * kSecondNs);
  }
  *what = "credential abuse: the role's credentials are used from the foreign source IP "
          "185.220.101.47 to call actions it never calls: sts:GetCallerIdentity, iam:ListUsers, "
          "iam:ListRoles, iam:CreateUser, iam:CreateAccessKey, iam:AttachUserPolicy, "
          "s3:ListBuckets, secretsmanager:ListSecrets and GetSecretValue, then s3:GetObject "
          "in bulk";
  return s;
}

std::vector<ScriptItem> FleetSimulatorImpl::ScanScript(int64_t t, int64_t end, Rng& rng,
                                                       std::string* what) {
  // 100 consecutive hosts of 10.0.0.0/22 (from a random start) x 4 ports,
  // host by host, at uniform random times.
  static constexpr int kPorts[] = {22, 80, 443, 6379};
  const int first = static_cast<int>(rng.Below(4 * 254 - 100));
  std::vector<int64_t> times(400);
  for (int64_t& at : times) at = t + Offset(rng, end - t - kSecondNs);
  std::sort(times.begin(), times.end());
  times[0] = t;
  std::vector<ScriptItem> s;
  for (int i = 0; i < 400; ++i) {
    const int host = first + i / 4;
    const std::string dest =
        absl::StrCat("10.0.", host / 254, ".", host % 254 + 1, ":", kPorts[i % 4]);
    s.push_back(WithValue(Item(times[i], Kind::kConnect, S(dest), catalog_->orders_api), 0));
  }
  *what = "scan: /app/orders-api connects to 400 new internal destinations (100 hosts of "
          "10.0.0.0/22 x ports 22, 80, 443, 6379) in 4 minutes";
  return s;
}

// --- generation ----------------------------------------------------------------

void FleetSimulatorImpl::AddSource(std::unique_ptr<Source> source) {
  if (source->next_ns() >= source->end_ns()) return;
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    sources_[slot] = std::move(source);
  } else {
    slot = static_cast<uint32_t>(sources_.size());
    sources_.push_back(std::move(source));
  }
  heap_.Push({sources_[slot]->next_ns(), next_seq_++, slot});
}

void FleetSimulatorImpl::AddTraffic(const TrafficSpec& spec, const Container& c, int64_t start_ns,
                                    int64_t end_ns, int stream, bool all_impairments) {
  std::vector<Impairment> impairments;
  for (const Impairment& impairment : c.impairments) {
    if (all_impairments || impairment.type == Impairment::Type::kSilent) {
      impairments.push_back(impairment);
    }
  }
  AddSource(std::make_unique<TrafficSource>(spec, world_, c.entity, c.group, start_ns, end_ns,
                                            StreamSeed(c.salt, stream), std::move(impairments)));
}

void FleetSimulatorImpl::AddPeriodic(const PeriodicSpec& spec, const Container& c,
                                     int64_t first_ns, int64_t end_ns, int stream) {
  AddSource(std::make_unique<PeriodicSource>(spec, world_, c.entity, c.group, first_ns, end_ns,
                                             StreamSeed(c.salt, stream)));
}

int64_t FleetSimulatorImpl::AppendBoot(const std::vector<ExecStep>& steps, int64_t start_ns,
                                       Rng& rng, std::vector<ScriptItem>* script) const {
  int64_t t = start_ns;
  for (const ExecStep& step : steps) {
    t += Jitter(rng, step.min_delay_ns, step.max_delay_ns);
    script->push_back(Item(t, Kind::kExec, step.exe, step.parent));
  }
  return t;
}

void FleetSimulatorImpl::SpawnContainer(const Container& c) {
  const Catalog& cat = *catalog_;
  Rng rng(Mix64(Mix64(options_.seed, kSaltBoot), c.salt));
  std::vector<ScriptItem> script;
  // Traffic and probes stop before the exit, which is the container's last event.
  const int64_t live_end = c.exits ? c.end_ns - kExitLeadNs : c.end_ns;
  auto boot = [&](const std::vector<ExecStep>& steps) {
    return c.boot ? AppendBoot(steps, c.start_ns, rng, &script) : c.start_ns;
  };
  auto add_exit = [&](Symbol main) {
    if (c.exits) script.push_back(WithStatus(Item(live_end, Kind::kExit, main, kNoSymbol), 0));
  };
  const int64_t probe_phase = Jitter(rng, 0, 10 * kSecondNs - 1);
  const int64_t first_probe = c.start_ns + 10 * kSecondNs + probe_phase;

  switch (c.workload) {
    case Workload::kWeb: {
      const int64_t ready = boot(cat.web_boot) + 200 * kMillisecondNs;
      AddTraffic(cat.web_requests, c, ready, live_end, 0, true);
      AddTraffic(cat.web_backend, c, ready, live_end, 1, false);
      AddTraffic(cat.web_cloud, c, ready, live_end, 2, false);
      AddPeriodic(cat.probe, c, first_probe, live_end, 3);
      add_exit(cat.node);
      break;
    }
    case Workload::kApi: {
      const int64_t ready =
          boot(c.generation == 0 ? cat.api_boot : cat.api_boot_v2) + 200 * kMillisecondNs;
      AddTraffic(cat.api_requests, c, ready, live_end, 0, true);
      AddTraffic(cat.api_db, c, ready, live_end, 1, false);
      AddTraffic(cat.api_helper, c, ready, live_end, 2, false);
      if (c.generation > 0) AddTraffic(cat.api_redis, c, ready, live_end, 4, false);
      AddPeriodic(cat.probe, c, first_probe, live_end, 3);
      add_exit(cat.orders_api);
      break;
    }
    case Workload::kWorker: {
      const int64_t ready = boot(cat.worker_boot) + 200 * kMillisecondNs;
      AddTraffic(cat.worker_queue, c, ready, live_end, 0, false);
      AddPeriodic(cat.probe, c, first_probe, live_end, 3);
      AddPeriodic(cat.worker_tool, c, ready + Jitter(rng, kMinuteNs, 5 * kMinuteNs), live_end, 5);
      add_exit(cat.worker);
      break;
    }
    case Workload::kExporter: {
      const int64_t ready = boot(cat.exporter_boot);
      AddPeriodic(cat.metrics, c, ready + Jitter(rng, kSecondNs, 15 * kSecondNs), live_end, 0);
      add_exit(cat.node_exporter);
      break;
    }
    case Workload::kRole:
      AddTraffic(c.slot == 0 ? cat.role_orders : cat.role_reports, c, c.start_ns, c.end_ns, 0,
                 false);
      break;
    case Workload::kHourlyJob: {
      // sh -c cart-cleanup: a few database round trips, then both exit.
      const int64_t t = c.start_ns + Jitter(rng, 50 * kMillisecondNs, 300 * kMillisecondNs);
      const int64_t work = t + Jitter(rng, 100 * kMillisecondNs, 400 * kMillisecondNs);
      const int64_t done = c.end_ns - 20 * kMillisecondNs;
      script.push_back(Item(t, Kind::kExec, cat.sh, cat.shim));
      script.push_back(Item(work, Kind::kExec, cat.cart_cleanup, cat.sh));
      const int64_t connects = rng.Between(6, 14);
      for (int64_t i = 0; i < connects; ++i) {
        const int64_t at = work + kSecondNs + Offset(rng, done - work - 2 * kSecondNs);
        script.push_back(WithValue(Item(at, Kind::kConnect, cat.db_primary, cat.cart_cleanup),
                                   sim_internal::Quantize(rng.LogNormal(20000, 0.6), 1)));
      }
      script.push_back(WithStatus(Item(done, Kind::kExit, cat.cart_cleanup, kNoSymbol), 0));
      script.push_back(
          WithStatus(Item(done + 5 * kMillisecondNs, Kind::kExit, cat.sh, kNoSymbol), 0));
      break;
    }
    case Workload::kDailyJob: {
      // python3 report.py: pg_dump from the read replica for ~5 minutes, then
      // uploads to object storage (many addresses) until the end.
      const int64_t t = c.start_ns + Jitter(rng, 50 * kMillisecondNs, 300 * kMillisecondNs);
      const int64_t dump = t + Jitter(rng, kSecondNs, 3 * kSecondNs);
      const int64_t dump_done = dump + Jitter(rng, 4 * kMinuteNs, 5 * kMinuteNs);
      const int64_t done = c.end_ns - 20 * kMillisecondNs;
      script.push_back(Item(t, Kind::kExec, cat.python3, cat.shim));
      script.push_back(Item(dump, Kind::kExec, cat.pg_dump, cat.python3));
      const int64_t reads = rng.Between(30, 60);
      for (int64_t i = 0; i < reads; ++i) {
        const int64_t at = dump + Offset(rng, dump_done - dump);
        script.push_back(WithValue(Item(at, Kind::kConnect, cat.db_replica, cat.pg_dump),
                                   sim_internal::Quantize(rng.LogNormal(2e6, 0.5), 1)));
      }
      script.push_back(WithStatus(Item(dump_done, Kind::kExit, cat.pg_dump, kNoSymbol), 0));
      IdSpace& cloud = catalog_->cloud;
      const int64_t uploads = rng.Between(20, 40);
      for (int64_t i = 0; i < uploads; ++i) {
        const int64_t at = dump_done + kSecondNs + Offset(rng, done - dump_done - 2 * kSecondNs);
        script.push_back(WithValue(Item(at, Kind::kConnect, cloud.Draw(rng, symbols_), cat.python3),
                                   sim_internal::Quantize(rng.LogNormal(5e6, 0.5), 1)));
      }
      script.push_back(WithStatus(Item(done, Kind::kExit, cat.python3, kNoSymbol), 0));
      break;
    }
    case Workload::kSidecar:
      script = std::move(attacks_[c.attack].script);
      break;
  }
  if (!script.empty()) {
    AddSource(std::make_unique<ScriptSource>(c.entity, c.group, std::move(script), c.end_ns));
  }
}

void FleetSimulatorImpl::Spawn(const SpawnItem& item) {
  if (item.container >= 0) {
    SpawnContainer(containers_[item.container]);
    return;
  }
  PlannedAttack& attack = attacks_[item.attack];
  const Container& c = containers_[attack.container];
  if (!attack.script.empty()) {
    AddSource(std::make_unique<ScriptSource>(c.entity, c.group, std::move(attack.script),
                                             attack.end_ns));
  }
}

bool FleetSimulatorImpl::Next(Event* event) {
  for (;;) {
    if (next_spawn_ < spawns_.size() &&
        (heap_.empty() || spawns_[next_spawn_].time_ns <= heap_.top().time_ns)) {
      Spawn(spawns_[next_spawn_++]);
      continue;
    }
    if (heap_.empty()) return false;
    const SourceHeap::Item top = heap_.top();
    Source* source = sources_[top.slot].get();
    const bool produced = source->Fire(event);
    if (source->next_ns() < source->end_ns()) {
      heap_.ReplaceTop({source->next_ns(), top.seq, top.slot});
    } else {
      heap_.Pop();
      sources_[top.slot].reset();
      free_slots_.push_back(top.slot);
    }
    if (produced) {
      ++emitted_;
      return true;
    }
  }
}

std::vector<std::string> FleetSimulatorImpl::entities() const {
  std::vector<std::string> out;
  out.reserve(entity_order_.size());
  for (int i : entity_order_) out.push_back(containers_[i].id);
  return out;
}

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("FleetOptions.", internal::ToAbsl(field), ": ", internal::ToAbsl(what)));
}

absl::Status Validate(const FleetOptions& o) {
  if (o.start_ns < 0) {
    return Invalid("start_ns", absl::StrCat("expected a time at or after "
                                            "1970-01-01T00:00:00Z, got ", o.start_ns, " ns"));
  }
  if (o.duration <= absl::ZeroDuration() || absl::ToInt64Nanoseconds(o.duration) > kMaxDurationNs) {
    return Invalid("duration", absl::StrCat("expected more than 0 and at most 366 days, got ",
                                            FormatDuration(o.duration)));
  }
  if (o.start_ns > std::numeric_limits<int64_t>::max() - absl::ToInt64Nanoseconds(o.duration)) {
    return Invalid("start_ns", "start_ns + duration overflows the time range (year 2262)");
  }
  if (o.learning < absl::ZeroDuration() || o.learning > o.duration) {
    return Invalid("learning", absl::StrCat("expected 0 <= learning <= duration (",
                                            FormatDuration(o.duration), "), got ",
                                            FormatDuration(o.learning)));
  }
  if (!(o.load >= kMinLoad) || !(o.load <= kMaxLoad)) {
    return Invalid("load", absl::StrFormat("expected a number in [%g, %g], got %g", kMinLoad,
                                           kMaxLoad, o.load));
  }
  if (o.replicas < 1 || o.replicas > kMaxReplicas) {
    return Invalid("replicas",
                   absl::StrCat("expected 1..", kMaxReplicas, ", got ", o.replicas));
  }
  for (size_t i = 0; i < o.attacks.size(); ++i) {
    const int type = static_cast<int>(o.attacks[i]);
    if (type < 0 || type >= kAttackTypeCount) {
      return Invalid(absl::StrCat("attacks[", i, "]"),
                     absl::StrCat("expected an AttackType, got ", type));
    }
  }
  const int64_t slots = static_cast<int64_t>(o.attacks.size()) + (o.deploys ? 1 : 0);
  if (slots > 0) {
    const int64_t after = absl::ToInt64Nanoseconds(o.duration - o.learning);
    if (after / slots < kMinSlotNs) {
      return Invalid("duration",
                     absl::StrCat("the ", FormatDuration(o.duration - o.learning),
                                  " after learning must give each of the ", slots,
                                  " attack and deploy slots at least 40m (", slots * 40,
                                  "m in all): lengthen duration, shorten learning, or inject "
                                  "fewer attacks"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FleetSimulator>> FleetSimulator::Create(
    const FleetOptions& options, SymbolTable& symbols) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  auto simulator = std::make_unique<FleetSimulatorImpl>(options, symbols);
  if (absl::Status s = simulator->Plan(); !s.ok()) return s;
  return std::unique_ptr<FleetSimulator>(std::move(simulator));
}

}  // namespace timescan::sim
