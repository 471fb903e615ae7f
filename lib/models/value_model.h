// The value model: what the numbers carried by events look like per window,
// per group and kind — bytes moved by connect, accept and file events (the
// window's volume), request latency (the window's mean), and the share of
// failed requests and API calls.
//
// Volumes and means are scored by rank against the learned windows (an
// empirical p-value over log-spaced bins, two bins per doubling): a level
// already seen during learning is never a finding, whatever the shape of the
// distribution (heavy-tailed bytes, a daily job seen once). Past the highest
// level learned, a Pareto tail of index 1 extrapolates. Error shares are
// scored with a binomial upper tail at the learned rate, with the Kish design
// effect for errors that come in clusters.

#ifndef TIMESCAN_LIB_MODELS_VALUE_MODEL_H_
#define TIMESCAN_LIB_MODELS_VALUE_MODEL_H_

#include <array>
#include <cstdint>

#include "models/decay.h"
#include "timescan/event.h"

namespace timescan::internal {

// A histogram of a non-negative window statistic in log-spaced bins.
class LogHistogram {
 public:
  static constexpr int kBins = 64;  // two per doubling: up to 2^32

  static int BinOf(double x);
  // The lower edge of `bin`.
  static double BinFloor(int bin);

  void Add(double x) { ++bins_[BinOf(x)]; ++total_; }

  // The share of learned windows at `x`'s level or above, with half a
  // window of prior: (windows in bins >= BinOf(x) + 0.5) / (total + 1);
  // beyond the highest learned bin, that times (1 + max) / (1 + x).
  double UpperTail(double x) const;

  // The value under which `q` of the learned windows fall (bin edge).
  double Quantile(double q) const;

  uint64_t total() const { return total_; }

  void Merge(const LogHistogram& other);
  void Decay(const CountScaler& scaler);

 private:
  friend class SnapshotCodec;

  std::array<uint32_t, kBins> bins_{};
  uint64_t total_ = 0;
};

// What one entity window showed of one kind's values and statuses.
struct ValueObservation {
  double sum = 0;         // sum of values
  uint32_t values = 0;    // events with a value
  uint32_t statuses = 0;  // events with a status
  uint32_t errors = 0;    // of those, failures (see IsError)
};

// Whether `status` is a failure for `kind`: HTTP 5xx for requests, any
// non-zero error code for API calls. Other kinds have no error test.
inline bool IsError(Kind kind, int32_t status) {
  if (kind == Kind::kRequest) return status >= 500;
  if (kind == Kind::kApi) return status != 0;
  return false;
}

// The statistic tested for a kind: volume (sum) for bytes, mean otherwise.
inline bool UsesVolume(Kind kind) {
  return kind == Kind::kConnect || kind == Kind::kAccept || kind == Kind::kFile;
}

class ValueBaseline {
 public:
  // A kind's value test runs once this many windows with values were learned.
  static constexpr uint64_t kMinWindows = 30;
  // Intra-window correlation of errors for the design effect.
  static constexpr double kErrorClustering = 0.02;

  void Add(Kind kind, const ValueObservation& observation);

  // Upper-tail p-value of the window's volume or mean; 1 when untested.
  double ValuePValue(Kind kind, const ValueObservation& observation) const;
  // Upper-tail p-value of the window's error count; 1 when untested.
  double ErrorPValue(Kind kind, const ValueObservation& observation) const;

  const LogHistogram& histogram(Kind kind) const { return histograms_[static_cast<int>(kind)]; }
  // The learned error share of `kind` (with half an error of prior).
  double ErrorRate(Kind kind) const;

  static double Statistic(Kind kind, const ValueObservation& o) {
    return UsesVolume(kind) ? o.sum : (o.values > 0 ? o.sum / o.values : 0);
  }

  // Adds the windows and statuses `other` learned.
  void Merge(const ValueBaseline& other);
  void Decay(const CountScaler& scaler);

 private:
  friend class SnapshotCodec;

  std::array<LogHistogram, kKindCount> histograms_{};
  std::array<uint64_t, kKindCount> statuses_{};
  std::array<uint64_t, kKindCount> errors_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_VALUE_MODEL_H_
