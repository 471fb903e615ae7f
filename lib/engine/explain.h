// Turns test results into the reasons a person reads: which model, which
// feature, what was observed and what the baseline expected.

#ifndef TIMESCAN_LIB_ENGINE_EXPLAIN_H_
#define TIMESCAN_LIB_ENGINE_EXPLAIN_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "models/categorical_model.h"
#include "models/count_model.h"
#include "models/distribution_model.h"
#include "models/evidence_model.h"
#include "models/metric_model.h"
#include "models/multivariate_model.h"
#include "models/sequence_model.h"
#include "models/mix_model.h"
#include "models/value_model.h"
#include "timescan/finding.h"
#include "timescan/symbol_table.h"

namespace timescan::internal {

// "exec.subject", "connect.actor".
std::string FeatureName(int feature);

// `startup`: the group's start-up table of the feature, or nullptr. New
// values it knows are shown "(seen only at start-up)"; a rare value judged
// against it (score.startup) is explained with its start-up counts.
Reason ExplainFeature(int feature, const FeatureObservation& observation,
                      const CategoricalTable& table, const FeatureScore& score,
                      const SymbolTable& symbols, const CategoricalTable* startup = nullptr);

// `drop`: the window scored is the previous one, [window_start, window_end).
// `age`: the entity's window index (0 and 1 use the start-up baseline).
Reason ExplainCount(Kind kind, uint32_t observed, const CountPrediction& prediction, bool drop,
                    int hour, int64_t age, int64_t window_start_ns, int64_t window_end_ns,
                    double p_value);

// A coarse window's count (EngineOptions::coarse_windows) of `resolution`
// ("1h"), [window_start, window_end); `hour`: the UTC hour of its start
// for a seasonal baseline, or -1.
Reason ExplainCoarseCount(Kind kind, std::string_view resolution, uint32_t observed,
                          const CountPrediction& prediction, bool drop, int hour,
                          int64_t window_start_ns, int64_t window_end_ns, double p_value);

// `errors`: the share of failures; else the volume or mean of the values.
Reason ExplainValue(Kind kind, const ValueObservation& observation, const ValueBaseline& baseline,
                    bool errors, double p_value);

// `tail`: the p99 tail test; else the median shift test. E.g. feature
// "request latency p99 tail", observed "7 of 40 above 250", expected
// "1% (0.4 of 40)".
Reason ExplainDistribution(Kind kind, const DistributionScore& score, bool tail, double p_value);

// The dimensions that contribute most to the window's distance: e.g.
// feature "connect count + request count", observed "connect count 9,
// request count 160 (distance² 52 against a learned 99% of 11)", expected
// "connect count 41 (27..61) given the window's other dimensions, 38 on
// average (19..75); ...".
Reason ExplainMultivariate(const MultivariateScore& score, double p_value);

// `metric`: the metric's name; `period`: the series' season in windows (0: none).
Reason ExplainMetric(std::string_view metric, const MetricScore& score, int64_t period);

// `model` and `feature`: those of the test whose evidence accumulated;
// `window_start_ns`: the start of the window closing now.
Reason ExplainEvidence(std::string_view model, std::string_view feature, const EvidenceTrack& track,
                       int64_t window_start_ns, int64_t window_ns,
                       const EvidenceAccumulator& accumulator, double p_value);
// `feature`: a sequence feature; `length`: the n of the n-grams.
// `new_examples`: the subjects of new n-grams of the window (up to
// EntitySequences::kMaxExamples); `rarest`: those of the rarest known
// one, or nullptr. E.g. feature "exec.sequence", observed "/bin/sh ->
// /usr/bin/id -> /usr/bin/curl (new) and 2 more new among 5 n-grams",
// expected "131 known n-grams; a new one about once in 2.1e+04 windows
// (20160 learned)".
Reason ExplainSequence(int feature, int length, const SequenceObservation& observation,
                       const SequenceScore& score, const SequenceTable& table,
                       const std::vector<const std::array<Symbol, kMaxSequenceLength>*>& new_examples,
                       const std::array<Symbol, kMaxSequenceLength>* rarest,
                       const SymbolTable& symbols);

// `moved`: the values whose share moved most; `events`: the window's
// events of known values; `tail`, `stratum`: the learned statistics it was
// ranked among. E.g. feature "request.subject", observed "/admin/export 72%,
// /api/items 5%, / 5% of 29 events of known routes", expected
// "/admin/export 0.2%, /api/items 25%, / 25%; ...".
Reason ExplainMix(int feature, const std::vector<MixShare>& moved, uint32_t events,
                  double statistic, const StratifiedTail& tail, int stratum, double p_value,
                  const SymbolTable& symbols);

// E.g. observed "30 distinct actions among 30 events", expected "1..3
// distinct actions (98% of 7,190 learned windows of 16-31 events)".
Reason ExplainDistinct(int feature, uint32_t distinct, uint32_t events, const StratifiedTail& tail,
                       int stratum, double p_value);

Reason ExplainNewGroup(std::string_view group, size_t known_groups, double p_value);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_ENGINE_EXPLAIN_H_
