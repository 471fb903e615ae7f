// `timescan merge` and `timescan inspect`: snapshots on the command line.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"
#include "cli_common.h"
#include "timescan/engine.h"
#include "timescan/timestamps.h"

namespace timescan::cli {
namespace {

using internal::ToAbsl;

// absl's string_view: Status messages and std::strings both convert to it.
int Fail(absl::string_view message, int code) {
  std::fprintf(stderr, "timescan: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace

int RunMerge(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string out_path;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-o" || arg == "--out") {
      if (i + 1 >= argc) return Fail("merge: -o needs the snapshot file to write", kExitUsage);
      out_path = argv[++i];
    } else if (arg.size() > 1 && arg[0] == '-') {
      return Fail(absl::StrCat("merge: unknown option ", ToAbsl(arg)), kExitUsage);
    } else {
      inputs.emplace_back(arg);
    }
  }
  if (inputs.size() < 2 || out_path.empty()) {
    return Fail("merge needs two or more snapshots and -o FILE: timescan merge a.tsnap b.tsnap -o c.tsnap",
                kExitUsage);
  }
  absl::StatusOr<std::unique_ptr<Engine>> merged = Engine::LoadSnapshot(inputs[0]);
  if (!merged.ok()) return Fail(merged.status().message(), kExitUsage);
  for (size_t i = 1; i < inputs.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Engine>> other = Engine::LoadSnapshot(inputs[i]);
    if (!other.ok()) return Fail(other.status().message(), kExitUsage);
    if (absl::Status s = (*merged)->Merge(**other); !s.ok()) {
      return Fail(absl::StrCat(inputs[i], ": ", s.message()), kExitUsage);
    }
  }
  if (absl::Status s = (*merged)->SaveSnapshot(out_path); !s.ok()) {
    return Fail(s.message(), kExitFailure);
  }
  std::fprintf(stderr, "timescan: merged %zu snapshots into %s (%s baselines)\n", inputs.size(),
               out_path.c_str(), WithCommas((*merged)->Groups().size()).c_str());
  return kExitOk;
}

namespace {

// One line per list: "a (120), b (3)".
std::string ValueList(const std::vector<KnownValue>& values) {
  std::string out;
  for (const KnownValue& v : values) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", v.value, " (", WithCommas(v.count), ")");
  }
  return out;
}

void PrintGroup(const Engine& engine, const GroupSummary& group, size_t top) {
  std::printf("\n%s%s: %s windows learned, %s live entities%s\n", group.name.c_str(),
              group.ungrouped_entity ? " (ungrouped entity)" : "",
              WithCommas(group.learned_windows).c_str(), WithCommas(group.live_entities).c_str(),
              group.new_after_learning ? ", first seen after learning" : "");
  for (int k = 0; k < kKindCount; ++k) {
    const Kind kind = static_cast<Kind>(k);
    std::vector<double> hourly;
    double peak = 0;
    for (int hour = 0; hour < 24; ++hour) {
      const absl::StatusOr<CountExpectation> e = engine.ExpectedCount(group.name, kind, hour);
      if (!e.ok()) return;
      hourly.push_back(e->mean);
      peak = std::max(peak, e->mean);
    }
    auto subjects = engine.KnownValues(group.name, kind, Field::kSubject, SIZE_MAX);
    auto actors = engine.KnownValues(group.name, kind, Field::kActor, SIZE_MAX);
    if (!subjects.ok() || !actors.ok()) return;
    // A kind the group never showed predicts the prior's trickle only.
    if (peak < 0.05 && subjects->empty() && actors->empty()) continue;
    const std::string_view name = KindName(kind);
    std::printf("  %-8.*s per window by UTC hour:", static_cast<int>(name.size()), name.data());
    for (int hour = 0; hour < 24; hour += 3) std::printf(" %02dh %.3g", hour, hourly[hour]);
    std::printf("\n");
    for (const auto& [field, values] :
         {std::pair<const char*, std::vector<KnownValue>*>{"subject", &*subjects},
          std::pair<const char*, std::vector<KnownValue>*>{"actor", &*actors}}) {
      if (values->empty()) continue;
      const size_t n = values->size();
      std::vector<KnownValue> frequent(values->begin(), values->begin() + std::min(top, n));
      std::printf("    %-7s %s distinct; most frequent: %s\n", field, WithCommas(n).c_str(),
                  ValueList(frequent).c_str());
      if (n > top) {
        // Least frequent last in the list; show them rarest first.
        std::vector<KnownValue> rare(values->end() - std::min(top, n - top), values->end());
        std::reverse(rare.begin(), rare.end());
        std::printf("    %-7s rarest: %s\n", "", ValueList(rare).c_str());
      }
    }
  }
}

}  // namespace

int RunInspect(int argc, char** argv) {
  std::string path;
  size_t top = 5;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--top") {
      if (i + 1 >= argc || !absl::SimpleAtoi(argv[i + 1], &top) || top < 1) {
        return Fail("inspect: --top needs a whole number >= 1", kExitUsage);
      }
      ++i;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return Fail(absl::StrCat("inspect: unknown option ", ToAbsl(arg)), kExitUsage);
    } else if (path.empty()) {
      path = std::string(arg);
    } else {
      return Fail("inspect takes one snapshot", kExitUsage);
    }
  }
  if (path.empty()) return Fail("inspect needs a snapshot file: timescan inspect model.tsnap", kExitUsage);
  std::ifstream file(path, std::ios::binary);
  if (!file) return Fail(absl::StrCat(path, ": cannot open"), kExitUsage);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::unique_ptr<Engine>> loaded = Engine::FromSnapshot(bytes);
  if (!loaded.ok()) return Fail(absl::StrCat(path, ": ", loaded.status().message()), kExitUsage);
  const Engine& engine = **loaded;
  // The frame's version field (see lib/engine/snapshot.h), valid once the
  // bytes loaded.
  const uint32_t version = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8 |
                           static_cast<uint8_t>(bytes[10]) << 16 |
                           static_cast<uint32_t>(static_cast<uint8_t>(bytes[11])) << 24;
  const EngineOptions& o = engine.options();
  const EngineStats s = engine.stats();
  const std::vector<GroupSummary> groups = engine.Groups();

  std::printf("%s: timescan snapshot, format version %u, %s bytes\n", path.c_str(), version,
              WithCommas(bytes.size()).c_str());
  std::printf("options: window %s, learning %s, lateness %s, idle ttl %s, threshold %.2f; models:%s%s%s%s%s%s%s%s%s%s",
              FormatCompactDuration(o.window).c_str(), FormatCompactDuration(o.learning_period).c_str(),
              FormatCompactDuration(o.allowed_lateness).c_str(), FormatCompactDuration(o.idle_ttl).c_str(),
              engine.threshold(),
              o.categorical_model
                  ? (o.lifecycle_phase ? " categorical (start-up phase)" : " categorical")
                  : "",
              o.count_model ? " count" : "", o.hour_of_day_seasonality ? " (hourly seasonality)" : "",
              o.value_model ? " value" : "", o.metric_model ? " metric" : "",
              o.value_distribution ? " distribution" : "", o.mix_model ? " mix" : "",
              o.multivariate_model ? " multivariate" : "",
              o.accumulate_evidence ? " evidence" : "",
              o.sequence_model ? absl::StrCat(" sequence (", o.sequence_length, "-grams)").c_str()
                               : "");
  if (o.metric_model && o.metric_season > absl::ZeroDuration()) {
    std::printf(" (season %s)", FormatCompactDuration(o.metric_season).c_str());
  }
  if (o.group_consensus) {
    std::printf("; group consensus: quorum %.2f, wait %u windows, span %u windows",
                o.consensus_quorum, o.consensus_wait_windows, o.consensus_span_windows);
  }
  std::printf("\n");
  if (s.learning_ends_ns == 0) {
    std::printf("clock: no event seen yet\n");
  } else {
    std::printf("clock: learning %s %s, windows closed up to %s\n",
                s.learning_ends_ns <= s.watermark_ns ? "ended" : "ends",
                FormatRfc3339(s.learning_ends_ns).c_str(), FormatRfc3339(s.watermark_ns).c_str());
  }
  std::printf("seen: %s events, %s late, %s entities (%s live, %s retired), %s windows scored, "
              "%s findings\n",
              WithCommas(s.events).c_str(), WithCommas(s.late_events).c_str(),
              WithCommas(s.entities_seen).c_str(), WithCommas(s.entities_live).c_str(),
              WithCommas(s.entities_retired).c_str(), WithCommas(s.windows_scored).c_str(),
              WithCommas(s.findings).c_str());
  size_t ungrouped = 0;
  for (const GroupSummary& g : groups) ungrouped += g.ungrouped_entity ? 1 : 0;
  std::printf("baselines: %s groups and %s ungrouped entities, and the fleet (*)\n",
              WithCommas(groups.size() - 1 - ungrouped).c_str(), WithCommas(ungrouped).c_str());
  for (const GroupSummary& g : groups) PrintGroup(engine, g, top);
  return kExitOk;
}

}  // namespace timescan::cli
