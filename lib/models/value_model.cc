#include "models/value_model.h"

#include <algorithm>
#include <cmath>

#include <unsupported/Eigen/SpecialFunctions>

#include "stats/distributions.h"

namespace timescan::internal {

int LogHistogram::BinOf(double x) {
  if (!(x > 0)) return 0;
  const double bin = std::floor(2 * std::log2(1 + x));
  return static_cast<int>(std::clamp(bin, 0.0, static_cast<double>(kBins - 1)));
}

double LogHistogram::BinFloor(int bin) { return std::exp2(bin / 2.0) - 1; }

double LogHistogram::UpperTail(double x) const {
  const int from = BinOf(x);
  uint64_t above = 0;
  int highest = -1;
  for (int b = 0; b < kBins; ++b) {
    if (b >= from) above += bins_[b];
    if (bins_[b] > 0) highest = b;
  }
  const double tail = (static_cast<double>(above) + 0.5) / (static_cast<double>(total_) + 1);
  if (above > 0 || highest < 0) return tail;
  // Beyond everything learned, ranks alone cannot go below 1/N. Extrapolate
  // with a Pareto tail of index 1, the heaviest that still has a finite
  // median: ten times the learned maximum is ten times less likely.
  const double learned_max = BinFloor(highest + 1);
  return tail * std::min(1.0, (1 + learned_max) / (1 + x));
}

double LogHistogram::Quantile(double q) const {
  if (total_ == 0) return 0;
  const double target = q * static_cast<double>(total_);
  double seen = 0;
  for (int b = 0; b < kBins; ++b) {
    seen += bins_[b];
    if (seen >= target) return BinFloor(b + 1);
  }
  return BinFloor(kBins);
}

void ValueBaseline::Add(Kind kind, const ValueObservation& o) {
  const int k = static_cast<int>(kind);
  if (o.values > 0) histograms_[k].Add(Statistic(kind, o));
  statuses_[k] += o.statuses;
  errors_[k] += o.errors;
}

void LogHistogram::Merge(const LogHistogram& other) {
  for (int b = 0; b < kBins; ++b) bins_[b] += other.bins_[b];
  total_ += other.total_;
}

void ValueBaseline::Merge(const ValueBaseline& other) {
  for (int k = 0; k < kKindCount; ++k) {
    histograms_[k].Merge(other.histograms_[k]);
    statuses_[k] += other.statuses_[k];
    errors_[k] += other.errors_[k];
  }
}

double ValueBaseline::ValuePValue(Kind kind, const ValueObservation& o) const {
  const LogHistogram& h = histograms_[static_cast<int>(kind)];
  if (o.values == 0 || h.total() < kMinWindows) return 1;
  return stats::ClampPValue(h.UpperTail(Statistic(kind, o)));
}

double ValueBaseline::ErrorRate(Kind kind) const {
  const int k = static_cast<int>(kind);
  return (static_cast<double>(errors_[k]) + 0.5) / (static_cast<double>(statuses_[k]) + 1);
}

double ValueBaseline::ErrorPValue(Kind kind, const ValueObservation& o) const {
  const int k = static_cast<int>(kind);
  if (o.errors == 0 || statuses_[k] < kMinWindows) return 1;
  // Errors in one window are not independent (a failing dependency fails
  // many requests): shrink n by the design effect 1 + (n - 1) rho.
  const double n = o.statuses;
  const double design = 1 + (n - 1) * kErrorClustering;
  const double n_eff = n / design;
  const double k_eff = o.errors / design;
  if (k_eff <= 0) return 1;
  // P(X >= k) for Binomial(n, r) = I_r(k, n - k + 1), continuous in k and n.
  const double rate = ErrorRate(kind);
  return stats::ClampPValue(Eigen::numext::betainc(k_eff, n_eff - k_eff + 1, rate));
}

void LogHistogram::Decay(const CountScaler& scaler) {
  total_ = 0;
  for (int b = 0; b < kBins; ++b) {
    bins_[b] = static_cast<uint32_t>(scaler.Scale(bins_[b], static_cast<uint64_t>(b)));
    total_ += bins_[b];
  }
}

void ValueBaseline::Decay(const CountScaler& scaler) {
  for (int k = 0; k < kKindCount; ++k) {
    histograms_[k].Decay(scaler.Part(static_cast<uint64_t>(k)));
    // Failures stay a subset of the statuses.
    statuses_[k] = scaler.Scale(statuses_[k], 2 * static_cast<uint64_t>(k));
    errors_[k] = std::min(statuses_[k], scaler.Scale(errors_[k], 2 * static_cast<uint64_t>(k) + 1));
  }
}

}  // namespace timescan::internal
