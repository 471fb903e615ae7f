// Attack type names and the JSONL writer of simulated runs.

#include <array>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "json_escape.h"
#include "timescan/sim.h"
#include "timescan/timestamps.h"

namespace timescan::sim {
namespace {

constexpr std::array<std::string_view, kAttackTypeCount> kAttackNames = {
    "crypto_miner", "reverse_shell", "unexpected_workload", "exfiltration",
    "credential_abuse", "scan", "silent_service", "latency_shift"};

constexpr size_t kFlushBytes = 1 << 20;

// Appends RFC 3339 UTC times as FormatRfc3339 does ("...:00Z", "...:00.123Z",
// "...:00.123456789Z"), formatting the date and time of day once per second.
class TimeFormatter {
 public:
  void Append(int64_t time_ns, std::string* out) {
    constexpr int64_t kNanos = 1'000'000'000;
    const int64_t second = time_ns / kNanos;
    int64_t nanos = time_ns % kNanos;
    if (second != cached_second_) {
      prefix_ = FormatRfc3339(second * kNanos);
      prefix_.pop_back();  // the 'Z'
      cached_second_ = second;
    }
    out->append(prefix_);
    if (nanos != 0) {
      int digits = 9;
      if (nanos % 1'000'000 == 0) {
        nanos /= 1'000'000;
        digits = 3;
      }
      char buf[10];
      buf[0] = '.';
      for (int i = digits; i >= 1; --i) {
        buf[i] = static_cast<char>('0' + nanos % 10);
        nanos /= 10;
      }
      out->append(buf, digits + 1);
    }
    out->push_back('Z');
  }

 private:
  int64_t cached_second_ = -1;
  std::string prefix_;
};

// Appends `value` as a JSON number: integers and multiples of 0.001 (all the
// simulator draws) directly, anything else in shortest round-trip form.
void AppendValue(double value, std::string* out) {
  if (std::isfinite(value) && std::fabs(value) < 9e15) {
    const double thousandths = std::round(value * 1000);
    if (thousandths / 1000 == value) {
      auto k = static_cast<int64_t>(thousandths);
      if (k < 0) {
        out->push_back('-');
        k = -k;
      }
      absl::StrAppend(out, k / 1000);
      int frac = static_cast<int>(k % 1000);
      if (frac != 0) {
        char buf[4] = {'.', static_cast<char>('0' + frac / 100),
                       static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10)};
        int n = 4;
        while (buf[n - 1] == '0') --n;
        out->append(buf, n);
      }
      return;
    }
  }
  internal::AppendJsonNumber(value, out);
}

// The JSON string of every symbol, escaped once.
class EscapedNames {
 public:
  explicit EscapedNames(const SymbolTable& symbols) : symbols_(symbols) {}

  const std::string& Get(Symbol symbol) {
    if (symbol >= names_.size()) names_.resize(symbols_.size());
    std::string& name = names_[symbol];
    if (name.empty()) internal::AppendJsonString(symbols_.Name(symbol), &name);
    return name;
  }

 private:
  const SymbolTable& symbols_;
  std::vector<std::string> names_;  // empty until first use; never empty after
};

bool Flush(std::string* buffer, std::ostream& out) {
  out.write(buffer->data(), static_cast<std::streamsize>(buffer->size()));
  buffer->clear();
  return static_cast<bool>(out);
}

}  // namespace

std::string_view AttackTypeName(AttackType type) {
  const auto index = static_cast<size_t>(type);
  return index < kAttackNames.size() ? kAttackNames[index] : "invalid";
}

std::optional<AttackType> AttackTypeFromName(std::string_view name) {
  for (size_t i = 0; i < kAttackNames.size(); ++i) {
    if (kAttackNames[i] == name) return static_cast<AttackType>(i);
  }
  return std::nullopt;
}

std::vector<AttackType> AllAttackTypes() {
  std::vector<AttackType> all;
  for (int i = 0; i < kAttackTypeCount; ++i) all.push_back(static_cast<AttackType>(i));
  return all;
}

absl::Status WriteJsonl(const FleetOptions& options, std::ostream& events_out,
                        std::ostream& labels_out) {
  SymbolTable symbols;
  absl::StatusOr<std::unique_ptr<FleetSimulator>> simulator =
      FleetSimulator::Create(options, symbols);
  if (!simulator.ok()) return simulator.status();
  FleetSimulator& fleet = **simulator;

  std::string buffer;
  buffer.reserve(kFlushBytes + 4096);
  for (const AttackLabel& label : fleet.labels()) {
    buffer.append("{\"type\":");
    internal::AppendJsonString(AttackTypeName(label.type), &buffer);
    buffer.append(",\"entity\":");
    internal::AppendJsonString(label.entity, &buffer);
    buffer.append(",\"group\":");
    internal::AppendJsonString(label.group, &buffer);
    buffer.append(",\"start\":");
    internal::AppendJsonString(FormatRfc3339(label.start_ns), &buffer);
    buffer.append(",\"end\":");
    internal::AppendJsonString(FormatRfc3339(label.end_ns), &buffer);
    buffer.append(",\"description\":");
    internal::AppendJsonString(label.description, &buffer);
    buffer.append("}\n");
  }
  if (!Flush(&buffer, labels_out)) {
    return absl::DataLossError("WriteJsonl: writing the labels failed");
  }

  TimeFormatter times;
  EscapedNames names(symbols);
  Event event;
  uint64_t lines = 0;
  while (fleet.Next(&event)) {
    buffer.append("{\"time\":\"");
    times.Append(event.time_ns, &buffer);
    buffer.append("\",\"entity\":");
    buffer.append(names.Get(event.entity));
    if (event.group != kNoSymbol) {
      buffer.append(",\"group\":");
      buffer.append(names.Get(event.group));
    }
    buffer.append(",\"kind\":\"");
    buffer.append(KindName(event.kind));
    buffer.push_back('"');
    if (event.subject != kNoSymbol) {
      buffer.append(",\"subject\":");
      buffer.append(names.Get(event.subject));
    }
    if (event.actor != kNoSymbol) {
      buffer.append(",\"actor\":");
      buffer.append(names.Get(event.actor));
    }
    if (event.has_value) {
      buffer.append(",\"value\":");
      AppendValue(event.value, &buffer);
    }
    if (event.has_status) {
      buffer.append(",\"status\":");
      absl::StrAppend(&buffer, event.status);
    }
    buffer.append("}\n");
    ++lines;
    if (buffer.size() >= kFlushBytes && !Flush(&buffer, events_out)) {
      return absl::DataLossError(
          absl::StrCat("WriteJsonl: writing the events failed after ", lines, " lines"));
    }
  }
  if (!Flush(&buffer, events_out) || !events_out.flush()) {
    return absl::DataLossError(
        absl::StrCat("WriteJsonl: writing the events failed after ", lines, " lines"));
  }
  return absl::OkStatus();
}

}  // namespace timescan::sim
