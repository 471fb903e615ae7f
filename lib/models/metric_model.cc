#include "models/metric_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "absl/types/span.h"
#include "stats/distributions.h"
#include "stats/p_value_fusion.h"

namespace timescan::internal {
namespace {

// E|X| = sigma * sqrt(2 / pi) for a normal X: the scale is the EW mean
// absolute residual times sqrt(pi / 2).
const double kAbsToSigma = std::sqrt(std::numbers::pi / 2);

// Replayed warm-up windows before the histograms learn: the first windows
// of a replay have an unsettled level and scale.
constexpr int64_t kReplaySettleWindows = 10;

// The smallest scale, relative to the series' magnitude: differences below
// 0.01% of the level are noise (quantised and flat series).
constexpr double kRelativeScaleFloor = 1e-4;
constexpr double kAbsoluteScaleFloor = 1e-12;

// Residuals within this share of the prediction are rounding: four float
// epsilons (the profile and the replayed warm-up are floats; the level,
// a double, adds to them). 1 to 64 epsilons score the same on NAB.
constexpr double kFloatRoundings = 4 * std::numeric_limits<float>::epsilon();

// An autocorrelation peak must rise this far above the lowest
// autocorrelation at shorter lags (a random walk's decaying ACF has none).
constexpr double kMinSeasonProminence = 0.2;

}  // namespace

int TailHistogram::BinOf(double x) {
  if (!(x > 0)) return 0;
  const double bin = std::floor(kBinsPerDoubling * std::log2(1 + x));
  return static_cast<int>(std::clamp(bin, 0.0, static_cast<double>(kBins - 1)));
}

double TailHistogram::BinFloor(int bin) {
  // The edges, computed once with the same exp2 (the same values): seven
  // tests look up two edges each per window.
  static const std::array<double, kBins + 1> kFloors = [] {
    std::array<double, kBins + 1> floors{};
    for (int b = 0; b <= kBins; ++b) {
      floors[b] = std::exp2(static_cast<double>(b) / kBinsPerDoubling) - 1;
    }
    return floors;
  }();
  return kFloors[static_cast<size_t>(std::clamp(bin, 0, kBins))];
}

void TailHistogram::Add(double x, double keep) {
  if (!(x >= 0)) x = 0;
  // Forgetting multiplies history by `keep`; equivalently each new value
  // weighs 1/keep more than the last. The weight is folded back into the
  // bins once it passes 2^20 (float bins keep ~7 digits).
  if (keep < 1) weight /= keep;
  if (weight > 1 << 20) {
    const double fold = 1 / weight;
    for (float& b : bins) b = static_cast<float>(b * fold);
    total *= fold;
    weight = 1;
  }
  bins[BinOf(x)] += static_cast<float>(weight);
  total += weight;
  max = std::max(max, x);
}

double TailHistogram::UpperTail(double x) const {
  if (!(x > 0)) return 1;
  const double n = total / weight;  // windows remembered, in today's units
  if (x >= max) {
    // Beyond everything learned ranks cannot go below 1/N: extrapolate with
    // a Pareto tail of index 3 (twice as far, eight times rarer), the index
    // of the heavy tails of most load and latency series. (Tuned on NAB:
    // index 1 scores 44, 2 scores 47, 3 scores 49, 6 scores 48.)
    const double ratio = (1 + max) / (1 + x);
    return 0.5 / (n + 1) * ratio * ratio * ratio;
  }
  const int b = BinOf(x);
  double above = 0;
  // Bins past the largest value's are empty (values only enter at or below
  // it; forgetting and merging keep zeros zero): summing stops at the end
  // of the doubling that holds 1 + max (1 + max < 2^e: its bin < 4e), which
  // needs no logarithm and adds at most three empty bins.
  int e = 0;
  std::frexp(1 + max, &e);
  const int top = std::min(kBins - 1, kBinsPerDoubling * e - 1);
  for (int i = b + 1; i <= top; ++i) above += bins[i];
  const double lo = BinFloor(b);
  const double hi = std::min(BinFloor(b + 1), std::max(max, lo));
  const double frac = hi > lo ? std::clamp((hi - x) / (hi - lo), 0.0, 1.0) : 0.0;
  above += bins[b] * frac;
  return std::min(1.0, (above / weight + 0.5) / (n + 1));
}

double TailHistogram::Quantile(double q) const {
  if (total <= 0) return 0;
  const double target = q * total;
  double seen = 0;
  for (int b = 0; b < kBins; ++b) {
    seen += bins[b];
    if (seen >= target) return std::min(BinFloor(b + 1), max);
  }
  return max;
}

void TailHistogram::Merge(const TailHistogram& other) {
  const double scale = weight / other.weight;  // into this histogram's units
  for (int b = 0; b < kBins; ++b) bins[b] += static_cast<float>(other.bins[b] * scale);
  total += other.total * scale;
  max = std::max(max, other.max);
}

int MetricModel::SeasonBin(int64_t window) const {
  const int64_t phase = ((window % state_.period) + state_.period) % state_.period;
  return static_cast<int>(phase / state_.windows_per_bin);
}

double MetricModel::Predict(int64_t window) const {
  double p = state_.level;
  if (state_.period > 0) p += state_.season[SeasonBin(window)];
  return p;
}

double MetricModel::Scale() const {
  return std::max({state_.scale, kRelativeScaleFloor * state_.magnitude, kAbsoluteScaleFloor});
}

MetricScore MetricModel::Score(int64_t window, const MetricObservation& observation) const {
  MetricScore s;
  s.observed = observation.mean();
  if (!state_.ready) return s;
  s.scored = true;
  const double scale = Scale();
  s.expected = Predict(window);
  // The residual in the larger of the series' scale and its phase's.
  const double phase_scale =
      state_.period > 0 && state_.season_scale.size() == state_.season.size()
          ? std::max(scale, static_cast<double>(state_.season_scale[SeasonBin(window)]))
          : scale;
  s.z = (s.observed - s.expected) / phase_scale;
  // The profile is held in floats (and the warm-up replayed from floats):
  // a residual within a few of their roundings of the prediction is a
  // prediction met exactly (a perfectly periodic series), not a deviation
  // in a series whose scale has shrunk to its scale floor.
  if (!std::isfinite(s.z) ||
      std::abs(s.observed - s.expected) <= kFloatRoundings * std::abs(s.expected)) {
    s.z = 0;
  }
  const double abs_z = std::abs(s.z);

  s.spike_z = abs_z;
  if (state_.whole_numbers && state_.long_scale > 0 && s.z != 0) {
    const double floored = std::abs(s.observed - s.expected) /
                           std::max(phase_scale, kCountSpikeScaleShare * state_.long_scale);
    if (std::isfinite(floored)) s.spike_z = floored;
  }
  const double p_spike = stats::ClampPValue(state_.spike_hist.UpperTail(s.spike_z));
  const double zc = std::clamp(s.z, -kCusumClip, kCusumClip);
  s.level_up = std::max(0.0, state_.level_up + zc - kCusumDrift);
  s.level_down = std::max(0.0, state_.level_down - zc - kCusumDrift);
  const double p_level =
      stats::ClampPValue(state_.level_hist.UpperTail(std::max(s.level_up, s.level_down)));
  const double u = std::min(-std::log(p_spike), kBurstCap);
  s.burst = std::max(0.0, state_.burst + u - kBurstDrift);
  const double p_burst = stats::ClampPValue(state_.burst_hist.UpperTail(s.burst));

  // A window mean past every one learned: rarer than any rank can say
  // (half a window in the history), and exponentially rarer with the
  // excess over the learned range.
  double p_record = 1;
  const double range = state_.max_seen - state_.min_seen;
  if (range > 0) {
    const double beyond = std::max(s.observed - state_.max_seen, state_.min_seen - s.observed);
    if (beyond > 0) {
      // One past the range is the smallest record counts allow: that unit
      // is free.
      const double excess = state_.whole_numbers ? std::max(beyond - 1, 0.0) : beyond;
      p_record = 0.5 / (state_.spike_hist.windows() + 1) * std::exp(-kRecordDecay * excess / range);
    }
  }

  // The residual as Learn clips it.
  const double e = std::clamp(s.observed - s.expected, -kClip * scale, kClip * scale);

  // Variance: the scale this window's residual would leave over the
  // long-run scale; only increases count.
  double p_variance = 1;
  if (state_.long_scale > 0) {
    const double fast =
        std::max(scale, state_.scale + options_.scale_rate * (kAbsToSigma * std::abs(e) - state_.scale));
    // The log ratio lies in [0, ~0.5] under the null, within the rank
    // histogram's first two bins (a quarter doubling of 1 + x each): the
    // interpolated tail overstates the share above, so the test is
    // conservative in the bulk (at 0.01 it rejects ~0.1% of null windows)
    // and reaches small p-values only past the spread history held.
    s.spread = std::max(0.0, std::log(fast / std::max(state_.long_scale, kAbsoluteScaleFloor)));
    if (!std::isfinite(s.spread)) s.spread = 0;
    if (state_.variance_hist.windows() >= kMinVarianceWindows) {
      p_variance = stats::ClampPValue(state_.variance_hist.UpperTail(s.spread));
    }
  }

  // Shifts: the level this window leaves against the long- and medium-run
  // levels (all of the deseasonalised series), in the larger of the short-
  // and long-run scales (a wider spread is the variance test's finding).
  double p_shift = 1, p_medium_shift = 1;
  {
    const double deseasonalised =
        s.observed - (state_.period > 0 ? state_.season[SeasonBin(window)] : 0.0);
    const double level = state_.level + options_.level_rate * e;
    const double reference = std::max(state_.long_scale, scale);
    const double n = static_cast<double>(state_.long_level_windows);
    // The next value of a slow level (a running mean while n < 1 / rate)
    // and the distance of the level from it.
    auto shift = [&](double slow, double rate, double* next) {
      *next = n == 0 ? deseasonalised
                     : slow + std::max(rate, 1 / (n + 1)) * (deseasonalised - slow);
      if (!std::isfinite(*next)) *next = slow;
      const double d = std::abs(level - *next) / reference;
      return std::isfinite(d) ? d : 0.0;
    };
    s.shift = shift(state_.long_level, kLongLevelRate, &s.long_level);
    s.medium_shift = shift(state_.medium_level, kMediumLevelRate, &s.medium_level);
    if (state_.shift_hist.windows() >= kMinShiftWindows) {
      p_shift = stats::ClampPValue(state_.shift_hist.UpperTail(s.shift));
    }
    if (state_.medium_shift_hist.windows() >= kMinShiftWindows) {
      p_medium_shift = stats::ClampPValue(state_.medium_shift_hist.UpperTail(s.medium_shift));
    }
  }

  // Stuck: this window's mean repeats the last ones learned, and with it
  // the run becomes longer than every earlier run (and reaches
  // kMinStuckWindows). No window learned before the run was in so long a
  // one: one window's share of them (at most the histograms' memory, as
  // the record test). A whole window, not the half of the rank tests'
  // prior: under a stationary series with runs, a run outlasts all the
  // earlier ones about once per windows learned. It speaks in that window
  // only: the windows after it in the run are the same stall, not new
  // evidence.
  double p_stuck = 1;
  if (state_.stuck_learned > 0) {
    s.stuck = s.observed == state_.stuck_value ? state_.stuck_windows + 1 : 1;
    const double before = static_cast<double>(state_.stuck_learned) -
                          static_cast<double>(s.stuck - 1);
    if (s.stuck == std::max(state_.stuck_record + 1, kMinStuckWindows) &&
        before >= kMinShiftWindows) {
      p_stuck = 1 / (std::min(before, options_.history_windows) + 1);
    }
  }

  s.p = {p_spike, p_level, p_burst, stats::ClampPValue(p_record),
         p_variance, p_shift, p_medium_shift, stats::ClampPValue(p_stuck)};
  // The Cauchy rule over the seven tests that speak in every window. The
  // stuck test speaks once per stall: in that window it joins by
  // Bonferroni (in the Cauchy rule it would count an eighth); elsewhere it
  // has nothing to add. So P(p_value <= a) <= P(Cauchy <= a) + P(stuck <=
  // a/2): at most 1.5 a if both are valid (measured far below: the unit
  // tests), and exactly the seven tests' p-value where nothing is stuck,
  // with their power (a Bonferroni in every window would halve it).
  const double p_rest = stats::CauchyCombine(absl::MakeConstSpan(s.p.data(), MetricScore::kStuck));
  s.p_value = p_stuck < 1 ? stats::ClampPValue(std::min(1.0, 2 * std::min(p_rest, s.p[MetricScore::kStuck])))
                          : p_rest;
  if (s.p[MetricScore::kStuck] < p_rest) {
    s.strongest = MetricScore::kStuck;
    s.stuck_record = state_.stuck_record;
  } else {
    s.strongest = static_cast<MetricScore::Test>(
        std::min_element(s.p.begin(), s.p.begin() + MetricScore::kStuck) - s.p.begin());
    if (s.strongest >= MetricScore::kShift) s.strongest = MetricScore::kLevel;
  }
  const double band = state_.spike_hist.total > 0 ? std::max(state_.spike_hist.Quantile(0.99), 1.0) : 3.0;
  s.lower = s.expected - band * phase_scale;
  s.upper = s.expected + band * phase_scale;
  return s;
}

void MetricModel::Learn(int64_t window, double x, const MetricScore& score) {
  MetricModelState& st = state_;
  const double scale = Scale();
  const double residual = x - Predict(window);
  const double e = std::clamp(residual, -kClip * scale, kClip * scale);
  if (std::isfinite(e)) {
    st.level += options_.level_rate * e;
    if (st.period > 0) {
      const int bin = SeasonBin(window);
      st.season[bin] += static_cast<float>(options_.season_rate * (1 - options_.level_rate) * e);
      // A snapshot from before the phase spreads starts them at the scale.
      if (st.season_scale.size() != st.season.size()) {
        st.season_scale.assign(st.season.size(), static_cast<float>(scale));
      }
      st.season_scale[bin] +=
          static_cast<float>(options_.season_rate * (kAbsToSigma * std::abs(e) - st.season_scale[bin]));
    }
    st.scale += options_.scale_rate * (kAbsToSigma * std::abs(e) - st.scale);
  }
  st.magnitude += options_.scale_rate * (std::abs(x) - st.magnitude);
  if (std::isfinite(residual)) {
    // Unclipped: the long run's spread includes its spikes. A running mean
    // over the first 1/kLongScaleRate windows, exponential after; a
    // snapshot from before the variance test starts it at the scale.
    if (!(st.long_scale > 0) && st.windows > 0) st.long_scale = scale;
    const double rate = std::max(kLongScaleRate, 1 / static_cast<double>(st.windows + 1));
    st.long_scale += rate * (kAbsToSigma * std::abs(residual) - st.long_scale);
    if (!std::isfinite(st.long_scale)) st.long_scale = scale;
  }
  if (std::isfinite(x)) {
    st.long_level = score.long_level;
    st.medium_level = score.medium_level;
    ++st.long_level_windows;
  }
  if (st.stuck_learned > 0 && x == st.stuck_value) {
    ++st.stuck_windows;
  } else {
    st.stuck_record = std::max(st.stuck_record, st.stuck_windows);
    st.stuck_value = x;
    st.stuck_windows = 1;
  }
  ++st.stuck_learned;
  st.level_up = score.level_up;
  st.level_down = score.level_down;
  st.burst = score.burst;
  if (x != std::floor(x)) st.whole_numbers = false;
  st.min_seen = st.windows == 0 ? x : std::min(st.min_seen, x);
  st.max_seen = st.windows == 0 ? x : std::max(st.max_seen, x);
  ++st.windows;
  if (st.windows > static_cast<uint64_t>(kReplaySettleWindows)) {
    const double keep = 1 - 1 / options_.history_windows;
    st.spike_hist.Add(score.spike_z, keep);
    st.level_hist.Add(std::max(score.level_up, score.level_down), keep);
    st.burst_hist.Add(score.burst, keep);
    st.variance_hist.Add(score.spread, keep);
    st.shift_hist.Add(score.shift, keep);
    st.medium_shift_hist.Add(score.medium_shift, keep);
  }
}

void MetricModel::Update(int64_t window, const MetricObservation& observation,
                         const MetricScore* score, bool end_warmup) {
  const double x = observation.mean();
  if (observation.samples == 0 || !std::isfinite(x)) return;
  MetricModelState& st = state_;
  if (!st.ready) {
    if (st.first_window < 0) st.first_window = window;
    const int64_t index = window - st.first_window;
    if (index < 0) return;  // out of order: ignored
    if (index < kWarmupWindows) {
      if (st.warmup.empty()) st.warmup.reserve(256);
      if (static_cast<int64_t>(st.warmup.size()) <= index) {
        st.warmup.resize(static_cast<size_t>(index + 1), std::numeric_limits<float>::quiet_NaN());
      }
      st.warmup[static_cast<size_t>(index)] = static_cast<float>(x);
      ++st.windows;
      const bool full = index + 1 >= kWarmupWindows;
      if (full || (end_warmup && st.windows >= static_cast<uint64_t>(kMinWarmupWindows))) {
        FinishWarmup();
      }
      return;
    }
    FinishWarmup();
  }
  if (score != nullptr && score->scored) {
    Learn(window, x, *score);
  } else {
    Learn(window, x, Score(window, observation));
  }
}

int64_t MetricModel::DetectPeriod() const {
  const std::vector<float>& w = state_.warmup;
  const int64_t n = static_cast<int64_t>(w.size());
  if (n < 4 * kMinPeriod) return 0;
  // Gaps take the previous value (the first ones the first value seen).
  std::vector<double> x(static_cast<size_t>(n));
  double last = std::numeric_limits<double>::quiet_NaN();
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isnan(w[i])) {
      last = w[i];
      break;
    }
  }
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isnan(w[i])) last = w[i];
    x[i] = last;
    mean += last;
  }
  mean /= static_cast<double>(n);
  double variance = 0;
  for (double& v : x) {
    v -= mean;
    variance += v * v;
  }
  variance /= static_cast<double>(n);
  if (!(variance > 0)) return 0;
  const int64_t max_lag = n / 2;
  std::vector<double> acf(static_cast<size_t>(max_lag + 2), 0.0);
  for (int64_t lag = kMinPeriod - 1; lag <= max_lag + 1 && lag < n; ++lag) {
    double sum = 0;
    for (int64_t t = 0; t + lag < n; ++t) sum += x[t] * x[t + lag];
    acf[lag] = sum / static_cast<double>(n - lag) / variance;
  }
  int64_t best = 0;
  double best_acf = kMinSeasonAcf;
  double lowest = acf[kMinPeriod - 1];
  for (int64_t lag = kMinPeriod; lag <= max_lag; ++lag) {
    lowest = std::min(lowest, acf[lag]);
    const bool peak = acf[lag] >= acf[lag - 1] && acf[lag] >= acf[lag + 1];
    if (peak && acf[lag] >= best_acf && acf[lag] - lowest >= kMinSeasonProminence) {
      // A multiple of the period found must be clearly better to replace it
      // (a period of 62.8 windows peaks again near 126 and 188).
      const int64_t multiple = best > 0 ? (lag + best / 2) / best : 0;
      if (multiple >= 2 && std::abs(lag - multiple * best) <= multiple &&
          acf[lag] < best_acf + 0.05) {
        continue;
      }
      best = lag;
      best_acf = acf[lag];
    }
  }
  return best;
}

void MetricModel::FinishWarmup() {
  MetricModelState& st = state_;
  if (st.ready) return;
  std::vector<float> values = std::move(st.warmup);
  st.warmup = {};
  const int64_t first = st.first_window;
  st = MetricModelState{};
  st.first_window = first;
  // DetectPeriod reads the buffer.
  st.warmup = std::move(values);
  st.period = options_.season_windows > 0 ? options_.season_windows : DetectPeriod();
  values = std::move(st.warmup);
  st.warmup = {};
  st.ready = true;
  const int64_t n = static_cast<int64_t>(values.size());
  if (st.first_window < 0 || n == 0) return;

  double sum = 0, abs_sum = 0;
  int64_t valid = 0;
  for (float v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    abs_sum += std::abs(v);
    ++valid;
  }
  if (valid == 0) return;
  const double mean = sum / static_cast<double>(valid);
  st.magnitude = abs_sum / static_cast<double>(valid);
  if (st.period > 0) {
    st.windows_per_bin = (st.period + kMaxSeasonBins - 1) / kMaxSeasonBins;
    const int64_t bins = (st.period + st.windows_per_bin - 1) / st.windows_per_bin;
    std::vector<double> bin_sum(static_cast<size_t>(bins), 0.0), bin_n(static_cast<size_t>(bins), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(values[i])) continue;
      const int b = SeasonBin(first + i);
      bin_sum[b] += values[i] - mean;
      bin_n[b] += 1;
    }
    st.season.assign(static_cast<size_t>(bins), 0.0f);
    for (int64_t b = 0; b < bins; ++b) {
      if (bin_n[b] > 0) st.season[b] = static_cast<float>(bin_sum[b] / bin_n[b]);
    }
  }
  // The level starts at the mean of the first deseasonalised windows, the
  // scale at the robust spread of successive differences (MAD / 0.954).
  std::vector<double> d;
  double head = 0;
  int64_t head_n = 0;
  double previous = std::numeric_limits<double>::quiet_NaN();
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(values[i])) {
      previous = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const double deseasonalised = values[i] - (st.period > 0 ? st.season[SeasonBin(first + i)] : 0.0);
    if (head_n < 10) {
      head += deseasonalised;
      ++head_n;
    }
    if (!std::isnan(previous)) d.push_back(std::abs(deseasonalised - previous));
    previous = deseasonalised;
  }
  st.level = head / static_cast<double>(head_n);
  if (!d.empty()) {
    std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
    st.scale = d[d.size() / 2] / 0.954;
    if (!(st.scale > 0)) {
      double mean_d = 0;
      for (double v : d) mean_d += v;
      st.scale = mean_d / static_cast<double>(d.size()) * kAbsToSigma / std::numbers::sqrt2;
    }
  }
  // Each phase's spread starts at the series' scale.
  if (st.period > 0) st.season_scale.assign(st.season.size(), static_cast<float>(st.scale));
  // Replay the warm-up through the online update.
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(values[i])) continue;
    MetricObservation o{1, values[i], values[i], values[i]};
    Learn(first + i, values[i], Score(first + i, o));
  }
}

void MetricModel::Merge(const MetricModel& other) {
  const MetricModelState& o = other.state_;
  if (!o.ready) return;
  if (!state_.ready) {
    state_ = o;
    return;
  }
  MetricModelState& st = state_;
  const double a = static_cast<double>(st.windows), b = static_cast<double>(o.windows);
  const double wa = a + b > 0 ? a / (a + b) : 0.5, wb = 1 - wa;
  st.level = wa * st.level + wb * o.level;
  st.scale = wa * st.scale + wb * o.scale;
  st.magnitude = wa * st.magnitude + wb * o.magnitude;
  st.long_scale = wa * st.long_scale + wb * o.long_scale;
  // Long- and medium-run levels from a snapshot written before the shift
  // tests are not levels: the other side's are taken whole.
  if (o.long_level_windows > 0) {
    const bool both = st.long_level_windows > 0;
    st.long_level = both ? wa * st.long_level + wb * o.long_level : o.long_level;
    st.medium_level = both ? wa * st.medium_level + wb * o.medium_level : o.medium_level;
    st.long_level_windows += o.long_level_windows;
  }
  if (st.period == o.period && st.season.size() == o.season.size()) {
    for (size_t i = 0; i < st.season.size(); ++i) {
      st.season[i] = static_cast<float>(wa * st.season[i] + wb * o.season[i]);
    }
    // Phase spreads as the profile; a side without them (a snapshot from
    // before them) has none to average.
    if (st.season_scale.size() != st.season.size()) {
      st.season_scale = o.season_scale;
    } else if (o.season_scale.size() == st.season_scale.size()) {
      for (size_t i = 0; i < st.season_scale.size(); ++i) {
        st.season_scale[i] = static_cast<float>(wa * st.season_scale[i] + wb * o.season_scale[i]);
      }
    }
  }
  // The stuck test: the other side's runs, its current one included, are
  // history (its longest counts as a record); this side's run goes on.
  if (o.stuck_learned > 0) {
    if (st.stuck_learned == 0) {
      st.stuck_value = o.stuck_value;
      st.stuck_windows = o.stuck_windows;
      st.stuck_record = o.stuck_record;
    } else {
      st.stuck_record = std::max({st.stuck_record, o.stuck_record, o.stuck_windows});
    }
    st.stuck_learned += o.stuck_learned;
  }
  st.level_up = std::max(st.level_up, o.level_up);
  st.level_down = std::max(st.level_down, o.level_down);
  st.burst = std::max(st.burst, o.burst);
  st.whole_numbers = st.whole_numbers && o.whole_numbers;
  st.min_seen = std::min(st.min_seen, o.min_seen);
  st.max_seen = std::max(st.max_seen, o.max_seen);
  st.windows += o.windows;
  st.spike_hist.Merge(o.spike_hist);
  st.level_hist.Merge(o.level_hist);
  st.burst_hist.Merge(o.burst_hist);
  st.variance_hist.Merge(o.variance_hist);
  st.shift_hist.Merge(o.shift_hist);
  st.medium_shift_hist.Merge(o.medium_shift_hist);
}

size_t MetricModel::MemoryBytes() const {
  return sizeof(*this) + state_.warmup.capacity() * sizeof(float) +
         state_.season.capacity() * sizeof(float) + state_.season_scale.capacity() * sizeof(float);
}

}  // namespace timescan::internal
