// The multivariate window model: per group, the joint distribution of a
// vector that describes one entity window, and per window its Mahalanobis
// distance from that distribution.
//
// The other models test one number at a time. This one sees combinations:
// a window whose every dimension is individually plausible but whose mix is
// not — as many requests as usual but none of the connects that usually
// come with them, many requests yet few bytes, connects without requests.
//
// Dimensions (MultivariateDim; ids reach snapshots, never renumber):
//   counts   events of each kind but metric (exec .. syscall), through
//            Anscombe's transform 2 sqrt(n + 3/8) (less its value at 0):
//            load, which scales every kind together, moves the vector
//            along one learned line through the origin, a changed ratio of
//            kinds moves it across, and the Poisson noise across it is the
//            same (variance 1) at every load (with logs, quiet minutes
//            would fill the learned tail and hide the busy minutes' breaks);
//   values   log1p(mean request latency), log1p(bytes) of connect, accept
//            and file (the window's volume), 0 without values;
//   errors   the share of failed requests and API calls, 0 without status;
//   distinct distinct subjects of the window (all kinds), as counts; one
//            way only: fewer than the rest of the window implies adds
//            nothing to the distance (a replica serving one route is no
//            threat; a sweep of paths or destinations may be).
// A dimension is active in a group once a learned window had it non-zero:
// a kind the group never shows adds nothing. Activating one later is exact
// (every earlier window had a zero there, so its sums are zero).
//
// Estimation, robust and streaming: weighted sums of the vectors and of
// their cross products, each window weighted by its distance d² from the
// current estimate: 1 up to a cut-off c, (c / d²)² beyond, so that a gross
// outlier's influence on mean and covariance vanishes as it grows. c is
// p + 3 sqrt(2p) for p active dimensions (about the chi-square's 99.5%), or
// twice the learned distances' 75% quantile when that is larger: a mode
// of a quarter of the windows or more (a bimodal workload, a kind seen in
// every other window) is the workload, not outliers, and must not be
// weighted out of the estimate for ever (the breakdown point is 25%). The
// first kWarmupWindows windows are kept raw and estimated together
// (coordinate medians and MADs, then reweighted iterations), so that
// outliers among them do not shape the weights of all later ones. The
// covariance is shrunk towards its diagonal, by kShrinkage plus p /
// (learned weight), after each variance is raised to a floor (for counts
// the Poisson noise of a count of their mean, 10% relative for logs, one
// point of share for errors): a near-constant dimension cannot make every
// change of it an outlier (that is the count and value models' job). The
// precision matrix (the inverse, by Cholesky) is refreshed every
// kRefreshWindows learned windows, not per window.
//
// Score: d² = (x - mean)' P (x - mean), turned into a p-value by rank among
// the distances of the learned windows (each measured against the estimate
// current when it was learned) in a log-spaced histogram, not by the
// chi-square: counts of a few events a minute are far from normal. Past the
// largest learned distance, the tail is extrapolated as an exponential with
// the mean excess of the learned distances over their 90% quantile (at
// least 2, the chi-square's). Tested once the estimate exists and
// kMinDistances learned windows were measured against one.
//
// Explanation: the contribution of dimension i is (x - mean)_i (P (x -
// mean))_i (they sum to d²); for the largest, what it was expected to be
// given the window's other dimensions (the conditional mean x_i - (P (x -
// mean))_i / P_ii, standard deviation 1 / sqrt(P_ii)) and its learned mean.
//
// Merge adds the sums and the distance histograms and refreshes the
// estimate; the other side's raw warm-up windows are learned one by one.
// Learning the union of two streams gives the same sums whenever the
// weights agree (every window within c of the estimates that measured it).
// Not thread-safe.

#ifndef TIMESCAN_LIB_MODELS_MULTIVARIATE_MODEL_H_
#define TIMESCAN_LIB_MODELS_MULTIVARIATE_MODEL_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "models/decay.h"
#include "models/value_model.h"
#include "timescan/event.h"

namespace timescan::internal {

// Dimension ids: never renumber (snapshots store them).
enum MultivariateDim : uint8_t {
  // 0..7: log1p(count) of the kind of the same value (kExec .. kSyscall).
  kMvRequestLatency = 8,
  kMvConnectBytes = 9,
  kMvAcceptBytes = 10,
  kMvFileBytes = 11,
  kMvRequestErrors = 12,  // failed requests, a count like the kinds'
  kMvApiErrors = 13,      // failed API calls
  kMvDistinctSubjects = 14,
};
inline constexpr int kMultivariateDims = 15;
inline constexpr int kMultivariateCountDims = 8;  // kinds exec .. syscall

// Returns a dimension's name, e.g. "connect count", "request latency".
std::string_view MultivariateDimName(int dim);

// One window as the model sees it (transformed; see the banner).
using MultivariateVector = std::array<double, kMultivariateDims>;

// Returns the vector of a window: `counts` and `observations` per kind,
// `distinct_subjects` its distinct subject values.
MultivariateVector MultivariateVectorOf(const std::array<uint32_t, kKindCount>& counts,
                                        const std::array<ValueObservation, kKindCount>& observations,
                                        uint32_t distinct_subjects);

// Returns a transformed value in the dimension's own unit (events, ms,
// bytes, a share).
double MultivariateUnits(int dim, double transformed);
// Whether a dimension is a count (Anscombe-transformed).
bool MultivariateIsCount(int dim);

// A window's distance, its p-value and the dimensions that made it.
struct MultivariateScore {
  static constexpr int kTop = 3;
  struct Contribution {
    int dim = -1;
    double contribution = 0;  // its share of distance2
    double observed = 0;      // transformed, as all below
    double expected = 0;      // given the window's other dimensions
    double expected_sd = 0;
    double mean = 0;          // learned mean
    double sd = 0;            // learned standard deviation (shrunk, floored)
  };
  bool tested = false;
  double distance2 = 0;  // squared Mahalanobis distance
  double p_value = 1;
  int dims = 0;            // active dimensions of the estimate
  uint64_t learned = 0;    // windows the estimate rests on
  // Learned windows' 99% distance2 quantile: filled in by the explanation
  // only (DistanceQuantile), which few windows need.
  double q99 = 0;
  int top_count = 0;
  std::array<Contribution, kTop> top{};  // largest contributions first
};

class MultivariateBaseline {
 public:
  // Raw windows estimated together before the first estimate.
  static constexpr uint32_t kWarmupWindows = 32;
  // Learned windows between refreshes of the estimate.
  static constexpr uint64_t kRefreshWindows = 64;
  // Distances of learned windows needed before testing.
  static constexpr uint64_t kMinDistances = 200;
  static constexpr double kShrinkage = 0.01;
  // Distance histogram: bin 0 below kFirstEdge, then kBinsPerDoubling per
  // doubling; the last bin is open.
  static constexpr int kBins = 72;
  static constexpr int kBinsPerDoubling = 4;
  static constexpr double kFirstEdge = 0.25;
  // The weights' cut-off is at least this times the learned distances'
  // 75% quantile (see the banner).
  static constexpr double kCutoffPerQuartile = 2;

  // Learns one window (update).
  void Learn(const MultivariateVector& x);
  // Scores one window; tested false while the estimate is missing or rests
  // on too few distances.
  MultivariateScore Score(const MultivariateVector& x) const;
  // Adds what `other` learned (see the banner).
  void Merge(const MultivariateBaseline& other);
  // Forgets everything learned.
  void Reset() { *this = MultivariateBaseline(); }
  // Learned windows weigh `scaler.factor()` as much
  // (EngineOptions::baseline_half_life): the weighted sums scale (mean and
  // covariance stay; the sums never rest on less than one window's
  // weight), and the learned distances' bins decay with unbiased rounding
  // (models/decay.h), the largest distance following the highest bin left.
  // The raw warm-up windows, before the first estimate, do not decay.
  void Decay(const CountScaler& scaler);

  bool has_estimate() const { return !est_dims_.empty(); }
  uint64_t windows() const { return windows_; }
  // The estimate's dimensions, mean and shrunk covariance (its inverse's
  // inverse), in the order of estimate_dims(). For tests and inspection.
  const std::vector<uint8_t>& estimate_dims() const { return est_dims_; }
  const std::vector<double>& estimate_mean() const { return mean_; }
  std::vector<double> EstimateCovariance() const;
  // The squared distance of `x` from the estimate. REQUIRES: has_estimate().
  double Distance2(const MultivariateVector& x) const;
  // The p-value of a squared distance among the learned ones.
  double PValueOfDistance2(double d2) const;
  uint64_t distances() const { return distance_total_; }
  // The `q` quantile of the learned distances (a bin's upper edge), 0
  // before any.
  double DistanceQuantile(double q) const;
  double cutoff() const { return cutoff_; }

  // The variance floor of a dimension whose learned mean is `mean` (see
  // the banner).
  static double VarianceFloor(int dim, double mean);
  double weight() const { return weight_; }
  static int BinOf(double d2);
  static double BinFloor(int bin);

 private:
  friend class SnapshotCodec;

  // Adds `x` to the sums with weight `w`, activating its non-zero dimensions.
  void AddToSums(const MultivariateVector& x, double w);
  void Activate(uint32_t mask);
  // Index of dim in dims_ (REQUIRES: active).
  int SlotOf(int dim) const;
  // Fills `centred` (x less the mean, per estimate dimension) and `row`
  // (the precision times it), and returns d² (see Distance2).
  double Centre(const MultivariateVector& x, double* centred, double* row) const;
  // Recomputes the estimate from the sums.
  void Refresh();
  // Estimates from the warm-up windows, adds them to the sums, frees them.
  void EndWarmup();
  double WeightOf(double d2) const;
  // The cut-off under the null, for `dims` dimensions: p + 3 sqrt(2p).
  static double BaseCutoff(size_t dims);

  // The sums, over the active dimensions (ascending ids).
  uint32_t active_mask_ = 0;
  std::vector<uint8_t> dims_;
  double weight_ = 0;
  std::vector<double> sum_;    // per active dimension
  std::vector<double> cross_;  // upper triangle, row by row
  uint64_t windows_ = 0;       // windows learned
  std::vector<float> warmup_;  // kMultivariateDims per window, until the first estimate

  // The estimate.
  std::vector<uint8_t> est_dims_;
  std::vector<double> mean_;
  std::vector<double> precision_;  // full, row-major
  std::vector<double> sd_;         // square root of the shrunk covariance's diagonal
  uint64_t estimated_at_ = 0;      // windows_ at the last refresh
  double cutoff_ = 0;              // squared distance past which weights fall

  // Distances of learned windows (allocated at the first).
  std::vector<uint32_t> distance_bins_;
  uint64_t distance_total_ = 0;
  double max_distance2_ = 0;
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_MODELS_MULTIVARIATE_MODEL_H_
