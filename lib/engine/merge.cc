// Engine::Merge: combining the baselines of engines that saw different
// replicas or hosts of the same groups.

#include <array>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/engine_impl.h"

namespace timescan::internal {
namespace {

// Adds `theirs` into `ours`. A group first seen in `theirs` arrives as an
// empty state whose flags are the identities of the rules below, so merging
// into it copies. `coarse_from[l]`: the level of `theirs` whose coarse
// windows are as long as our level l's, or -1.
void MergeGroup(GroupState& ours, const GroupState& theirs,
                absl::FunctionRef<Symbol(Symbol)> translate, uint32_t max_values,
                const std::array<int, kCoarseLevels>& coarse_from) {
  // Seen during learning anywhere: not new. Reported anywhere: reported.
  ours.new_after_learning = ours.new_after_learning && theirs.new_after_learning;
  ours.new_group_reported = ours.new_group_reported || theirs.new_group_reported;
  ours.first_window = std::min(ours.first_window, theirs.first_window);
  ours.learned_windows += theirs.learned_windows;
  for (int f = 0; f < kFeatureCount; ++f) {
    ours.tables[f].Merge(theirs.tables[f], translate, max_values);
    ours.startup_tables[f].Merge(theirs.startup_tables[f], translate, max_values);
  }
  ours.counts.Merge(theirs.counts);
  for (int level = 0; level < kCoarseLevels; ++level) {
    if (coarse_from[level] < 0 || !theirs.coarse) continue;
    if (!ours.coarse) ours.coarse = std::make_unique<std::array<CountBaseline, kCoarseLevels>>();
    (*ours.coarse)[level].Merge((*theirs.coarse)[coarse_from[level]]);
  }
  ours.values.Merge(theirs.values);
  ours.distributions.Merge(theirs.distributions);
  ours.sequences.Merge(theirs.sequences, max_values);
  ours.multivariate.Merge(theirs.multivariate);
  ours.mix.Merge(theirs.mix);
}

}  // namespace

absl::Status EngineImpl::Merge(const Engine& other_engine) {
  const auto* other = dynamic_cast<const EngineImpl*>(&other_engine);
  if (other == nullptr) return absl::InvalidArgumentError("merge: not a timescan engine");
  if (other == this) return absl::InvalidArgumentError("merge: an engine cannot merge with itself");
  if (other->window_ns_ != window_ns_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "merge: window widths differ (", window_ns_, " ns here, ", other->window_ns_,
        " ns in the other engine); baselines per window only combine at the same width"));
  }
  if (other->options_.max_values_per_feature != options_.max_values_per_feature) {
    return absl::InvalidArgumentError(absl::StrCat(
        "merge: max_values_per_feature differs (", options_.max_values_per_feature, " here, ",
        other->options_.max_values_per_feature, " in the other engine)"));
  }
  if (other->options_.sequence_length != options_.sequence_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "merge: sequence_length differs (", options_.sequence_length, " here, ",
        other->options_.sequence_length, " in the other engine); n-grams of different lengths "
        "do not combine"));
  }
  // Coarse baselines combine level by level where the spans agree; a level
  // the other engine does not keep (an older snapshot, other options)
  // stays as learned here.
  std::array<int, kCoarseLevels> coarse_from;
  coarse_from.fill(-1);
  for (int level = 0; level < kCoarseLevels; ++level) {
    for (int theirs = 0; coarse_multiple_[level] > 0 && theirs < kCoarseLevels; ++theirs) {
      if (other->coarse_multiple_[theirs] == coarse_multiple_[level]) coarse_from[level] = theirs;
    }
  }
  auto translate = [&](Symbol s) { return symbols_.Intern(other->symbols_.Name(s)); };
  const uint32_t max_values = options_.max_values_per_feature;
  for (size_t i = 0; i < other->groups_.size(); ++i) {
    const GroupState& theirs = *other->groups_[i];
    GroupState* ours = groups_[0].get();
    if (i > 0) {
      const Symbol name = translate(theirs.name);
      const uint64_t key = theirs.is_entity ? (kEntityGroupBit | name) : name;
      auto [it, inserted] = group_index_.try_emplace(key, static_cast<uint32_t>(groups_.size()));
      if (inserted) {
        auto group = std::make_unique<GroupState>();
        group->name = name;
        group->is_entity = theirs.is_entity;
        group->new_after_learning = true;
        group->first_window = std::numeric_limits<int64_t>::max();
        groups_.push_back(std::move(group));
      }
      ours = groups_[it->second].get();
    }
    MergeGroup(*ours, theirs, translate, max_values, coarse_from);
  }
  group_arrivals_.Merge(other->group_arrivals_, translate, std::numeric_limits<uint32_t>::max());
  for (int f = 0; f < kFeatureCount; ++f) {
    pooled_windows_[f] += other->pooled_windows_[f];
    pooled_novel_[f] += other->pooled_novel_[f];
  }
  for (int f = 0; f < kSequenceFeatures; ++f) {
    pooled_sequence_windows_[f] += other->pooled_sequence_windows_[f];
    pooled_sequence_novel_[f] += other->pooled_sequence_novel_[f];
  }
  return absl::OkStatus();
}

}  // namespace timescan::internal
