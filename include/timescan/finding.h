// timescan/finding.h
//
// Provides what the engine reports: a Finding for each entity window whose
// score reaches the threshold, and a WindowScore for every closed window.
//
//   engine->SetFindingCallback([](const timescan::Finding& f) {
//     std::cout << timescan::FindingToJson(f) << "\n";
//   });

#ifndef TIMESCAN_FINDING_H_
#define TIMESCAN_FINDING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "timescan/symbol_table.h"

namespace timescan {

// How urgently a person should look. Reaches disk: never renumber.
enum class Severity : uint8_t {
  kLow = 0,       // group-level consensus change or a score just over the threshold
  kMedium = 1,    // score at least threshold + 2 (100x rarer than the threshold)
  kHigh = 2,      // score at least threshold + 4
  kCritical = 3,  // score at least threshold + 8
};

// Returns "low", "medium", "high" or "critical".
std::string_view SeverityName(Severity severity);

// One piece of evidence: which model, which feature, what was seen and what
// the baseline expected, and how unlikely that is.
struct Reason {
  std::string model;     // "categorical", "count", "value", "group", "consensus"
  std::string feature;   // "exec.subject", "count.connect", ...
  std::string observed;  // "/tmp/xmrig (new)", "212"
  std::string expected;  // "one of 3 known values ...", "40..60 (mean 50.1)"
  double p_value = 1;    // probability of a window at least this extreme
};

// An entity window that deviates from its baseline, or a group-level
// change: most replicas of a group showed the same behaviour within a few
// windows (EngineOptions::group_consensus). A group-level finding has an
// empty `entity`, severity low, covers the windows of the replica findings
// it replaces, scores as the highest of them, and its first reason (model
// "consensus") names the replicas; the others are the shared behaviours.
struct Finding {
  std::string entity;  // empty for a group-level finding
  std::string group;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  double score = 0;  // -log10 of the fused p-value
  double p_value = 1;
  Severity severity = Severity::kLow;
  std::vector<Reason> reasons;  // most important (smallest p-value) first
};

// The score of one closed entity window, reported for every window after the
// learning period, anomalous or not.
struct WindowScore {
  Symbol entity = kNoSymbol;
  Symbol group = kNoSymbol;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  double score = 0;
  double p_value = 1;
  uint32_t events = 0;  // events in the window (0: an empty window)
};

// Returns `finding` as one line of JSON (no trailing newline) with the fields
// entity, group, window_start, window_end (RFC 3339), score, severity and
// reasons [{model, feature, observed, expected, p_value}]. Strings are
// escaped; invalid UTF-8 becomes U+FFFD. Deterministic: the same finding
// always gives the same bytes.
std::string FindingToJson(const Finding& finding);

}  // namespace timescan

#endif  // TIMESCAN_FINDING_H_
