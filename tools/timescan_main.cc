// The timescan command line: a thin client of the library.
//
//   timescan score [options] FILE...|-     score events, write findings JSONL
//   timescan learn [options] FILE... --save M   learn baselines only
//   timescan merge A B... -o C             combine snapshots' baselines
//   timescan inspect M                     summarise a snapshot
//   timescan demo                          simulate a fleet with attacks and score it

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl_compat.h"
#include "cli_common.h"
#include "json_escape.h"
#include "timescan/engine.h"
#include "timescan/reader.h"
#include "timescan/timestamps.h"
#include "write_all.h"

namespace timescan::cli {

std::string WithCommas(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

namespace {

using internal::ToAbsl;
using internal::ToStd;

constexpr std::string_view kUsage = R"(usage: timescan <command> [options]

commands:
  score [options] FILE...|-   read events (native JSONL by default; .gz is read
                              transparently), learn, score, write findings JSONL
  learn [options] FILE...|- --save M
                              learn baselines from all of the input (no
                              scoring), then end learning and save snapshot M
  merge A B... -o C           combine the baselines of snapshots A, B, ...
                              (replicas or hosts of the same fleet) into C;
                              C keeps A's clock and live entities
  inspect M [--top N]         summarise snapshot M: version, size, options,
                              groups, entities, frequent and rare values,
                              learned rates by hour (N values per list, 5)
  demo [--seed N] [--json]    simulate a small fleet with injected attacks,
                              score it and print the findings readably
  simulate [options]          write the simulated fleet as native JSONL:
                              --out FILE (default stdout), --labels FILE,
                              --seed N, --hours H (default 30), --learn D
                              (default 24h), --load X (default 1), --deploys
  help                        this text

score options:
  --window D           window width (default 1m)
  --learn D            learning period from the first event (default 24h)
  --lateness D         allowed lateness of events (default 5s)
  --ttl D              retire entities idle this long (default 1h)
  --threshold S        finding threshold, -log10 p (default: derived from
                       --fp-rate and the window: 4.16 for 1m windows)
  --fp-rate R          false findings per entity-day the default threshold
                       aims at (default 0.1)
  --value-distribution on|off
                       the value-distribution model (per-event latency and
                       bytes against learned quantiles; default on)
  --accumulate-evidence on|off
                       accumulated evidence: per entity and test, a CUSUM of
                       the window p-values, so a weak signal repeated over
                       many windows becomes a finding (default on)
  --evidence-drift-p P the window p-value below which evidence accumulates
                       (default 0.05; (0, 0.3])
  --half-life D        learned baselines lose half their weight every D, so
                       they follow drift (default 0: every window weighs alike)
  --sequence-model on|off
                       the sequence model (n-grams of execs per container and
                       of syscalls per process, new or rare; default on)
  --sequence-length N  the n of its n-grams, 2..6 (default 3)
  --multivariate-model on|off
                       the multivariate model (the window's mix of counts,
                       bytes, latency, errors and distinct subjects against
                       the group's learned covariance; default on)
  --mix-model on|off   the mix model (each window's mix of routes, API
                       actions and destinations, and its count of distinct
                       known values, against the learned windows; default off:
                       costly at window close)
  --coarse-windows A,B  coarse count windows, in windows (e.g. 10,60: 10
                       minutes and 1 hour at 1m windows): sustained changes
                       of rate no single window shows; 0 turns a level off
                       (default 0,0: off)
  --lifecycle-phase on|off
                       values of a container's first two windows (boot
                       executables, migrations) are learned and judged as
                       start-up behaviour; in steady state they are new
                       ("seen only at start-up"; default on)
  --format F           auto|native|proto|falco|tetragon|cloudtrail|csv
                       (default auto)
  --map FIELD=COLUMN   CSV: read event field FIELD from column COLUMN
                       (repeatable; e.g. --map time=ts --map entity=container)
  --decode-thread on|off|auto
                       decode the input on a second thread while the engine
                       scores (same findings, faster on two cores); auto:
                       on for regular files when the machine has two cores
                       or more, off for stdin, pipes and devices, usually
                       live streams paced by their writer (default auto)
  --out FILE           write findings to FILE (default stdout)
  --window-scores FILE write every scored window as JSONL to FILE
  --strict             stop at the first bad record (exit code 2)
  --quiet              no progress line and no summary
  --load M             continue from snapshot M: its options, baselines, live
                       entities and open windows (engine options then come
                       from M; giving one too is an error)
  --mode learn|monitor|frozen
                       the engine's mode (default: learn for the learning
                       period, then monitor): learn learns every window and
                       scores none; monitor scores and learns the windows
                       below the threshold; frozen scores and learns nothing.
                       Allowed with --load (a loaded engine keeps its mode
                       otherwise)
  --save M             at the end of the input, save a snapshot to M instead
                       of closing the open windows: they travel in M, so
                       `score a --save M` then `score b --load M` writes what
                       `score a b` writes
durations: 90s, 1m, 1min, 24h, 1h30m. Exit codes: 0 ok, 1 I/O failure (an
input not readable to its end: what was read is scored), 2 bad usage, a
missing file or a directory, or (with --strict) bad input, 130 / 143 stopped
by SIGINT (Ctrl-C) / SIGTERM: what was read is scored (a second signal stops
at once).
)";

int Usage(std::string_view error) {
  std::fprintf(stderr, "timescan: %.*s\n\n%.*s", static_cast<int>(error.size()), error.data(),
               static_cast<int>(kUsage.size()), kUsage.data());
  return kExitUsage;
}

struct ScoreFlags {
  EngineOptions engine;
  std::string engine_flag;  // the first engine option given, for --load's check
  bool learn_flag = false;  // --learn given (learn refuses it)
  std::optional<timescan::Mode> mode;  // --mode
  std::string load_path;
  std::string save_path;
  ReaderOptions reader;
  std::string out_path;
  std::string window_scores_path;
  bool strict = false;
  bool quiet = false;
  std::optional<bool> decode_thread;  // --decode-thread; nullopt: auto
  std::vector<std::string> inputs;
};

// Parses the score flags. Returns an error message, or "" on success.
std::string ParseScoreFlags(int argc, char** argv, ScoreFlags* flags) {
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-" || arg.empty() || arg[0] != '-') {
      flags->inputs.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      for (++i; i < argc; ++i) flags->inputs.emplace_back(argv[i]);
      break;
    }
    std::string_view name = arg;
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    auto duration = [&](absl::Duration* out) -> std::string {
      if (!take()) return absl::StrCat(ToAbsl(name), " needs a duration");
      absl::StatusOr<absl::Duration> d = ParseDuration(value);
      if (!d.ok()) return absl::StrCat(ToAbsl(name), ": ", d.status().message());
      *out = *d;
      return "";
    };
    auto on_off = [&](bool* out) -> std::string {
      if (!take() || (value != "on" && value != "off")) {
        return absl::StrCat(ToAbsl(name), " needs on or off, got \"", value, "\"");
      }
      *out = value == "on";
      return "";
    };
    auto number = [&](double* out) -> std::string {
      if (!take() || !absl::SimpleAtod(value, out)) {
        return absl::StrCat(ToAbsl(name), " needs a number, got \"", value, "\"");
      }
      return "";
    };
    std::string error;
    if (name == "--window" || name == "--learn" || name == "--lateness" || name == "--ttl" ||
        name == "--threshold" || name == "--fp-rate" || name == "--value-distribution" ||
        name == "--accumulate-evidence" || name == "--evidence-drift-p" || name == "--half-life" ||
        name == "--sequence-model" || name == "--sequence-length" ||
        name == "--multivariate-model" ||
        name == "--mix-model" || name == "--lifecycle-phase" || name == "--coarse-windows") {
      if (flags->engine_flag.empty()) flags->engine_flag = std::string(name);
    }
    if (name == "--strict") {
      flags->strict = true;
    } else if (name == "--decode-thread") {
      if (!take() || (value != "on" && value != "off" && value != "auto")) {
        error = absl::StrCat(ToAbsl(name), " needs on, off or auto, got \"", value, "\"");
      } else if (value != "auto") {
        flags->decode_thread = value == "on";
      }
    } else if (name == "--quiet") {
      flags->quiet = true;
    } else if (name == "--window") {
      error = duration(&flags->engine.window);
    } else if (name == "--learn") {
      flags->learn_flag = true;
      error = duration(&flags->engine.learning_period);
    } else if (name == "--lateness") {
      error = duration(&flags->engine.allowed_lateness);
    } else if (name == "--ttl") {
      error = duration(&flags->engine.idle_ttl);
    } else if (name == "--half-life") {
      error = duration(&flags->engine.baseline_half_life);
    } else if (name == "--threshold") {
      double threshold = 0;
      error = number(&threshold);
      if (error.empty()) flags->engine.threshold = threshold;
    } else if (name == "--fp-rate") {
      error = number(&flags->engine.false_findings_per_entity_day);
    } else if (name == "--value-distribution") {
      error = on_off(&flags->engine.value_distribution);
    } else if (name == "--accumulate-evidence") {
      error = on_off(&flags->engine.accumulate_evidence);
    } else if (name == "--evidence-drift-p") {
      error = number(&flags->engine.evidence_drift_p);
    } else if (name == "--sequence-model") {
      error = on_off(&flags->engine.sequence_model);
    } else if (name == "--sequence-length") {
      uint32_t n = 0;
      if (!take() || !absl::SimpleAtoi(value, &n) || n < 2 || n > 6) {
        error = absl::StrCat("--sequence-length needs a whole number 2..6, got \"", value, "\"");
      } else {
        flags->engine.sequence_length = n;
      }
    } else if (name == "--multivariate-model") {
      error = on_off(&flags->engine.multivariate_model);
    } else if (name == "--mix-model") {
      error = on_off(&flags->engine.mix_model);
    } else if (name == "--coarse-windows") {
      // Ranges are the engine's to check (its error names the option).
      std::vector<std::string> parts;
      if (take()) parts = absl::StrSplit(value, ',');
      uint32_t a = 0;
      uint32_t b = 0;
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &a) || !absl::SimpleAtoi(parts[1], &b)) {
        error = absl::StrCat("--coarse-windows needs two whole numbers A,B (0: off), got \"", value,
                             "\"");
      } else {
        flags->engine.coarse_windows = {a, b};
      }
    } else if (name == "--lifecycle-phase") {
      error = on_off(&flags->engine.lifecycle_phase);
    } else if (name == "--format") {
      if (!take()) return "--format needs a value";
      std::optional<Format> format = FormatFromName(value);
      if (!format) {
        error = absl::StrCat("--format: unknown format \"", value,
                             "\"; expected auto, native, proto, falco, tetragon, cloudtrail or csv");
      } else {
        flags->reader.format = *format;
      }
    } else if (name == "--map") {
      if (!take()) return "--map needs FIELD=COLUMN";
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
        error = absl::StrCat("--map: expected FIELD=COLUMN (like time=ts), got \"", value, "\"");
      } else {
        flags->reader.csv_field_map.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      }
    } else if (name == "--out" || name == "-o") {
      if (!take()) return "--out needs a file";
      flags->out_path = value;
    } else if (name == "--load" || name == "--save") {
      if (!take() || value.empty()) return absl::StrCat(ToAbsl(name), " needs a snapshot file");
      (name == "--load" ? flags->load_path : flags->save_path) = value;
    } else if (name == "--mode") {
      if (!take() || !(flags->mode = ModeFromName(value))) {
        error = absl::StrCat("--mode needs learn, monitor or frozen, got \"", value, "\"");
      }
    } else if (name == "--window-scores") {
      if (!take()) return "--window-scores needs a file";
      flags->window_scores_path = value;
    } else {
      error = absl::StrCat("unknown option ", ToAbsl(name));
    }
    if (!error.empty()) return error;
  }
  if (flags->inputs.empty()) return "needs at least one FILE (or - for stdin)";
  if (!flags->load_path.empty() && !flags->engine_flag.empty()) {
    return absl::StrCat(flags->engine_flag, " cannot be combined with --load: the engine "
                        "options come from the snapshot");
  }
  return "";
}

// Findings or window scores, written with write(2) from a buffer of its
// own. The stop signals interrupt system calls (no SA_RESTART, so that a
// waiting read can stop), and stdio reports a write interrupted on a slow
// pipe as failed, losing what it held; here the write resumes. Real
// failures (a full disk) are reported, never lost.
class Output {
 public:
  absl::Status Open(const std::string& path) {
    path_ = path.empty() ? "stdout" : path;
    fd_ = path.empty() ? STDOUT_FILENO
                       : open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      return absl::UnavailableError(absl::StrCat(path, ": cannot open for writing: ",
                                                 std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  void Write(std::string_view line) {
    if (fd_ < 0 || error_ != 0) return;
    buffer_.append(line);
    buffer_.push_back('\n');
    if (buffer_.size() >= kBufferBytes) Drain();
  }
  // Hands what was written to the system (a live stream's findings go out
  // as they are found, not when the buffer fills).
  void Flush() { Drain(); }
  absl::Status Close() {
    if (fd_ < 0) return absl::OkStatus();
    Drain();
    if (fd_ != STDOUT_FILENO && close(fd_) != 0 && error_ == 0) error_ = errno;
    fd_ = -1;
    if (error_ != 0) {
      return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(error_)));
    }
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kBufferBytes = 64 << 10;

  void Drain() {
    if (fd_ >= 0 && error_ == 0) error_ = internal::WriteAll(fd_, buffer_);
    buffer_.clear();
  }

  std::string path_;
  int fd_ = -1;
  int error_ = 0;  // the errno of the first failure
  std::string buffer_;
};

// `score` scores and writes findings; `learn` learns from all of its input
// and saves the baselines.
enum class Command { kScore, kLearn };

// SIGINT or SIGTERM (Ctrl-C, or a service manager stopping a live stream):
// the number of the signal, else 0. Reading stops at the next record, or at
// once while a stream or a FIFO waits for its writer; what was read is
// scored (or learned and saved) as at the end of the input, and the exit
// code is 128 + the signal. The handler is one-shot: a second signal
// stops the process at once.
// Atomic rather than volatile sig_atomic_t: a decode thread reads it too.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);  // safe in a signal handler

void StopReading(int signal) { g_stop_signal.store(signal, std::memory_order_relaxed); }

void CatchStopSignals() {
  for (const int signal : {SIGINT, SIGTERM}) {
    struct sigaction current = {};
    // Left ignored where the shell ignores it (a background job's SIGINT).
    if (sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    struct sigaction action = {};
    action.sa_handler = StopReading;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART: a read or open waiting for a writer returns EINTR and
    // the reader asks keep_waiting.
    action.sa_flags = SA_RESETHAND;
    sigaction(signal, &action, nullptr);
  }
}

int RunScore(int argc, char** argv, Command command) {
  ScoreFlags flags;
  if (std::string error = ParseScoreFlags(argc, argv, &flags); !error.empty()) return Usage(error);
  if (command == Command::kLearn) {
    if (flags.save_path.empty()) return Usage("learn needs --save FILE: the snapshot to write");
    if (!flags.load_path.empty()) return Usage("learn starts afresh: --load is for score");
    if (!flags.out_path.empty() || !flags.window_scores_path.empty()) {
      return Usage("learn scores nothing: --out and --window-scores are for score");
    }
    if (flags.learn_flag) {
      return Usage("learn learns from all of its input: --learn is for score");
    }
    if (flags.mode.has_value()) return Usage("learn learns: --mode is for score");
    // Long enough for any input; learning ends where the input does.
    flags.engine.learning_period = absl::Hours(24 * 366);
  }
  absl::StatusOr<std::unique_ptr<Engine>> created =
      flags.load_path.empty() ? Engine::Create(flags.engine) : Engine::LoadSnapshot(flags.load_path);
  if (!created.ok()) {
    std::fprintf(stderr, "timescan: %s\n", std::string(created.status().message()).c_str());
    return kExitUsage;
  }
  Engine& engine = **created;
  if (flags.mode.has_value()) engine.SetMode(*flags.mode);
  // Counters travel in snapshots; the summary reports this run's part.
  const EngineStats before = engine.stats();

  Output findings_out;
  if (absl::Status s = findings_out.Open(flags.out_path); !s.ok()) {
    std::fprintf(stderr, "timescan: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  Output scores_out;
  if (!flags.window_scores_path.empty()) {
    if (absl::Status s = scores_out.Open(flags.window_scores_path); !s.ok()) {
      std::fprintf(stderr, "timescan: %s\n", std::string(s.message()).c_str());
      return kExitFailure;
    }
    engine.SetWindowScoreCallback([&](const WindowScore& w) {
      // Entity and group names come from the input: escaped as JSON.
      std::string line = "{\"entity\":";
      internal::AppendJsonString(engine.symbols().Name(w.entity), &line);
      line += ",\"group\":";
      internal::AppendJsonString(engine.symbols().Name(w.group), &line);
      absl::StrAppendFormat(&line, R"(,"window_start":"%s","score":%.4f,"p_value":%.4g,"events":%d})",
                            FormatRfc3339(w.window_start_ns), w.score, w.p_value, w.events);
      scores_out.Write(line);
    });
  }
  bool findings_unflushed = false;
  engine.SetFindingCallback([&](const Finding& f) {
    findings_out.Write(FindingToJson(f));
    findings_unflushed = true;
  });

  CatchStopSignals();
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  const bool tty = isatty(STDERR_FILENO) != 0;
  uint64_t records = 0, bad = 0, reported_errors = 0;
  std::map<std::string, uint64_t> skipped;
  constexpr uint64_t kErrorsShown = 10;
  constexpr size_t kBatch = 256;
  int exit_code = kExitOk;

  for (const std::string& input : flags.inputs) {
    if (g_stop_signal != 0) break;
    ReaderOptions reader_options = flags.reader;
    reader_options.decode_thread = flags.decode_thread.value_or(DecodeThreadPays(input));
    reader_options.keep_waiting = [] { return g_stop_signal == 0; };
    absl::StatusOr<std::unique_ptr<EventReader>> reader =
        EventReader::Open(input, engine.symbols(), reader_options);
    if (absl::IsCancelled(reader.status())) break;  // a signal while a FIFO waited
    if (!reader.ok()) {
      std::fprintf(stderr, "timescan: %s\n", std::string(reader.status().message()).c_str());
      return absl::IsNotFound(reader.status()) || absl::IsPermissionDenied(reader.status()) ||
                     absl::IsInvalidArgument(reader.status())
                 ? kExitUsage
                 : kExitFailure;
    }
    Event event;
    uint64_t since_check = 0;
    // Events go to the engine in batches, which lets it prefetch entity
    // state ahead; a batch never spans two files. A stream's (stdin, a
    // pipe) go one by one: a live sensor's event must not wait for the next
    // 255 to close its window.
    const size_t batch_size = IsStream(input) ? 1 : kBatch;
    std::vector<Event> batch;
    batch.reserve(batch_size);
    while (g_stop_signal == 0) {
      absl::StatusOr<bool> got = (*reader)->Next(&event);
      if (absl::IsCancelled(got.status())) break;  // a signal while the writer was quiet
      if (!got.ok()) {
        ++bad;
        if (flags.strict) {
          std::fprintf(stderr, "timescan: %s\n", std::string(got.status().message()).c_str());
          std::fprintf(stderr, "timescan: stopped at the first bad record (--strict)\n");
          (void)findings_out.Close();
          return kExitUsage;
        }
        if (reported_errors++ < kErrorsShown && !flags.quiet) {
          std::fprintf(stderr, "timescan: %s\n", std::string(got.status().message()).c_str());
        }
        if (absl::IsUnimplemented(got.status())) {
          exit_code = kExitUsage;
          break;
        }
        // The input could not be read to its end (a read error, a cut
        // gzip): what was read is scored, and the exit code says the rest
        // is missing.
        if (absl::IsDataLoss(got.status()) && exit_code == kExitOk) exit_code = kExitFailure;
        continue;
      }
      if (!*got) break;
      batch.push_back(event);
      if (batch.size() == batch_size) {
        engine.Ingest(absl::MakeConstSpan(batch));
        batch.clear();
        if (batch_size == 1 && findings_unflushed) {
          findings_out.Flush();
          findings_unflushed = false;
        }
      }
      if (++since_check == 65536 && !flags.quiet) {
        since_check = 0;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_progress >= std::chrono::seconds(tty ? 1 : 10)) {
          last_progress = now;
          const double seconds = std::chrono::duration<double>(now - started).count();
          const EngineStats s = engine.stats();
          std::fprintf(stderr, "timescan: %s events, %.1f M/s, %s entities, %s findings, at %s%s",
                       WithCommas(s.events).c_str(), s.events / seconds / 1e6,
                       WithCommas(s.entities_live).c_str(), WithCommas(s.findings).c_str(),
                       FormatRfc3339(s.watermark_ns).c_str(), tty ? "\r" : "\n");
        }
      }
    }
    engine.Ingest(absl::MakeConstSpan(batch));
    records += (*reader)->stats().records;
    for (const auto& [reason, n] : (*reader)->stats().skipped) skipped[reason] += n;
  }
  if (g_stop_signal != 0) {
    exit_code = 128 + g_stop_signal;
    std::fprintf(stderr, "timescan: %s: stopped reading; %s the events read\n",
                 g_stop_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)",
                 command == Command::kLearn ? "learning from" : "scoring");
  }
  if (command == Command::kLearn) {
    if (engine.stats().events == 0) {
      // A baseline of nothing would leave the next `score --load` learning
      // for the whole saved learning period.
      std::fprintf(stderr, "timescan: learn: no events in the input; nothing saved\n");
      return kExitUsage;
    }
    // The last windows are complete: nothing more of this input will come.
    engine.Flush();
    engine.EndLearning();
  } else if (flags.save_path.empty()) {
    engine.Flush();
  }
  if (!flags.save_path.empty()) {
    if (absl::Status s = engine.SaveSnapshot(flags.save_path); !s.ok()) {
      std::fprintf(stderr, "timescan: %s\n", std::string(s.message()).c_str());
      return kExitFailure;
    }
  }
  if (absl::Status s = findings_out.Close(); !s.ok()) {
    std::fprintf(stderr, "timescan: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  if (absl::Status s = scores_out.Close(); !s.ok()) {
    std::fprintf(stderr, "timescan: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  if (!flags.quiet) {
    const EngineStats s = engine.stats();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (tty) std::fprintf(stderr, "%80s\r", "");
    if (reported_errors > kErrorsShown) {
      std::fprintf(stderr, "timescan: ... and %s more bad records\n",
                   WithCommas(reported_errors - kErrorsShown).c_str());
    }
    std::string skipped_text;
    for (const auto& [reason, n] : skipped) {
      absl::StrAppend(&skipped_text, skipped_text.empty() ? "" : ", ", WithCommas(n), " ", reason);
    }
    std::fprintf(stderr,
                 "timescan: %s records, %s events, %s bad records, %s late events%s%s; "
                 "%s entities (%s retired), %s groups; %s windows scored, %s findings "
                 "(threshold %.2f); %.2fs\n",
                 WithCommas(records).c_str(), WithCommas(s.events - before.events).c_str(),
                 WithCommas(bad).c_str(), WithCommas(s.late_events - before.late_events).c_str(),
                 skipped_text.empty() ? "" : "; skipped: ", skipped_text.c_str(),
                 WithCommas(s.entities_seen - before.entities_seen).c_str(),
                 WithCommas(s.entities_retired - before.entities_retired).c_str(),
                 WithCommas(s.groups).c_str(),
                 WithCommas(s.windows_scored - before.windows_scored).c_str(),
                 WithCommas(s.findings - before.findings).c_str(), engine.threshold(), seconds);
    if (!flags.save_path.empty()) {
      std::fprintf(stderr, "timescan: saved %s (%s entities live%s)\n", flags.save_path.c_str(),
                   WithCommas(s.entities_live).c_str(),
                   command == Command::kLearn ? ", learning ended" : ", their open windows with them");
    }
  }
  return exit_code;
}

}  // namespace
}  // namespace timescan::cli

int main(int argc, char** argv) {
  using namespace timescan::cli;
  if (argc < 2) return Usage("missing command");
  const std::string_view command = argv[1];
  if (command == "score") return RunScore(argc - 2, argv + 2, Command::kScore);
  if (command == "learn") return RunScore(argc - 2, argv + 2, Command::kLearn);
  if (command == "merge") return RunMerge(argc - 2, argv + 2);
  if (command == "inspect") return RunInspect(argc - 2, argv + 2);
  if (command == "demo") return RunDemo(argc - 2, argv + 2);
  if (command == "simulate") return RunSimulate(argc - 2, argv + 2);
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(std::string(kUsage).c_str(), stdout);
    return kExitOk;
  }
  return Usage(absl::StrCat("unknown command \"", absl::CHexEscape(argv[1]), "\""));
}
