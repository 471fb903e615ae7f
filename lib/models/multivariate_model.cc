#include "models/multivariate_model.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/Core>

namespace timescan::internal {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// Reweighting iterations of the warm-up estimate: from coordinate medians,
// three are enough for the weights of a 32-window sample to settle.
constexpr int kWarmupIterations = 4;
// The share of learned distances above the quantile the tail is fitted from.
constexpr double kTailShare = 0.1;
// The exponential tail's scale is never below the chi-square's.
constexpr double kMinTailScale = 2;

uint32_t MaskOf(const MultivariateVector& x) {
  uint32_t mask = 0;
  for (int d = 0; d < kMultivariateDims; ++d) {
    if (x[static_cast<size_t>(d)] != 0) mask |= uint32_t{1} << d;
  }
  return mask;
}

double Median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The shrunk covariance of `mean`-centred weighted moments over `dims`.
// `cov` holds the raw covariance on entry.
void Shrink(const std::vector<uint8_t>& dims, const Vector& mean, double weight, Matrix& cov) {
  const auto p = static_cast<Eigen::Index>(dims.size());
  for (Eigen::Index i = 0; i < p; ++i) {
    cov(i, i) = std::max(cov(i, i),
                         MultivariateBaseline::VarianceFloor(dims[static_cast<size_t>(i)], mean(i)));
  }
  const double lambda =
      std::min(1.0, MultivariateBaseline::kShrinkage + static_cast<double>(p) / std::max(weight, 1.0));
  for (Eigen::Index i = 0; i < p; ++i) {
    for (Eigen::Index j = 0; j < p; ++j) {
      if (i != j) cov(i, j) *= 1 - lambda;
    }
  }
}

// Inverts a shrunk covariance; the diagonal's inverse if Cholesky fails
// (it cannot for a floored, shrunk matrix, but rounding is not a crash).
Matrix Invert(const Matrix& cov) {
  Eigen::LLT<Matrix> llt(cov);
  if (llt.info() == Eigen::Success) {
    Matrix inverse = llt.solve(Matrix::Identity(cov.rows(), cov.cols()));
    // Exactly symmetric, so that contributions do not depend on which
    // triangle rounding favoured.
    return (0.5 * (inverse + inverse.transpose())).eval();
  }
  Matrix inverse = Matrix::Zero(cov.rows(), cov.cols());
  for (Eigen::Index i = 0; i < cov.rows(); ++i) inverse(i, i) = 1 / cov(i, i);
  return inverse;
}

}  // namespace

std::string_view MultivariateDimName(int dim) {
  static constexpr std::string_view kNames[kMultivariateDims] = {
      "exec count",      "exit count",    "connect count",  "accept count",
      "request count",   "api count",     "file count",     "syscall count",
      "request latency", "connect bytes", "accept bytes",   "file bytes",
      "request errors", "api errors", "distinct subjects"};
  return dim >= 0 && dim < kMultivariateDims ? kNames[dim] : std::string_view("?");
}

namespace {

// 2 sqrt(3/8): Anscombe's transform of a count of 0.
const double kAnscombeZero = 2 * std::sqrt(0.375);

// Anscombe's transform, shifted so that no events is 0.
double Anscombe(double count) { return 2 * std::sqrt(count + 0.375) - kAnscombeZero; }

}  // namespace

MultivariateVector MultivariateVectorOf(const std::array<uint32_t, kKindCount>& counts,
                                        const std::array<ValueObservation, kKindCount>& obs,
                                        uint32_t distinct_subjects) {
  MultivariateVector x{};
  for (int k = 0; k < kMultivariateCountDims; ++k) {
    x[static_cast<size_t>(k)] = Anscombe(counts[static_cast<size_t>(k)]);
  }
  const ValueObservation& request = obs[static_cast<size_t>(Kind::kRequest)];
  x[kMvRequestLatency] = request.values > 0 ? std::log1p(request.sum / request.values) : 0;
  x[kMvConnectBytes] = std::log1p(obs[static_cast<size_t>(Kind::kConnect)].sum);
  x[kMvAcceptBytes] = std::log1p(obs[static_cast<size_t>(Kind::kAccept)].sum);
  x[kMvFileBytes] = std::log1p(obs[static_cast<size_t>(Kind::kFile)].sum);
  // Errors as counts, not shares: a window of one request that failed has
  // a share of 100%, which says nothing; its one error is Poisson noise,
  // and the covariance with the request count carries the share.
  x[kMvRequestErrors] = Anscombe(obs[static_cast<size_t>(Kind::kRequest)].errors);
  x[kMvApiErrors] = Anscombe(obs[static_cast<size_t>(Kind::kApi)].errors);
  x[kMvDistinctSubjects] = Anscombe(distinct_subjects);
  return x;
}

bool MultivariateIsCount(int dim) {
  return dim < kMultivariateCountDims || dim == kMvRequestErrors || dim == kMvApiErrors ||
         dim == kMvDistinctSubjects;
}

double MultivariateUnits(int dim, double transformed) {
  if (MultivariateIsCount(dim)) {
    const double half = std::max(0.0, (transformed + kAnscombeZero) / 2);
    return std::max(0.0, half * half - 0.375);
  }
  return std::expm1(transformed);
}

double MultivariateBaseline::VarianceFloor(int dim, double mean) {
  // Logs: 10% relative.
  if (MultivariateIsCount(dim)) {
    // A count is at least Poisson-noisy: Anscombe's transform of a Poisson
    // count varies by about 1, less at small means (about 1.3 m for a mean
    // m below 1). Without a floor a kind seen in a quarter of the windows,
    // one event at a time, has a median absolute deviation of 0, and every
    // window with the event would be weighted down as an outlier for ever.
    const double m = MultivariateUnits(dim, std::max(mean, 0.0));
    return std::max(0.01, 1 - std::exp(-1.3 * m));
  }
  return 0.01;
}

int MultivariateBaseline::BinOf(double d2) {
  if (!(d2 >= kFirstEdge)) return 0;
  const double bin = 1 + std::floor(kBinsPerDoubling * std::log2(d2 / kFirstEdge));
  return static_cast<int>(std::min(bin, static_cast<double>(kBins - 1)));
}

double MultivariateBaseline::BinFloor(int bin) {
  return bin == 0 ? 0 : kFirstEdge * std::exp2(static_cast<double>(bin - 1) / kBinsPerDoubling);
}

int MultivariateBaseline::SlotOf(int dim) const {
  return std::popcount(active_mask_ & ((uint32_t{1} << dim) - 1));
}

void MultivariateBaseline::Activate(uint32_t mask) {
  const uint32_t added = mask & ~active_mask_;
  if (added == 0) return;
  const uint32_t merged = active_mask_ | added;
  std::vector<uint8_t> dims;
  for (int d = 0; d < kMultivariateDims; ++d) {
    if (merged & (uint32_t{1} << d)) dims.push_back(static_cast<uint8_t>(d));
  }
  const size_t p = dims.size();
  std::vector<double> sum(p, 0.0), cross(p * (p + 1) / 2, 0.0);
  // Old slots move to their place in the larger layout; new ones stay 0
  // (every window learned so far was 0 there).
  std::vector<size_t> where(dims_.size());
  for (size_t i = 0; i < dims_.size(); ++i) {
    where[i] = static_cast<size_t>(std::popcount(merged & ((uint32_t{1} << dims_[i]) - 1)));
  }
  const size_t old_p = dims_.size();
  size_t k = 0;
  for (size_t i = 0; i < old_p; ++i) {
    sum[where[i]] = sum_[i];
    for (size_t j = i; j < old_p; ++j, ++k) {
      const size_t a = where[i], b = where[j];  // a < b: ids ascend in both
      cross[a * p - a * (a - 1) / 2 + (b - a)] = cross_[k];
    }
  }
  active_mask_ = merged;
  dims_ = std::move(dims);
  sum_ = std::move(sum);
  cross_ = std::move(cross);
}

void MultivariateBaseline::AddToSums(const MultivariateVector& x, double w) {
  Activate(MaskOf(x));
  const size_t p = dims_.size();
  weight_ += w;
  size_t k = 0;
  for (size_t i = 0; i < p; ++i) {
    const double xi = x[dims_[i]];
    sum_[i] += w * xi;
    const double wxi = w * xi;
    for (size_t j = i; j < p; ++j, ++k) cross_[k] += wxi * x[dims_[j]];
  }
}

double MultivariateBaseline::BaseCutoff(size_t dims) {
  const double p = static_cast<double>(dims);
  return p + 3 * std::sqrt(2 * p);
}

double MultivariateBaseline::WeightOf(double d2) const {
  if (d2 <= cutoff_) return 1;
  const double r = cutoff_ / d2;
  return r * r;
}

double MultivariateBaseline::Centre(const MultivariateVector& x, double* centred,
                                    double* row) const {
  const size_t p = est_dims_.size();
  auto multiply = [&] {
    for (size_t i = 0; i < p; ++i) {
      row[i] = 0;
      for (size_t j = 0; j < p; ++j) row[i] += precision_[i * p + j] * centred[j];
    }
  };
  for (size_t i = 0; i < p; ++i) centred[i] = x[est_dims_[i]] - mean_[i];
  multiply();
  // Distinct subjects count one way only: fewer than the rest of the
  // window implies (a replica that serves one route) is no threat, more (a
  // sweep of destinations or paths) may be. Below its conditional
  // expectation the dimension is moved to it, which takes it out of d².
  if (!est_dims_.empty() && est_dims_.back() == kMvDistinctSubjects && row[p - 1] < 0) {
    centred[p - 1] -= row[p - 1] / precision_[(p - 1) * p + (p - 1)];
    multiply();
  }
  double d2 = 0;
  for (size_t i = 0; i < p; ++i) d2 += centred[i] * row[i];
  return d2 > 0 ? d2 : 0.0;  // and 0 for NaN (a hostile snapshot's estimate)
}

double MultivariateBaseline::Distance2(const MultivariateVector& x) const {
  double centred[kMultivariateDims], row[kMultivariateDims];
  return Centre(x, centred, row);
}

void MultivariateBaseline::Refresh() {
  estimated_at_ = windows_;
  const size_t p = dims_.size();
  if (p == 0 || !(weight_ > 0)) {
    est_dims_.clear();
    mean_.clear();
    precision_.clear();
    sd_.clear();
    return;
  }
  Vector mean(static_cast<Eigen::Index>(p));
  for (size_t i = 0; i < p; ++i) mean(static_cast<Eigen::Index>(i)) = sum_[i] / weight_;
  Matrix cov(p, p);
  size_t k = 0;
  for (size_t i = 0; i < p; ++i) {
    for (size_t j = i; j < p; ++j, ++k) {
      const auto a = static_cast<Eigen::Index>(i), b = static_cast<Eigen::Index>(j);
      cov(a, b) = cross_[k] / weight_ - mean(a) * mean(b);
      cov(b, a) = cov(a, b);
    }
  }
  if (!mean.allFinite() || !cov.allFinite()) {
    // Sums no learning produces (a hostile snapshot): no estimate.
    est_dims_.clear();
    mean_.clear();
    precision_.clear();
    sd_.clear();
    return;
  }
  Shrink(dims_, mean, weight_, cov);
  const Matrix precision = Invert(cov);
  est_dims_ = dims_;
  // Before any learned distance (the end of the warm-up) the warm-up's own.
  cutoff_ = std::max(BaseCutoff(p), distance_total_ > 0
                                        ? kCutoffPerQuartile * DistanceQuantile(0.75)
                                        : cutoff_);
  mean_.assign(mean.data(), mean.data() + p);
  precision_.assign(precision.data(), precision.data() + p * p);
  sd_.resize(p);
  for (size_t i = 0; i < p; ++i) {
    sd_[i] = std::sqrt(cov(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(i)));
  }
}

void MultivariateBaseline::EndWarmup() {
  const size_t n = warmup_.size() / kMultivariateDims;
  std::vector<MultivariateVector> xs(n);
  uint32_t mask = 0;
  for (size_t w = 0; w < n; ++w) {
    for (int d = 0; d < kMultivariateDims; ++d) {
      xs[w][static_cast<size_t>(d)] = warmup_[w * kMultivariateDims + static_cast<size_t>(d)];
    }
    mask |= MaskOf(xs[w]);
  }
  std::vector<uint8_t> dims;
  for (int d = 0; d < kMultivariateDims; ++d) {
    if (mask & (uint32_t{1} << d)) dims.push_back(static_cast<uint8_t>(d));
  }
  const size_t p = dims.size();
  std::vector<double> weights(n, 1.0);
  if (p > 0 && n > 0) {
    // Start from coordinate medians and MADs (a diagonal estimate no
    // outlier can move), then reweight by distance from the last estimate.
    est_dims_ = dims;
    mean_.assign(p, 0);
    precision_.assign(p * p, 0);
    std::vector<double> column(n);
    for (size_t i = 0; i < p; ++i) {
      double average = 0;
      for (size_t w = 0; w < n; ++w) {
        column[w] = xs[w][dims[i]];
        average += column[w] / static_cast<double>(n);
      }
      const double median = Median(column);
      for (double& v : column) v = std::abs(v - median);
      const double mad = 1.4826 * Median(column);
      mean_[i] = median;
      // The floor from the average: the median of a kind seen in a third
      // of the windows is 0.
      precision_[i * p + i] = 1 / std::max(mad * mad, VarianceFloor(dims[i], average));
    }
    std::vector<double> d2(n);
    auto set_cutoff = [&] {
      // As Refresh does, from these windows' distances.
      for (size_t w = 0; w < n; ++w) d2[w] = Distance2(xs[w]);
      std::vector<double> sorted = d2;
      std::sort(sorted.begin(), sorted.end());
      cutoff_ = std::max(BaseCutoff(p), kCutoffPerQuartile * sorted[(3 * n) / 4]);
    };
    for (int iteration = 0; iteration < kWarmupIterations; ++iteration) {
      double total = 0;
      Vector mean = Vector::Zero(static_cast<Eigen::Index>(p));
      set_cutoff();
      for (size_t w = 0; w < n; ++w) {
        weights[w] = WeightOf(d2[w]);
        total += weights[w];
        for (size_t i = 0; i < p; ++i) mean(static_cast<Eigen::Index>(i)) += weights[w] * xs[w][dims[i]];
      }
      mean /= total;
      Matrix cov = Matrix::Zero(p, p);
      for (size_t w = 0; w < n; ++w) {
        for (size_t i = 0; i < p; ++i) {
          const double ci = xs[w][dims[i]] - mean(static_cast<Eigen::Index>(i));
          for (size_t j = 0; j < p; ++j) {
            cov(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) +=
                weights[w] * ci * (xs[w][dims[j]] - mean(static_cast<Eigen::Index>(j)));
          }
        }
      }
      cov /= total;
      Shrink(dims, mean, total, cov);
      const Matrix precision = Invert(cov);
      mean_.assign(mean.data(), mean.data() + p);
      precision_.assign(precision.data(), precision.data() + p * p);
    }
    set_cutoff();
    for (size_t w = 0; w < n; ++w) weights[w] = WeightOf(d2[w]);
  }
  for (size_t w = 0; w < n; ++w) AddToSums(xs[w], weights[w]);
  warmup_.clear();
  warmup_.shrink_to_fit();
  Refresh();
}

void MultivariateBaseline::Learn(const MultivariateVector& x) {
  ++windows_;
  if (!has_estimate()) {
    for (double v : x) warmup_.push_back(static_cast<float>(v));
    // The warm-up's vectors are stored as floats: the sums must hold what
    // a restored or merged baseline would add.
    if (warmup_.size() / kMultivariateDims >= kWarmupWindows) EndWarmup();
    return;
  }
  const double d2 = Distance2(x);
  if (distance_bins_.empty()) distance_bins_.assign(kBins, 0);
  ++distance_bins_[static_cast<size_t>(BinOf(d2))];
  ++distance_total_;
  max_distance2_ = std::max(max_distance2_, d2);
  AddToSums(x, WeightOf(d2));
  if (windows_ - estimated_at_ >= kRefreshWindows) Refresh();
}

void MultivariateBaseline::Decay(const CountScaler& scaler) {
  if (weight_ > 0) {
    // Learning leaves the sums resting on a weight of at least 1 (snapshots
    // check it): forgetting stops there.
    const double factor = std::max(scaler.factor(), std::min(1.0, 1 / weight_));
    weight_ *= factor;
    for (double& s : sum_) s *= factor;
    for (double& c : cross_) c *= factor;
  }
  if (distance_bins_.empty()) return;
  distance_total_ = 0;
  int top = -1;
  for (int b = 0; b < kBins; ++b) {
    uint32_t& c = distance_bins_[static_cast<size_t>(b)];
    c = static_cast<uint32_t>(scaler.Scale(c, static_cast<uint64_t>(b)));
    distance_total_ += c;
    if (c > 0) top = b;
  }
  // The tail is extrapolated from the largest distance: one whose bin is
  // forgotten gives way to the top of the highest bin left (just below its
  // upper edge, so that it stays in that bin; the open last bin keeps it).
  if (top < 0) {
    max_distance2_ = 0;
  } else if (top + 1 < kBins) {
    max_distance2_ = std::min(max_distance2_, std::nextafter(BinFloor(top + 1), 0.0));
  }
}

double MultivariateBaseline::PValueOfDistance2(double d2) const {
  if (distance_total_ == 0) return 1;
  const double n = static_cast<double>(distance_total_);
  if (d2 <= max_distance2_) {
    uint64_t above = 0;
    for (int b = BinOf(d2); b < kBins; ++b) above += distance_bins_[static_cast<size_t>(b)];
    return (static_cast<double>(above) + 0.5) / (n + 1);
  }
  // Beyond every learned distance: the rank at the maximum, decaying
  // exponentially with the mean excess of the upper tail.
  uint64_t above_max = 0;
  for (int b = BinOf(max_distance2_); b < kBins; ++b) above_max += distance_bins_[static_cast<size_t>(b)];
  const double at_max = (static_cast<double>(above_max) + 0.5) / (n + 1);
  uint64_t tail = 0;
  int first = kBins;
  while (first > 0 && static_cast<double>(tail) < kTailShare * n) {
    --first;
    tail += distance_bins_[static_cast<size_t>(first)];
  }
  const double threshold = BinFloor(first);
  double excess = 0;
  for (int b = first; b < kBins; ++b) {
    const uint32_t c = distance_bins_[static_cast<size_t>(b)];
    if (c == 0) continue;
    // A bin's values at its geometric middle; the open last bin at the maximum.
    const double upper = b + 1 < kBins ? BinFloor(b + 1) : max_distance2_;
    const double middle = b == 0 ? 0.5 * upper : std::sqrt(BinFloor(b) * std::min(upper, max_distance2_));
    excess += c * std::max(0.0, middle - threshold);
  }
  const double scale = std::max(kMinTailScale, tail > 0 ? excess / static_cast<double>(tail) : 0.0);
  return at_max * std::exp(-(d2 - max_distance2_) / scale);
}

double MultivariateBaseline::DistanceQuantile(double q) const {
  uint64_t seen = 0;
  for (int b = 0; b < static_cast<int>(distance_bins_.size()); ++b) {
    seen += distance_bins_[static_cast<size_t>(b)];
    if (seen > 0 && static_cast<double>(seen) >= q * static_cast<double>(distance_total_)) {
      return std::min(b + 1 < kBins ? BinFloor(b + 1) : max_distance2_, max_distance2_);
    }
  }
  return 0;
}

MultivariateScore MultivariateBaseline::Score(const MultivariateVector& x) const {
  MultivariateScore s;
  if (!has_estimate() || distance_total_ < kMinDistances) return s;
  const size_t p = est_dims_.size();
  s.tested = true;
  s.dims = static_cast<int>(p);
  s.learned = windows_;
  double centred[kMultivariateDims], row[kMultivariateDims];
  s.distance2 = Centre(x, centred, row);
  s.p_value = std::min(1.0, PValueOfDistance2(s.distance2));
  // Largest contributions first; ties by dimension id.
  int order[kMultivariateDims];
  for (size_t i = 0; i < p; ++i) order[i] = static_cast<int>(i);
  std::sort(order, order + p, [&](int a, int b) {
    const double ca = centred[a] * row[a], cb = centred[b] * row[b];
    return ca != cb ? ca > cb : a < b;
  });
  for (size_t r = 0; r < p && s.top_count < MultivariateScore::kTop; ++r) {
    const auto i = static_cast<size_t>(order[r]);
    const double c = centred[i] * row[i];
    if (!(c > 0)) break;
    MultivariateScore::Contribution& t = s.top[static_cast<size_t>(s.top_count++)];
    const double pii = precision_[i * p + i];
    t.dim = est_dims_[i];
    t.contribution = c;
    t.observed = x[est_dims_[i]];
    t.expected = t.observed - row[i] / pii;
    t.expected_sd = 1 / std::sqrt(pii);
    t.mean = mean_[i];
    t.sd = sd_[i];
  }
  return s;
}

std::vector<double> MultivariateBaseline::EstimateCovariance() const {
  const size_t p = est_dims_.size();
  if (p == 0) return {};
  const Matrix precision = Eigen::Map<const Matrix>(precision_.data(), p, p);
  const Matrix cov = Invert(precision);
  return std::vector<double>(cov.data(), cov.data() + p * p);
}

void MultivariateBaseline::Merge(const MultivariateBaseline& other) {
  if (other.windows_ == 0) return;
  // Their raw warm-up windows: learned here as any window would be (into
  // our warm-up while we have no estimate).
  const size_t their_warmup = other.warmup_.size() / kMultivariateDims;
  const bool had_estimate = has_estimate();
  // Their sums.
  if (other.weight_ > 0) {
    Activate(other.active_mask_);
    const size_t p = dims_.size();
    std::vector<size_t> where(other.dims_.size());
    for (size_t i = 0; i < other.dims_.size(); ++i) where[i] = static_cast<size_t>(SlotOf(other.dims_[i]));
    size_t k = 0;
    for (size_t i = 0; i < other.dims_.size(); ++i) {
      sum_[where[i]] += other.sum_[i];
      for (size_t j = i; j < other.dims_.size(); ++j, ++k) {
        const size_t a = where[i], b = where[j];
        cross_[a * p - a * (a - 1) / 2 + (b - a)] += other.cross_[k];
      }
    }
    weight_ += other.weight_;
  }
  if (!other.distance_bins_.empty()) {
    if (distance_bins_.empty()) distance_bins_.assign(kBins, 0);
    for (int b = 0; b < kBins; ++b) distance_bins_[static_cast<size_t>(b)] += other.distance_bins_[static_cast<size_t>(b)];
    distance_total_ += other.distance_total_;
    max_distance2_ = std::max(max_distance2_, other.max_distance2_);
  }
  windows_ += other.windows_ - their_warmup;
  cutoff_ = std::max(cutoff_, other.cutoff_);  // Refresh keeps it if no distances came
  if (!had_estimate && other.has_estimate()) {
    // Our warm-up windows join their estimate's sums, as learned windows.
    std::vector<float> ours = std::move(warmup_);
    warmup_.clear();
    windows_ -= ours.size() / kMultivariateDims;
    Refresh();
    for (size_t w = 0; w * kMultivariateDims < ours.size(); ++w) {
      MultivariateVector x;
      for (int d = 0; d < kMultivariateDims; ++d) x[static_cast<size_t>(d)] = ours[w * kMultivariateDims + static_cast<size_t>(d)];
      Learn(x);
    }
  } else if (has_estimate()) {
    Refresh();
  }
  for (size_t w = 0; w < their_warmup; ++w) {
    MultivariateVector x;
    for (int d = 0; d < kMultivariateDims; ++d) {
      x[static_cast<size_t>(d)] = other.warmup_[w * kMultivariateDims + static_cast<size_t>(d)];
    }
    Learn(x);
  }
}

}  // namespace timescan::internal
