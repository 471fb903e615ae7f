#include "timescan/finding.h"

#include "absl/strings/str_format.h"
#include "json_escape.h"
#include "timescan/timestamps.h"

namespace timescan {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "invalid";
}

std::string FindingToJson(const Finding& finding) {
  using internal::AppendJsonString;
  std::string out;
  out.reserve(256 + 128 * finding.reasons.size());
  out.append("{\"entity\":");
  AppendJsonString(finding.entity, &out);
  out.append(",\"group\":");
  AppendJsonString(finding.group, &out);
  out.append(",\"window_start\":");
  AppendJsonString(FormatRfc3339(finding.window_start_ns), &out);
  out.append(",\"window_end\":");
  AppendJsonString(FormatRfc3339(finding.window_end_ns), &out);
  // Fixed precision keeps the output readable and byte-stable.
  absl::StrAppendFormat(&out, ",\"score\":%.3f,\"severity\":", finding.score);
  AppendJsonString(SeverityName(finding.severity), &out);
  out.append(",\"reasons\":[");
  for (size_t i = 0; i < finding.reasons.size(); ++i) {
    const Reason& r = finding.reasons[i];
    if (i > 0) out.push_back(',');
    out.append("{\"model\":");
    AppendJsonString(r.model, &out);
    out.append(",\"feature\":");
    AppendJsonString(r.feature, &out);
    out.append(",\"observed\":");
    AppendJsonString(r.observed, &out);
    out.append(",\"expected\":");
    AppendJsonString(r.expected, &out);
    absl::StrAppendFormat(&out, ",\"p_value\":%.3g}", r.p_value);
  }
  out.append("]}");
  return out;
}

}  // namespace timescan
