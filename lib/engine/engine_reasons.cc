// The reasons of a finding: what each test of a closed window observed and
// expected, in the words and numbers a person reads (built from the
// free functions of explain.h and the state the window was scored with).

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "engine/engine_impl.h"
#include "engine/explain.h"

namespace timescan {
namespace internal {

Reason EngineImpl::ExplainTest(const Test& t, const ClosedWindow& closed) const {
  const EntityState& e = closed.entity;
  const GroupState& base = closed.base;
  const int64_t window = closed.window;
  const int64_t start_ns = window * window_ns_;
  switch (t.type) {
    case Test::kFeature:
      return ExplainFeature(t.index, closed.observations[t.index], base.tables[t.index],
                            t.feature_score, symbols_, &base.startup_tables[t.index]);
    case Test::kSpike:
      return ExplainCount(static_cast<Kind>(t.index), t.observed, t.prediction, false,
                          closed.hour, closed.age, start_ns, start_ns + window_ns_, t.p_value);
    case Test::kDrop:
      return ExplainCount(static_cast<Kind>(t.index), t.observed, t.prediction, true,
                          HourOf(window - 1), closed.age - 1, start_ns - window_ns_, start_ns,
                          t.p_value);
    case Test::kCoarseSpike:
    case Test::kCoarseDrop: {
      const int level = t.index / kKindCount;
      const int64_t span_ns = coarse_multiple_[level] * window_ns_;
      return ExplainCoarseCount(static_cast<Kind>(t.index % kKindCount), CoarseLabel(level),
                                t.observed, t.prediction, t.type == Test::kCoarseDrop,
                                CoarseSeasonal(level) ? CoarseHourOf(level, window) : -1,
                                start_ns + window_ns_ - span_ns, start_ns + window_ns_,
                                t.p_value);
    }
    case Test::kValue:
    case Test::kErrors:
      return ExplainValue(static_cast<Kind>(t.index), closed.acc.value_obs[t.index], base.values,
                          t.type == Test::kErrors, t.p_value);
    case Test::kTail:
    case Test::kShift:
      return ExplainDistribution(kDistributionKindOf[static_cast<size_t>(t.index)],
                                 distribution_scores_[static_cast<size_t>(t.index)],
                                 t.type == Test::kTail, t.p_value);
    case Test::kMetric: {
      const MetricSeries& series = e.metrics->series[t.index];
      return ExplainMetric(symbols_.Name(series.subject), metric_scores_[t.index],
                           series.model.state().period);
    }
    case Test::kEvidence: {
      const AccumulatedEvidence& found = evidence_found_[static_cast<size_t>(t.index)];
      const auto [model, feature] = DescribeTest(e, found.track.test);
      return ExplainEvidence(model, feature, found.track, start_ns, window_ns_, evidence_,
                             t.p_value);
    }
    case Test::kSequence: {
      const int f = t.index;
      std::vector<const std::array<Symbol, kMaxSequenceLength>*> new_examples;
      const std::array<Symbol, kMaxSequenceLength>* rarest = nullptr;
      const SequenceObservation& o = sequence_observations_[f];
      static const std::vector<EntitySequences::Example> kNoExamples;
      for (const EntitySequences::Example& x : e.sequences ? e.sequences->examples : kNoExamples) {
        if (x.window != window || SequenceKeyFeature(x.key) != f) continue;
        const uint64_t id = SequenceKeyId(x.key);
        if (base.sequences.tables[f].Count(id) == 0) new_examples.push_back(&x.subjects);
        if (o.distinct_known > 0 && id == o.rarest) rarest = &x.subjects;
      }
      return ExplainSequence(f, static_cast<int>(options_.sequence_length), o,
                             sequence_scores_[f], base.sequences.tables[f], new_examples, rarest,
                             symbols_);
    }
    case Test::kMultivariate: {
      MultivariateScore s = multivariate_score_;
      s.q99 = base.multivariate.DistanceQuantile(0.99);
      return ExplainMultivariate(s, t.p_value);
    }
    case Test::kNewGroup:
      return ExplainNewGroup(symbols_.Name(closed.own.name), groups_.size() - 2, t.p_value);
    case Test::kMix:
    case Test::kDistinct:
      return ExplainMixTest(t, base);
  }
  return Reason{};  // every type is handled above
}

Reason EngineImpl::ExplainMixTest(const Test& t, const GroupState& base) const {
  const int feature = t.index;
  if (t.type == Test::kDistinct) {
    const auto d = static_cast<size_t>(DistinctSlot(feature));
    return ExplainDistinct(feature, mix_stats_.distinct[d], mix_stats_.events[d],
                           base.mix.distinct(static_cast<int>(d)), distinct_scores_[d].stratum,
                           t.p_value);
  }
  const int m = MixSlot(feature);
  // The round's cells, as the window was scored with.
  const MixCells& cells = base.mix.Cells(m, base.tables[feature], next_close_);
  const double n = mix_stats_.mix_events[static_cast<size_t>(m)];
  std::vector<MixShare> shares;
  for (const ScoredValue& v : scored_values_) {
    if (static_cast<int>(v.key >> 32) != feature || v.learned == nullptr) continue;
    const auto value = static_cast<Symbol>(v.key);
    const int64_t in_cell = cells.CellCount(value);
    const double learned = in_cell >= 0 ? static_cast<double>(in_cell) : *v.learned;
    shares.push_back(MixShare{value, v.n / n, learned / cells.known_events});
  }
  const size_t present = shares.size();
  for (const auto& [value, count] : cells.major) {
    bool seen = false;
    for (size_t i = 0; i < present && !seen; ++i) seen = shares[i].value == value;
    if (!seen) shares.push_back(MixShare{value, 0, count / cells.known_events});
  }
  // The values whose share moved most, ties by symbol.
  std::sort(shares.begin(), shares.end(), [](const MixShare& a, const MixShare& b) {
    const double da = std::abs(a.observed - a.expected), db = std::abs(b.observed - b.expected);
    return da != db ? da > db : a.value < b.value;
  });
  if (shares.size() > 3) shares.resize(3);
  return ExplainMix(feature, shares, mix_stats_.mix_events[static_cast<size_t>(m)],
                    mix_stats_.mix_statistic[static_cast<size_t>(m)], base.mix.mix(m),
                    mix_scores_[static_cast<size_t>(m)].stratum, t.p_value, symbols_);
}

std::pair<std::string, std::string> EngineImpl::DescribeTest(const EntityState& e,
                                                             uint16_t key) const {
  const int index = key & 0xff;
  const Kind kind = static_cast<Kind>(index < kKindCount ? index : 0);
  const std::string kind_name(KindName(kind));
  switch (static_cast<Test::Type>(key >> 8)) {
    case Test::kFeature:
      return {"categorical", FeatureName(index)};
    case Test::kSpike:
      return {"count", absl::StrCat("count.", kind_name, " (spikes)")};
    case Test::kDrop:
      return {"count", absl::StrCat("count.", kind_name, " (drops)")};
    case Test::kCoarseSpike:
    case Test::kCoarseDrop:  // not accumulated (see AccumulateEvidence)
      break;
    case Test::kValue:
      return {"value", absl::StrCat(UsesVolume(kind) ? "volume." : "mean.", kind_name)};
    case Test::kErrors:
      return {"value", absl::StrCat("errors.", kind_name)};
    case Test::kTail:
    case Test::kShift: {
      const Kind slot_kind = kDistributionKindOf[static_cast<size_t>(index) % kDistributionKinds];
      return {"distribution",
              absl::StrCat(ToAbsl(KindName(slot_kind)), slot_kind == Kind::kRequest ? " latency" : " bytes",
                           key >> 8 == Test::kTail ? " p99 tail" : " median shift")};
    }
    case Test::kMetric:
      if (e.metrics && static_cast<size_t>(index) < e.metrics->series.size()) {
        return {"metric", std::string(symbols_.Name(e.metrics->series[index].subject))};
      }
      return {"metric", "metric"};
    case Test::kSequence:
      return {"sequence", std::string(SequenceFeatureName(index))};
    case Test::kMultivariate:
      return {"multivariate", "window vector"};
    case Test::kMix:
      return {"mix", FeatureName(index)};
    case Test::kDistinct:
      return {"distinct", FeatureName(index)};
    case Test::kNewGroup:
    case Test::kEvidence:
      break;
  }
  return {"unknown", absl::StrCat("test ", key)};
}

}  // namespace internal
}  // namespace timescan
