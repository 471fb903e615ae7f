// timescan demo: a labelled fleet from the simulator, scored in seconds, its
// findings printed for a person to read.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli_common.h"
#include "demo_scenario.h"
#include "timescan/timestamps.h"

namespace timescan::cli {
namespace {

std::string Clock(int64_t time_ns) {
  // "2026-11-03 00:41" from RFC 3339.
  const std::string t = FormatRfc3339(time_ns);
  return t.substr(0, 10) + " " + t.substr(11, 5);
}

void PrintFinding(const Finding& f, bool attack) {
  std::printf("  %s UTC  %-22s %-34s score %6.1f  %-8s%s\n", Clock(f.window_start_ns).c_str(),
              f.entity.empty() ? "(whole group)" : f.entity.c_str(),
              f.group.empty() ? "-" : f.group.c_str(), f.score,
              std::string(SeverityName(f.severity)).c_str(), attack ? "" : "  (benign)");
  size_t shown = 0;
  for (const Reason& r : f.reasons) {
    if (shown++ == 3) break;
    std::printf("      %-11s %-16s observed %s\n", r.model.c_str(), r.feature.c_str(),
                r.observed.c_str());
    std::printf("      %-11s %-16s expected %s  (p=%.2g)\n", "", "", r.expected.c_str(), r.p_value);
  }
}

}  // namespace

int RunDemo(int argc, char** argv) {
  sim::FleetOptions fleet;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--seed" && i + 1 < argc && absl::SimpleAtoi(argv[i + 1], &fleet.seed)) {
      ++i;
    } else {
      std::fprintf(stderr, "timescan demo: unknown argument %s (options: --seed N, --json)\n",
                   arg.c_str());
      return kExitUsage;
    }
  }
  EngineOptions options;  // the defaults: 1-minute windows, a learning day
  options.learning_period = fleet.learning;
  absl::StatusOr<demo::DemoResult> run = demo::RunDemo(fleet, options);
  if (!run.ok()) {
    std::fprintf(stderr, "timescan demo: %s\n", std::string(run.status().message()).c_str());
    return kExitFailure;
  }
  demo::DemoResult& r = *run;
  if (json) {
    for (const Finding& f : r.findings) std::printf("%s\n", FindingToJson(f).c_str());
    return kExitOk;
  }
  std::printf(
      "timescan demo: a simulated fleet (seed %d) of %s containers and roles in %s groups, "
      "%s events over %s.\nThe first %s are learned; then %zu attacks are injected. Default "
      "options: 1-minute windows, threshold %.2f (about one false finding per 10 entity-days).\n\n",
      static_cast<int>(fleet.seed), WithCommas(r.entities).c_str(), WithCommas(r.groups).c_str(),
      WithCommas(r.events).c_str(), FormatCompactDuration(fleet.duration).c_str(),
      FormatCompactDuration(fleet.learning).c_str(), r.attacks.size(), r.threshold);
  std::printf("Findings (%zu; consecutive windows of one entity shown once):\n", r.findings.size());
  const int64_t window_ns = absl::ToInt64Nanoseconds(options.window);
  for (size_t i = 0; i < r.findings.size();) {
    PrintFinding(r.findings[i], r.finding_is_attack[i]);
    // Fold the run of findings that continue this one, window after window.
    size_t j = i + 1;
    int64_t end = r.findings[i].window_end_ns;
    double best = r.findings[i].score;
    for (size_t k = i + 1; k < r.findings.size(); ++k) {
      if (r.findings[k].entity != r.findings[i].entity) continue;
      if (r.findings[k].window_start_ns != end) break;
      end = r.findings[k].window_end_ns;
      best = std::max(best, r.findings[k].score);
      std::swap(r.findings[k], r.findings[j]);
      std::swap(r.finding_is_attack[k], r.finding_is_attack[j]);
      ++j;
    }
    if (j > i + 1) {
      std::printf("      ... and %zu more windows through %s UTC (best score %.1f)\n", j - i - 1,
                  Clock(end - window_ns).substr(11).c_str(), best);
    }
    i = j;
  }
  std::printf("\nInjected attacks:\n");
  size_t found = 0;
  for (const demo::AttackOutcome& a : r.attacks) {
    found += a.found;
    std::printf("  %-20s %-22s %s..%s  ", std::string(sim::AttackTypeName(a.label.type)).c_str(),
                a.label.entity.c_str(), Clock(a.label.start_ns).substr(11).c_str(),
                Clock(a.label.end_ns).substr(11).c_str());
    if (a.found) {
      std::printf("found at %s (after %.0f min), best score %.1f\n",
                  Clock(a.first_finding_window_ns).substr(11).c_str(),
                  std::max<double>(0, (a.first_finding_window_ns - a.label.start_ns) / 60e9),
                  a.best_score);
    } else {
      std::printf("MISSED\n");
    }
  }
  std::printf(
      "\n%zu of %zu attacks found; %zu benign entities with findings over %.1f entity-days scored.\n"
      "Scored %s events in %.2f s (%.1f M events/s, simulation included).\n",
      found, r.attacks.size(), r.benign_entities_with_findings.size(), r.entity_days_scored,
      WithCommas(r.events).c_str(), r.seconds, r.events / r.seconds / 1e6);
  return kExitOk;
}

int RunSimulate(int argc, char** argv) {
  sim::FleetOptions fleet;
  std::string out_path, labels_path;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_next = i + 1 < argc;
    const std::string next = has_next ? argv[i + 1] : "";
    double number = 0;
    if (arg == "--deploys") {
      fleet.deploys = true;
      continue;
    }
    if (!has_next) {
      std::fprintf(stderr, "timescan simulate: %s needs a value\n", arg.c_str());
      return kExitUsage;
    }
    ++i;
    if (arg == "--out") {
      out_path = next;
    } else if (arg == "--labels") {
      labels_path = next;
    } else if (arg == "--seed" && absl::SimpleAtoi(next, &fleet.seed)) {
    } else if (arg == "--hours" && absl::SimpleAtod(next, &number)) {
      fleet.duration = absl::Hours(number);
    } else if (arg == "--load" && absl::SimpleAtod(next, &number)) {
      fleet.load = number;
    } else if (arg == "--learn") {
      absl::StatusOr<absl::Duration> d = ParseDuration(next);
      if (!d.ok()) {
        std::fprintf(stderr, "timescan simulate: --learn: %s\n", std::string(d.status().message()).c_str());
        return kExitUsage;
      }
      fleet.learning = *d;
    } else {
      std::fprintf(stderr, "timescan simulate: bad argument %s %s\n", arg.c_str(), next.c_str());
      return kExitUsage;
    }
  }
  std::ofstream out_file, labels_file;
  std::ostringstream discard;
  if (!out_path.empty()) out_file.open(out_path);
  if (!labels_path.empty()) labels_file.open(labels_path);
  if ((!out_path.empty() && !out_file) || (!labels_path.empty() && !labels_file)) {
    std::fprintf(stderr, "timescan simulate: cannot open the output files\n");
    return kExitFailure;
  }
  std::ostream& events = out_path.empty() ? std::cout : out_file;
  std::ostream& labels = labels_path.empty() ? static_cast<std::ostream&>(discard) : labels_file;
  if (absl::Status s = sim::WriteJsonl(fleet, events, labels); !s.ok()) {
    std::fprintf(stderr, "timescan simulate: %s\n", std::string(s.message()).c_str());
    return absl::IsInvalidArgument(s) ? kExitUsage : kExitFailure;
  }
  return kExitOk;
}

}  // namespace timescan::cli
