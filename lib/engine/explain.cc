#include "engine/explain.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"
#include "json_escape.h"
#include "stats/distributions.h"
#include "timescan/timestamps.h"

namespace timescan::internal {
namespace {

std::string Percent(double share) {
  if (share >= 0.1) return absl::StrFormat("%.0f%%", 100 * share);
  if (share >= 0.001) return absl::StrFormat("%.2g%%", 100 * share);
  return absl::StrFormat("%.1e%%", 100 * share);
}

std::string Shown(const SymbolTable& symbols, Symbol s) {
  const std::string_view name = symbols.Name(s);
  return name.empty() ? std::string("(empty)") : std::string(name);
}

}  // namespace

std::string FeatureName(int feature) {
  return absl::StrCat(ToAbsl(KindName(static_cast<Kind>(feature / 2))),
                      feature % 2 == 0 ? ".subject" : ".actor");
}

Reason ExplainFeature(int feature, const FeatureObservation& o, const CategoricalTable& table,
                      const FeatureScore& score, const SymbolTable& symbols,
                      const CategoricalTable* startup) {
  Reason r;
  r.model = "categorical";
  r.feature = FeatureName(feature);
  r.p_value = score.p_value;
  // The most frequent values of `t`, with their shares.
  auto common = [&](const CategoricalTable& t) {
    std::string known;
    const double total = static_cast<double>(std::max<uint64_t>(t.total(), 1));
    for (const auto& [value, count] : t.Top(3)) {
      if (!known.empty()) known += ", ";
      absl::StrAppend(&known, Shown(symbols, value), " (", Percent(count / total), ")");
    }
    if (t.distinct() > 3) absl::StrAppend(&known, " and ", t.distinct() - 3, " more");
    return known.empty() ? std::string("none") : known;
  };
  const std::string known = common(table);
  if (score.novelty) {
    const uint32_t shown = std::min<uint32_t>(o.new_values, o.new_examples.size());
    // New to the steady state: truly new first, then those seen only at
    // start-up, each list in symbol order.
    std::string fresh, at_start;
    for (uint32_t i = 0; i < shown; ++i) {
      const Symbol value = o.new_examples[i];
      std::string& list = startup != nullptr && startup->Count(value) > 0 ? at_start : fresh;
      if (!list.empty()) list += ", ";
      list += Shown(symbols, value);
    }
    if (!fresh.empty()) r.observed = fresh + " (new)";
    if (!at_start.empty()) {
      absl::StrAppend(&r.observed, r.observed.empty() ? "" : ", ", at_start,
                      " (seen only at start-up)");
    }
    if (shown == 0) r.observed = "values past the per-window cap (new)";
    if (o.new_values > shown) absl::StrAppend(&r.observed, " and ", o.new_values - shown, " more new values");
    absl::StrAppend(&r.observed, " among ", o.events, o.events == 1 ? " event" : " events");
    const double once_in = score.window_rate > 0 ? 1 / score.window_rate : 0;
    r.expected = absl::StrCat("known values: ", known, "; a new value about once in ",
                              once_in >= 10 ? absl::StrFormat("%.2g", once_in) : absl::StrFormat("%.1f", once_in),
                              " windows (", table.windows(), " learned)");
  } else if (score.startup && startup != nullptr) {
    const uint32_t count = o.startup_rarest_count;
    r.observed = absl::StrCat(Shown(symbols, o.startup_rarest), " (seen ", count,
                              count == 1 ? " time" : " times", " in ", startup->total(),
                              " events of entities' start-up windows)");
    r.expected = absl::StrCat("values this rare make ", Percent(startup->RareMass(count)),
                              " of start-up events; common at start-up: ", common(*startup));
  } else {
    r.observed = absl::StrCat(Shown(symbols, o.rarest), " (seen ", o.rarest_count,
                              o.rarest_count == 1 ? " time" : " times", " in ", table.total(),
                              " events)");
    r.expected = absl::StrCat("values this rare make ", Percent(table.RareMass(o.rarest_count)),
                              " of events; common: ", known);
  }
  r.observed = PrintableText(r.observed);
  r.expected = PrintableText(r.expected);
  return r;
}

namespace {

// "3..12 per window (98%; mean 7.1 over 600 windows, 10:00-10:59 UTC)".
std::string ExpectedCount(const CountPrediction& prediction, std::string_view unit,
                          std::string_view when) {
  const int64_t lower = stats::NegBinomialQuantile(0.01, prediction.mean, prediction.variance);
  const int64_t upper = stats::NegBinomialQuantile(0.99, prediction.mean, prediction.variance);
  return absl::StrFormat("%d..%d per %s (98%%; mean %.3g over %.0f %ss, %s)", lower, upper,
                         ToAbsl(unit), prediction.mean, prediction.windows, ToAbsl(unit),
                         ToAbsl(when));
}

}  // namespace

Reason ExplainCount(Kind kind, uint32_t observed, const CountPrediction& prediction, bool drop,
                    int hour, int64_t age, int64_t window_start_ns, int64_t window_end_ns,
                    double p_value) {
  Reason r;
  r.model = "count";
  r.feature = absl::StrCat("count.", ToAbsl(KindName(kind)));
  r.p_value = p_value;
  r.observed = absl::StrCat(observed, drop ? " (a drop)" : " (a spike)");
  if (drop) {
    absl::StrAppend(&r.observed, " in the previous window ", FormatRfc3339(window_start_ns), "..",
                    FormatRfc3339(window_end_ns));
  }
  const std::string when = age < CountBaseline::kStartupWindows
                               ? std::string("an entity's start-up window")
                               : absl::StrFormat("%02d:00-%02d:59 UTC", hour, hour);
  r.expected = ExpectedCount(prediction, "window", when);
  return r;
}

Reason ExplainCoarseCount(Kind kind, std::string_view resolution, uint32_t observed,
                          const CountPrediction& prediction, bool drop, int hour,
                          int64_t window_start_ns, int64_t window_end_ns, double p_value) {
  Reason r;
  r.model = "count";
  r.feature = absl::StrCat("count.", ToAbsl(KindName(kind)), "@", ToAbsl(resolution));
  r.p_value = p_value;
  r.observed = absl::StrCat(observed, drop ? " (a drop)" : " (a spike)", " in ",
                            FormatRfc3339(window_start_ns), "..", FormatRfc3339(window_end_ns));
  const std::string when = hour < 0 ? std::string("all hours")
                                    : absl::StrFormat("starting %02d:00-%02d:59 UTC", hour, hour);
  r.expected = ExpectedCount(prediction, absl::StrCat(ToAbsl(resolution), " window"), when);
  return r;
}

Reason ExplainValue(Kind kind, const ValueObservation& o, const ValueBaseline& baseline,
                    bool errors, double p_value) {
  Reason r;
  r.model = "value";
  r.p_value = p_value;
  const absl::string_view kind_name = ToAbsl(KindName(kind));
  if (errors) {
    r.feature = absl::StrCat("errors.", kind_name);
    r.observed = absl::StrFormat("%d of %d failed (%s)", o.errors, o.statuses,
                                 Percent(static_cast<double>(o.errors) / o.statuses));
    r.expected = absl::StrCat(Percent(baseline.ErrorRate(kind)), " of ", kind_name,
                              " events fail");
    return r;
  }
  const bool volume = UsesVolume(kind);
  r.feature = absl::StrCat(volume ? "volume." : "mean.", kind_name);
  const double statistic = ValueBaseline::Statistic(kind, o);
  r.observed = absl::StrFormat("%.4g (%s of %d values)", statistic, volume ? "sum" : "mean", o.values);
  const LogHistogram& h = baseline.histogram(kind);
  r.expected = absl::StrFormat("median %.3g, 99%% of %d windows below %.3g", h.Quantile(0.5),
                               h.total(), h.Quantile(0.99));
  return r;
}

Reason ExplainDistribution(Kind kind, const DistributionScore& s, bool tail, double p_value) {
  Reason r;
  r.model = "distribution";
  r.p_value = p_value;
  r.feature = absl::StrCat(ToAbsl(KindName(kind)), kind == Kind::kRequest ? " latency" : " bytes",
                           tail ? " p99 tail" : " median shift");
  const uint32_t above = tail ? s.above_tail : s.above_median;
  const double threshold = tail ? s.tail_value : s.median_value;
  const double rate = tail ? s.tail_rate : s.median_rate;
  r.observed = absl::StrFormat("%d of %d above %.5g", above, s.n, threshold);
  if (s.seen > s.n) absl::StrAppend(&r.observed, " (a sample of the window's ", s.seen, " values)");
  r.expected = absl::StrFormat("%s (%.2g of %d; %s %.5g learned from %d values)", Percent(rate),
                               rate * s.n, s.n, tail ? "p99" : "median", threshold, s.learned);
  return r;
}

namespace {

// A dimension's value in its own unit: events, ms, bytes, a share.
std::string MultivariateValue(int dim, double transformed) {
  const double v = MultivariateUnits(dim, transformed);
  return absl::StrFormat("%.3g", std::max(v, 0.0));
}

// "41 (27..61)": a centre and the band of two standard deviations, on the
// model's scale, shown in the dimension's unit.
std::string MultivariateBand(int dim, double centre, double sd) {
  return absl::StrCat(MultivariateValue(dim, centre), " (", MultivariateValue(dim, centre - 2 * sd),
                      "..", MultivariateValue(dim, centre + 2 * sd), ")");
}

std::string StratumEvents(int stratum) {
  const uint64_t low = uint64_t{1} << stratum;
  if (stratum == StratifiedTail::kStrata - 1) return absl::StrCat(low, " or more events");
  if (low == 1) return "1 event";
  return absl::StrCat(low, "-", 2 * low - 1, " events");
}

// What the values of a mix or distinct feature are.
std::string_view ValueNoun(int feature) {
  switch (feature) {
    case 2 * static_cast<int>(Kind::kConnect): return "destinations";
    case 2 * static_cast<int>(Kind::kRequest): return "routes";
    case 2 * static_cast<int>(Kind::kRequest) + 1: return "clients";
    case 2 * static_cast<int>(Kind::kApi): return "actions";
    case 2 * static_cast<int>(Kind::kApi) + 1: return "callers";
    default: return "values";
  }
}

}  // namespace

Reason ExplainMultivariate(const MultivariateScore& s, double p_value) {
  Reason r;
  r.model = "multivariate";
  r.p_value = p_value;
  // The first dimension always; the others while they carry a fifth of
  // the distance.
  for (int i = 0; i < s.top_count; ++i) {
    const MultivariateScore::Contribution& c = s.top[static_cast<size_t>(i)];
    if (i > 0 && c.contribution < 0.2 * s.distance2) break;
    const std::string_view name = MultivariateDimName(c.dim);
    const std::string sep = i > 0 ? "; " : "";
    absl::StrAppend(&r.feature, i > 0 ? " + " : "", ToAbsl(name));
    absl::StrAppend(&r.observed, i > 0 ? ", " : "", ToAbsl(name), " ",
                    MultivariateValue(c.dim, c.observed));
    absl::StrAppend(&r.expected, sep, ToAbsl(name), " ",
                    MultivariateBand(c.dim, c.expected, c.expected_sd),
                    " given the window's other dimensions, ", MultivariateBand(c.dim, c.mean, c.sd),
                    " learned");
  }
  if (r.feature.empty()) r.feature = "window vector";
  absl::StrAppend(&r.observed,
                  absl::StrFormat(" (distance² %.3g over %d dimensions; 99%% of learned windows "
                                  "within %.3g)",
                                  s.distance2, s.dims, s.q99));
  absl::StrAppend(&r.expected, "; from ", s.learned, " learned windows");
  return r;
}

Reason ExplainMix(int feature, const std::vector<MixShare>& moved, uint32_t events,
                  double statistic, const StratifiedTail& tail, int stratum, double p_value,
                  const SymbolTable& symbols) {
  Reason r;
  r.model = "mix";
  r.feature = FeatureName(feature);
  r.p_value = p_value;
  auto share = [](double s) { return s > 0 ? Percent(s) : std::string("0%"); };
  for (size_t i = 0; i < moved.size(); ++i) {
    const char* sep = i > 0 ? ", " : "";
    absl::StrAppend(&r.observed, sep, Shown(symbols, moved[i].value), " ", share(moved[i].observed));
    absl::StrAppend(&r.expected, sep, Shown(symbols, moved[i].value), " ", share(moved[i].expected));
  }
  absl::StrAppendFormat(&r.observed, " of %d events of known %s (divergence 8nH^2 %.3g)", events,
                        ToAbsl(ValueNoun(feature)), statistic);
  const int high = tail.QuantileBin(stratum, 0.99);
  absl::StrAppendFormat(&r.expected,
                        " (learned shares); divergence under %.3g in 99%% of %d learned windows of %s",
                        StratifiedTail::BinFloor(high + 1), tail.Windows(stratum),
                        StratumEvents(stratum));
  return r;
}

Reason ExplainDistinct(int feature, uint32_t distinct, uint32_t events, const StratifiedTail& tail,
                       int stratum, double p_value) {
  Reason r;
  r.model = "distinct";
  r.feature = FeatureName(feature);
  r.p_value = p_value;
  const std::string_view noun = ValueNoun(feature);
  r.observed = absl::StrCat(distinct, " distinct ", ToAbsl(noun), " among ", events, " events");
  // The integers in the bins of the learned 1% and 99% quantiles.
  const int low_bin = tail.QuantileBin(stratum, 0.01);
  const int high_bin = tail.QuantileBin(stratum, 0.99);
  const auto low = static_cast<int64_t>(std::ceil(StratifiedTail::BinFloor(low_bin) - 1e-9));
  const auto high = std::max<int64_t>(
      low, static_cast<int64_t>(std::ceil(StratifiedTail::BinFloor(high_bin + 1) - 1e-9)) - 1);
  r.expected = absl::StrCat(low, "..", high, " distinct ", ToAbsl(noun), " (98% of ",
                            tail.Windows(stratum), " learned windows of ", StratumEvents(stratum),
                            ")");
  return r;
}

Reason ExplainMetric(std::string_view metric, const MetricScore& score, int64_t period) {
  // By MetricScore::Test; the shift tests report as kLevel.
  static constexpr const char* kWhat[] = {"an outlier",
                                          "a level shift or drift",
                                          "a run of unusual windows",
                                          "beyond every window learned",
                                          "a spread wider than usual",
                                          "a level shift or drift",
                                          "a level shift or drift",
                                          "stuck"};
  static_assert(std::size(kWhat) == MetricScore::kStuck + 1);
  Reason r;
  r.model = "metric";
  r.feature = PrintableText(metric);
  r.p_value = score.p_value;
  if (score.strongest == MetricScore::kStuck) {
    // Each window of a stall is ordinary; its length is what is not.
    r.observed = absl::StrFormat(
        "%.6g (window mean) in %d windows in a row: stuck, longer than any earlier run (%d)",
        score.observed, score.stuck, score.stuck_record);
  } else {
    r.observed = absl::StrFormat("%.6g (window mean; %+.1f scales from expected: %s)",
                                 score.observed, score.z, kWhat[score.strongest]);
  }
  r.expected = absl::StrFormat("%.6g..%.6g (99%% of learned windows; expected %.6g, %s)",
                               score.lower, score.upper, score.expected,
                               period > 0 ? absl::StrFormat("season of %d windows", period)
                                          : std::string("no season"));
  return r;
}

Reason ExplainEvidence(std::string_view model, std::string_view feature, const EvidenceTrack& track,
                       int64_t window_start_ns, int64_t window_ns,
                       const EvidenceAccumulator& accumulator, double p_value) {
  Reason r;
  r.model = "evidence";
  r.feature = PrintableText(feature);
  r.p_value = p_value;
  const int64_t since_ns = window_start_ns - (static_cast<int64_t>(track.windows) - 1) * window_ns;
  r.observed = absl::StrFormat(
      "%s p-values under %.2g for %d windows since %s: accumulated %.1f (CUSUM of -ln p)",
      ToAbsl(model), std::exp(-accumulator.drift()), track.windows, FormatRfc3339(since_ns),
      track.level);
  r.expected = absl::StrFormat(
      "under %.1f in 99 windows of 100 (each window adds -ln p - %.2f; p-values of a stable "
      "entity rarely stay low)",
      accumulator.LevelExceededWith(0.01), accumulator.drift());
  return r;
}

namespace {

// "/bin/sh → /usr/bin/id → /usr/bin/curl"; the start marker is "(start)".
std::string ShownSequence(const std::array<Symbol, kMaxSequenceLength>& subjects, int length,
                          const SymbolTable& symbols) {
  std::string out;
  for (int i = 0; i < length; ++i) {
    if (i > 0) out += " \u2192 ";
    out += subjects[i] == kNoSymbol ? std::string("(start)") : Shown(symbols, subjects[i]);
  }
  return out;
}

}  // namespace

Reason ExplainSequence(int feature, int length, const SequenceObservation& o,
                       const SequenceScore& score, const SequenceTable& table,
                       const std::vector<const std::array<Symbol, kMaxSequenceLength>*>& new_examples,
                       const std::array<Symbol, kMaxSequenceLength>* rarest,
                       const SymbolTable& symbols) {
  Reason r;
  r.model = "sequence";
  r.feature = std::string(SequenceFeatureName(feature));
  r.p_value = score.p_value;
  const std::string grams = absl::StrCat(o.grams, o.grams == 1 ? " n-gram" : " n-grams");
  const std::string known = absl::StrCat(table.distinct(), " known ", length, "-grams");
  if (score.novelty) {
    const uint32_t shown = std::min<uint32_t>(o.new_grams, static_cast<uint32_t>(new_examples.size()));
    for (uint32_t i = 0; i < shown; ++i) {
      if (i > 0) r.observed += ", ";
      r.observed += ShownSequence(*new_examples[i], length, symbols);
    }
    // Subjects are kept for the first new n-grams within the per-window
    // cap of a window scored from its start.
    if (shown == 0) r.observed = "n-grams whose subjects were not kept";
    r.observed += " (new)";
    if (o.new_grams > shown) absl::StrAppend(&r.observed, " and ", o.new_grams - shown, " more new");
    absl::StrAppend(&r.observed, " among ", grams);
    const double once_in = score.window_rate > 0 ? 1 / score.window_rate : 0;
    r.expected = absl::StrCat(
        known, "; a new one about once in ",
        once_in >= 10 ? absl::StrFormat("%.2g", once_in) : absl::StrFormat("%.1f", once_in),
        " windows (", table.windows(), " learned, ", table.novel_windows(), " with a new one)");
  } else {
    r.observed = absl::StrCat(rarest != nullptr ? ShownSequence(*rarest, length, symbols)
                                                : std::string("an n-gram"),
                              " (seen ", o.rarest_count, o.rarest_count == 1 ? " time" : " times",
                              " in ", table.total(), " n-grams learned) among ", grams);
    r.expected = absl::StrCat("n-grams this rare make ", Percent(table.RareMass(o.rarest_count)),
                              " of those learned; ", known);
  }
  r.observed = PrintableText(r.observed);
  r.expected = PrintableText(r.expected);
  return r;
}

Reason ExplainNewGroup(std::string_view group, size_t known_groups, double p_value) {
  Reason r;
  r.model = "group";
  r.feature = "group";
  r.p_value = p_value;
  r.observed = PrintableText(absl::StrCat(ToAbsl(group), " (new: an unexpected workload)"));
  r.expected = absl::StrCat("one of ", known_groups,
                            " groups learned; scored against the whole fleet until it has a baseline");
  return r;
}

}  // namespace timescan::internal
