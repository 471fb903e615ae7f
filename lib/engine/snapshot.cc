#include "engine/snapshot.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "status_macros.h"
#include "write_all.h"

namespace timescan {
namespace internal {
namespace {

// Whether `index` can be a sketch bucket as the engine writes one: the zero
// bucket, or within +-2^26 (at the engine's accuracy the buckets of finite
// values lie within +-2^16; the pending buffer holds 28 bits).
bool IsBucketIndex(int32_t index) {
  constexpr int32_t kIndexLimit = int32_t{1} << 26;
  return index == QuantileSketch::kZeroIndex || (index > -kIndexLimit && index < kIndexLimit);
}

void PutLittleEndian(uint64_t value, int bytes, char* out) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t GetLittleEndian(std::string_view bytes, size_t offset, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

uint32_t Crc32(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes at most 4 GiB - 1 per call; payloads stay under 2 GiB.
  crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  return static_cast<uint32_t>(crc);
}

// Fills the header of `framed`, which holds kSnapshotHeaderBytes of room
// followed by the payload.
void WriteHeader(uint32_t version, std::string* framed) {
  const std::string_view payload = std::string_view(*framed).substr(kSnapshotHeaderBytes);
  char* header = framed->data();
  kSnapshotMagic.copy(header, kSnapshotMagic.size());
  PutLittleEndian(version, 4, header + 8);
  PutLittleEndian(Crc32(payload), 4, header + 12);
  PutLittleEndian(payload.size(), 8, header + 16);
}

// Errors of a decoded snapshot that breaks a rule: the field's path first.
absl::Status Invalid(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("snapshot: ", ToAbsl(path), ": ", ToAbsl(what)));
}

// An optional Mode field (Engine::SetMode): left at kNoMode when absent.
absl::Status DecodeMode(bool present, uint32_t value, std::string_view path, uint8_t* out) {
  if (!present) return absl::OkStatus();
  if (value > static_cast<uint32_t>(Mode::kFrozen)) {
    return Invalid(path, absl::StrCat(value, " is not a mode (0..2)"));
  }
  *out = static_cast<uint8_t>(value);
  return absl::OkStatus();
}

template <typename Repeated>
absl::Status ExpectSize(const Repeated& field, size_t expected, std::string_view path) {
  if (static_cast<size_t>(field.size()) == expected) return absl::OkStatus();
  return Invalid(path, absl::StrCat("has ", field.size(), " entries; expected ", expected));
}

bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

}  // namespace

std::string FrameSnapshot(std::string_view payload, uint32_t version) {
  std::string out(kSnapshotHeaderBytes, '\0');
  out.append(payload);
  WriteHeader(version, &out);
  return out;
}

absl::StatusOr<std::string_view> UnframeSnapshot(std::string_view bytes) {
  if (bytes.size() < kSnapshotMagic.size() || bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return absl::InvalidArgumentError(
        "not a timescan snapshot: the file does not start with the snapshot magic bytes");
  }
  if (bytes.size() < kSnapshotHeaderBytes) {
    return absl::DataLossError(absl::StrCat("snapshot truncated: ", bytes.size(),
                                            " bytes, shorter than its ", kSnapshotHeaderBytes,
                                            "-byte header"));
  }
  const auto version = static_cast<uint32_t>(GetLittleEndian(bytes, 8, 4));
  const auto crc = static_cast<uint32_t>(GetLittleEndian(bytes, 12, 4));
  const uint64_t length = GetLittleEndian(bytes, 16, 8);
  if (version == 0 || version > kSnapshotFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot format version ", version, " is not supported; this timescan reads 1..",
                     kSnapshotFormatVersion, " (a newer timescan wrote it?)"));
  }
  const uint64_t available = bytes.size() - kSnapshotHeaderBytes;
  if (length != available) {
    return absl::DataLossError(absl::StrCat(
        "snapshot ", length > available ? "truncated" : "has trailing bytes", ": the header says ",
        length, " payload bytes, ", available, " follow it"));
  }
  if (length > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    return absl::DataLossError(absl::StrCat("snapshot payload of ", length,
                                            " bytes exceeds the 2 GiB a protobuf message holds"));
  }
  const std::string_view payload = bytes.substr(kSnapshotHeaderBytes);
  if (const uint32_t actual = Crc32(payload); actual != crc) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt: payload checksum is ", actual,
                                            ", the header says ", crc));
  }
  return payload;
}

// --- encoding ---------------------------------------------------------------

void SnapshotCodec::EncodeTable(const CategoricalTable& table, v1::CategoricalTable* out) {
  std::vector<std::pair<Symbol, uint32_t>> sorted;
  sorted.reserve(table.counts_.size());
  table.counts_.ForEach([&](Symbol value, uint32_t count) { sorted.emplace_back(value, count); });
  std::sort(sorted.begin(), sorted.end());
  out->mutable_values()->Reserve(static_cast<int>(sorted.size()));
  out->mutable_counts()->Reserve(static_cast<int>(sorted.size()));
  for (const auto& [value, count] : sorted) {
    out->add_values(value);
    out->add_counts(count);
  }
  out->set_total(table.total_);
  out->set_windows(table.windows_);
  out->set_novel_windows(table.novel_windows_);
  out->set_overflow(table.overflow_);
}

void SnapshotCodec::EncodeMultivariate(const MultivariateBaseline& m,
                                       v1::MultivariateBaseline* out) {
  for (uint8_t d : m.dims_) out->add_dims(d);
  out->set_weight(m.weight_);
  for (double v : m.sum_) out->add_sums(v);
  for (double v : m.cross_) out->add_cross(v);
  out->set_windows(m.windows_);
  for (float v : m.warmup_) out->add_warmup(v);
  if (m.has_estimate()) {
    v1::MultivariateEstimate* e = out->mutable_estimate();
    for (uint8_t d : m.est_dims_) e->add_dims(d);
    for (double v : m.mean_) e->add_mean(v);
    for (double v : m.precision_) e->add_precision(v);
    for (double v : m.sd_) e->add_sd(v);
    e->set_estimated_at(m.estimated_at_);
    e->set_cutoff(m.cutoff_);
  }
  for (uint32_t c : m.distance_bins_) out->add_distance_bins(c);
  out->set_max_distance2(m.max_distance2_);
}

absl::Status SnapshotCodec::DecodeMultivariate(const v1::MultivariateBaseline& in,
                                               const std::string& path, MultivariateBaseline* out) {
  // Dimensions: MultivariateDim ids, ascending.
  auto dims_of = [](const auto& field, const std::string& where, uint32_t* mask,
                    std::vector<uint8_t>* dims) -> absl::Status {
    *mask = 0;
    for (int i = 0; i < field.size(); ++i) {
      const uint32_t d = field.Get(i);
      if (d >= static_cast<uint32_t>(kMultivariateDims) || (i > 0 && d <= field.Get(i - 1))) {
        return Invalid(absl::StrCat(where, "[", i, "]"),
                       absl::StrCat("dimension ", d, "; expected ascending ids below ",
                                    kMultivariateDims));
      }
      *mask |= uint32_t{1} << d;
      dims->push_back(static_cast<uint8_t>(d));
    }
    return absl::OkStatus();
  };
  auto finite = [](const auto& field, const std::string& where) -> absl::Status {
    for (int i = 0; i < field.size(); ++i) {
      if (!std::isfinite(field.Get(i))) {
        return Invalid(absl::StrCat(where, "[", i, "]"), "expected a finite number");
      }
    }
    return absl::OkStatus();
  };
  MultivariateBaseline m;
  RETURN_IF_ERROR(dims_of(in.dims(), path + ".dims", &m.active_mask_, &m.dims_));
  const size_t p = m.dims_.size();
  RETURN_IF_ERROR(ExpectSize(in.sums(), p, path + ".sums"));
  RETURN_IF_ERROR(ExpectSize(in.cross(), p * (p + 1) / 2, path + ".cross"));
  RETURN_IF_ERROR(finite(in.sums(), path + ".sums"));
  RETURN_IF_ERROR(finite(in.cross(), path + ".cross"));
  RETURN_IF_ERROR(finite(in.warmup(), path + ".warmup"));
  // Learning gives weight 1 to most warm-up windows: sums rest on at least 1.
  if (!FiniteNonNegative(in.weight()) || (p > 0 && in.weight() < 1)) {
    return Invalid(path + ".weight", "expected a finite weight, at least 1 once there are sums");
  }
  const auto warmup = static_cast<size_t>(in.warmup_size());
  if (warmup % kMultivariateDims != 0 ||
      warmup / kMultivariateDims >= MultivariateBaseline::kWarmupWindows ||
      warmup / kMultivariateDims > in.windows() || (warmup > 0 && in.has_estimate())) {
    return Invalid(path + ".warmup",
                   absl::StrCat(warmup, " values; expected ", kMultivariateDims,
                                " per window, fewer than ", MultivariateBaseline::kWarmupWindows,
                                " windows, at most the windows learned, and none once estimated"));
  }
  m.weight_ = in.weight();
  m.sum_.assign(in.sums().begin(), in.sums().end());
  m.cross_.assign(in.cross().begin(), in.cross().end());
  m.windows_ = in.windows();
  m.warmup_.assign(in.warmup().begin(), in.warmup().end());
  if (in.has_estimate()) {
    const v1::MultivariateEstimate& e = in.estimate();
    const std::string where = path + ".estimate";
    uint32_t mask = 0;
    RETURN_IF_ERROR(dims_of(e.dims(), where + ".dims", &mask, &m.est_dims_));
    const size_t q = m.est_dims_.size();
    if (q == 0 || (mask & ~m.active_mask_) != 0) {
      return Invalid(where + ".dims", "expected some of the active dimensions");
    }
    RETURN_IF_ERROR(ExpectSize(e.mean(), q, where + ".mean"));
    RETURN_IF_ERROR(ExpectSize(e.precision(), q * q, where + ".precision"));
    RETURN_IF_ERROR(ExpectSize(e.sd(), q, where + ".sd"));
    RETURN_IF_ERROR(finite(e.mean(), where + ".mean"));
    RETURN_IF_ERROR(finite(e.precision(), where + ".precision"));
    for (size_t i = 0; i < q; ++i) {
      if (!(e.precision(static_cast<int>(i * q + i)) > 0) || !(e.sd(static_cast<int>(i)) > 0) ||
          !std::isfinite(e.sd(static_cast<int>(i)))) {
        return Invalid(absl::StrCat(where, ".precision[", i * q + i, "]"),
                       "expected positive precisions and deviations on the diagonal");
      }
    }
    if (e.estimated_at() > in.windows()) {
      return Invalid(where + ".estimated_at", "exceeds the windows learned");
    }
    m.mean_.assign(e.mean().begin(), e.mean().end());
    m.precision_.assign(e.precision().begin(), e.precision().end());
    m.sd_.assign(e.sd().begin(), e.sd().end());
    if (!(std::isfinite(e.cutoff()) && e.cutoff() > 0)) {
      return Invalid(where + ".cutoff", "expected a finite squared distance > 0");
    }
    m.estimated_at_ = e.estimated_at();
    m.cutoff_ = e.cutoff();
  }
  if (in.distance_bins_size() != 0) {
    RETURN_IF_ERROR(ExpectSize(in.distance_bins(), MultivariateBaseline::kBins, path + ".distance_bins"));
    if (!in.has_estimate()) return Invalid(path + ".distance_bins", "expected none before an estimate");
  }
  uint64_t total = 0;
  for (uint32_t c : in.distance_bins()) total += c;
  if (total > in.windows()) {
    return Invalid(path + ".distance_bins", "hold more distances than windows learned");
  }
  if (!FiniteNonNegative(in.max_distance2())) {
    return Invalid(path + ".max_distance2", "expected a finite distance >= 0");
  }
  m.distance_bins_.assign(in.distance_bins().begin(), in.distance_bins().end());
  m.distance_total_ = total;
  m.max_distance2_ = in.max_distance2();
  *out = std::move(m);
  return absl::OkStatus();
}

void SnapshotCodec::EncodeCounts(const CountBaseline& counts, v1::CountBaseline* out) {
  auto moments = [](const Moments& m, v1::Moments* o) {
    o->set_n(m.n);
    o->set_mean(m.mean);
    o->set_m2(m.m2);
  };
  for (int k = 0; k < kKindCount; ++k) {
    moments(counts.all_[k], out->add_all_hours());
    for (const Moments& m : counts.hourly_[k]) moments(m, out->add_hourly());
    for (const Moments& m : counts.startup_[k]) moments(m, out->add_startup());
  }
}

absl::Status SnapshotCodec::DecodeCounts(const v1::CountBaseline& counts, bool decaying,
                                         const std::string& path, CountBaseline* out) {
  RETURN_IF_ERROR(ExpectSize(counts.all_hours(), kKindCount, absl::StrCat(path, ".all_hours")));
  RETURN_IF_ERROR(ExpectSize(counts.hourly(), kKindCount * CountBaseline::kHours,
                             absl::StrCat(path, ".hourly")));
  RETURN_IF_ERROR(ExpectSize(counts.startup(), kKindCount * CountBaseline::kStartupWindows,
                             absl::StrCat(path, ".startup")));
  auto moments = [&](const v1::Moments& m, std::string_view where, Moments* o) -> absl::Status {
    // Decayed baselines (baseline_half_life) weigh windows fractionally.
    const bool whole = decaying || m.n() == std::floor(m.n());
    if (!FiniteNonNegative(m.n()) || !whole || !FiniteNonNegative(m.mean()) ||
        !FiniteNonNegative(m.m2())) {
      return Invalid(absl::StrCat(path, ".", ToAbsl(where)),
                     absl::StrCat("moments (n ", m.n(), ", mean ", m.mean(), ", m2 ", m.m2(), ") are not a ",
                                  decaying ? "" : "whole ", "n >= 0 with a finite mean and m2 >= 0"));
    }
    *o = Moments{m.n(), m.mean(), m.m2()};
    return absl::OkStatus();
  };
  for (int k = 0; k < kKindCount; ++k) {
    RETURN_IF_ERROR(moments(counts.all_hours(k), absl::StrCat("all_hours[", k, "]"),
                            &out->all_[k]));
    for (int h = 0; h < CountBaseline::kHours; ++h) {
      const int i = k * CountBaseline::kHours + h;
      RETURN_IF_ERROR(moments(counts.hourly(i), absl::StrCat("hourly[", i, "]"),
                              &out->hourly_[k][h]));
    }
    for (int a = 0; a < CountBaseline::kStartupWindows; ++a) {
      const int i = k * CountBaseline::kStartupWindows + a;
      RETURN_IF_ERROR(moments(counts.startup(i), absl::StrCat("startup[", i, "]"),
                              &out->startup_[k][a]));
    }
  }
  return absl::OkStatus();
}

void SnapshotCodec::EncodeGroup(const GroupState& group, v1::Group* out) {
  out->set_name(group.name);
  out->set_is_entity(group.is_entity);
  out->set_new_after_learning(group.new_after_learning);
  out->set_new_group_reported(group.new_group_reported);
  if (group.mode != kNoMode) out->set_mode(group.mode);
  out->set_decayed_at(group.decayed_at);
  out->set_first_window(group.first_window);
  out->set_learned_windows(group.learned_windows);
  for (const CategoricalTable& table : group.tables) EncodeTable(table, out->add_tables());
  // Written only once something was learned at start-up: groups of an
  // engine without the lifecycle phase stay as small as before.
  bool any_startup = false;
  for (const CategoricalTable& table : group.startup_tables) {
    any_startup |= table.total() > 0 || table.windows() > 0;
  }
  if (any_startup) {
    for (const CategoricalTable& table : group.startup_tables) {
      EncodeTable(table, out->add_startup_tables());
    }
  }
  EncodeCounts(group.counts, out->mutable_counts());
  // Written only once a level learned something: groups of an engine with
  // the option off stay as small as before.
  bool any_coarse = false;
  if (group.coarse) {
    for (const CountBaseline& coarse : *group.coarse) any_coarse |= coarse.windows() > 0;
  }
  for (int level = 0; any_coarse && level < kCoarseLevels; ++level) {
    EncodeCounts((*group.coarse)[level], out->add_coarse());
  }
  for (const HeldCoarse& c : group.held_coarse) {
    v1::HeldCoarseWindow* w = out->add_held_coarse();
    w->set_entity(c.entity);
    w->set_window(c.window);
    w->set_levels(c.levels);
    for (const auto& level : c.counts) {
      for (uint32_t count : level) w->add_counts(count);
    }
  }
  v1::ValueBaseline* values = out->mutable_values();
  for (int k = 0; k < kKindCount; ++k) {
    v1::LogHistogram* h = values->add_histograms();
    for (uint32_t bin : group.values.histograms_[k].bins_) h->add_bins(bin);
    h->set_total(group.values.histograms_[k].total_);
    values->add_statuses(group.values.statuses_[k]);
    values->add_errors(group.values.errors_[k]);
  }
  EncodeConsensus(group.consensus, out->mutable_consensus());
  if (group.multivariate.windows() > 0) {
    EncodeMultivariate(group.multivariate, out->mutable_multivariate());
  }
  // The mix model's learned statistics; absent while it has learned none.
  bool any_mix = false;
  for (int m = 0; m < kMixFeatureCount; ++m) any_mix |= !group.mix.mix(m).cells().empty();
  for (int d = 0; d < kDistinctFeatureCount; ++d) any_mix |= !group.mix.distinct(d).cells().empty();
  if (any_mix) {
    v1::MixBaseline* mix = out->mutable_mix();
    auto encode = [](const StratifiedTail& tail, v1::MixRanks* ranks) {
      for (const StratifiedTail::Cell& c : tail.cells()) {
        ranks->add_keys(c.key);
        ranks->add_counts(c.count);
      }
    };
    for (int m = 0; m < kMixFeatureCount; ++m) encode(group.mix.mix(m), mix->add_mix());
    for (int d = 0; d < kDistinctFeatureCount; ++d) encode(group.mix.distinct(d), mix->add_distinct());
  }
  v1::DistributionBaseline* distributions = out->mutable_distributions();
  for (int slot = 0; slot < kDistributionKinds; ++slot) {
    const QuantileSketch& sketch = group.distributions.sketch(slot);
    v1::QuantileSketch* s = distributions->add_sketches();
    s->set_relative_accuracy(sketch.relative_accuracy());
    s->set_max_buckets(sketch.max_buckets());
    s->set_zero_count(sketch.zero_count());
    s->set_first_index(sketch.first_index());
    for (uint64_t c : sketch.counts()) s->add_counts(c);
  }
  v1::SequenceBaseline* sequences = out->mutable_sequences();
  for (const SequenceTable& table : group.sequences.tables) {
    v1::SequenceTable* t = sequences->add_tables();
    for (const auto& [id, count] : table.Sorted()) {
      t->add_ids(id);
      t->add_counts(count);
    }
    t->set_total(table.total());
    t->set_windows(table.windows());
    t->set_novel_windows(table.novel_windows());
    t->set_overflow(table.overflow());
  }
}

namespace {

// The parts an open window (WindowAccumulator) and a held one (HeldWindow)
// share; their values come separately, each in its own order.
template <typename Content>
void EncodeContent(const Content& w, v1::Window* out) {
  for (int k = 0; k < kKindCount; ++k) {
    out->add_counts(w.counts[k]);
    v1::ValueObservation* v = out->add_value_obs();
    v->set_sum(w.value_obs[k].sum);
    v->set_values(w.value_obs[k].values);
    v->set_statuses(w.value_obs[k].statuses);
    v->set_errors(w.value_obs[k].errors);
  }
  for (int f = 0; f < kFeatureCount; ++f) {
    out->add_untracked_events(w.untracked_events[f]);
    out->add_untracked_new(w.untracked_new[f]);
  }
  bool any_sample = false;
  for (const WindowSample& s : w.samples) any_sample |= s.seen() > 0;
  for (size_t slot = 0; any_sample && slot < w.samples.size(); ++slot) {
    const WindowSample& s = w.samples[slot];
    v1::WindowSample* sample = out->add_samples();
    for (int32_t index : s.indices()) sample->add_indices(index);
    sample->set_seen(s.seen());
    sample->set_stride(s.stride());
  }
}

// Adds a window's n-gram keys and counts (the sequence keys among `values`,
// in their order) and its untracked n-grams to out.sequences, if any.
template <typename ForEachValue>
void EncodeSequenceWindow(ForEachValue for_each_value, const SequenceUntracked* untracked,
                          v1::Window* out) {
  for_each_value([&](uint64_t key, uint32_t n) {
    if (!IsSequenceKey(key)) return;
    v1::SequenceWindow* w = out->mutable_sequences();
    w->add_keys(key & ~kSequenceKeyBit);  // boot << 49 | feature << 48 | id
    w->add_counts(n);
  });
  if (untracked != nullptr) {
    v1::SequenceWindow* w = out->mutable_sequences();
    for (int f = 0; f < kSequenceFeatures; ++f) {
      w->add_untracked(untracked->grams[f]);
      w->add_untracked_new(untracked->fresh[f]);
    }
  }
}

// Decodes out.sequences' keys and untracked n-grams: `add(key, n)` stores
// an n-gram's SequenceKey and returns false for a repeated key.
template <typename AddKey>
absl::Status DecodeSequenceWindow(const v1::SequenceWindow& in, uint32_t max_keys,
                                  const std::string& path, SequenceUntracked* untracked,
                                  AddKey add) {
  if (in.keys_size() != in.counts_size() || static_cast<size_t>(in.keys_size()) > max_keys) {
    return Invalid(absl::StrCat(path, ".keys"),
                   absl::StrCat(in.keys_size(), " keys and ", in.counts_size(),
                                " counts; expected as many of each, at most ", max_keys));
  }
  for (int i = 0; i < in.keys_size(); ++i) {
    const uint64_t key = in.keys(i);
    const uint64_t feature = (key >> kNGramIdBits) & 1;
    const bool boot = ((key >> (kNGramIdBits + 1)) & 1) != 0;
    const uint64_t id = key & kNGramIdMask;
    if ((key >> (kNGramIdBits + 2)) != 0 || id == 0 || in.counts(i) == 0) {
      return Invalid(absl::StrCat(path, ".keys[", i, "]"),
                     absl::StrCat("key ", key, " is not a start flag, a sequence feature (0..1) "
                                  "and an n-gram id, or its count is 0"));
    }
    if (!add(SequenceKey(static_cast<int>(feature), id, boot), in.counts(i))) {
      return Invalid(absl::StrCat(path, ".keys[", i, "]"), "repeats an earlier key");
    }
  }
  if (in.untracked_size() == 0 && in.untracked_new_size() == 0) return absl::OkStatus();
  RETURN_IF_ERROR(ExpectSize(in.untracked(), kSequenceFeatures, absl::StrCat(path, ".untracked")));
  RETURN_IF_ERROR(
      ExpectSize(in.untracked_new(), kSequenceFeatures, absl::StrCat(path, ".untracked_new")));
  for (int f = 0; f < kSequenceFeatures; ++f) {
    if (in.untracked_new(f) > in.untracked(f)) {
      return Invalid(absl::StrCat(path, ".untracked_new[", f, "]"),
                     "exceeds the untracked n-grams of its feature");
    }
    untracked->grams[f] = in.untracked(f);
    untracked->fresh[f] = in.untracked_new(f);
  }
  return absl::OkStatus();
}

}  // namespace

void SnapshotCodec::EncodeWindow(const WindowAccumulator& acc, v1::Window* out) {
  out->set_index(acc.window);
  out->set_events(acc.events);
  EncodeContent(acc, out);
  acc.values.ForEach([&](uint64_t key, uint32_t n) {
    if (IsSequenceKey(key)) return;  // in out.sequences
    out->add_value_keys(key);
    out->add_value_counts(n);
  });
  bool any_value = false;
  for (const PendingValues& p : acc.pending) {
    out->add_pending_subjects(p.subject);
    out->add_pending_actors(p.actor);
    out->add_pending_kinds(p.kind());
    any_value |= p.value_index() != kNoValueIndex;
  }
  for (const PendingValues& p : acc.pending) {
    if (any_value) out->add_pending_value_indices(p.value_index());
  }
}

void SnapshotCodec::EncodeMetrics(const EntityMetrics& metrics, v1::EntityMetrics* out) {
  out->set_dropped(metrics.dropped);
  auto histogram = [](const TailHistogram& h, v1::TailHistogram* o) {
    for (float bin : h.bins) o->add_bins(bin);
    o->set_total(h.total);
    o->set_weight(h.weight);
    o->set_max(h.max);
  };
  for (const MetricSeries& series : metrics.series) {
    v1::MetricSeries* s = out->add_series();
    s->set_subject(series.subject);
    std::vector<const MetricSeries::OpenWindow*> open;
    for (const MetricSeries::OpenWindow& w : series.ring) {
      if (w.window >= 0) open.push_back(&w);
    }
    std::sort(open.begin(), open.end(),
              [](const auto* a, const auto* b) { return a->window < b->window; });
    for (const MetricSeries::OpenWindow* w : open) {
      v1::MetricWindow* m = s->add_windows();
      m->set_index(w->window);
      m->set_samples(w->observation.samples);
      m->set_sum(w->observation.sum);
      m->set_min(w->observation.min);
      m->set_max(w->observation.max);
    }
    const MetricModelState& st = series.model.state();
    v1::MetricModelState* m = s->mutable_model();
    for (float v : st.warmup) m->add_warmup(v);
    m->set_first_window(st.first_window);
    m->set_ready(st.ready);
    m->set_period(st.period);
    m->set_windows_per_bin(st.windows_per_bin);
    for (float v : st.season) m->add_season(v);
    m->set_level(st.level);
    m->set_scale(st.scale);
    m->set_magnitude(st.magnitude);
    m->set_level_up(st.level_up);
    m->set_level_down(st.level_down);
    m->set_burst(st.burst);
    m->set_min_seen(st.min_seen);
    m->set_max_seen(st.max_seen);
    m->set_windows(st.windows);
    histogram(st.spike_hist, m->mutable_spike_hist());
    histogram(st.level_hist, m->mutable_level_hist());
    histogram(st.burst_hist, m->mutable_burst_hist());
    m->set_long_scale(st.long_scale);
    histogram(st.variance_hist, m->mutable_variance_hist());
    m->set_long_level(st.long_level);
    m->set_long_level_windows(st.long_level_windows);
    histogram(st.shift_hist, m->mutable_shift_hist());
    m->set_medium_level(st.medium_level);
    histogram(st.medium_shift_hist, m->mutable_medium_shift_hist());
    m->set_stuck_learned(st.stuck_learned);
    m->set_stuck_value(st.stuck_value);
    m->set_stuck_windows(st.stuck_windows);
    m->set_stuck_record(st.stuck_record);
    for (float v : st.season_scale) m->add_season_scale(v);
    m->set_whole_numbers(st.whole_numbers);
  }
}

void SnapshotCodec::EncodeConsensus(const GroupConsensus& c, v1::GroupConsensus* out) {
  for (const GroupConsensus::Sighting& s : c.sightings_) {
    out->add_sighting_keys(s.key);
    out->add_sighting_entities(s.entity);
    out->add_sighting_windows(s.window);
  }
  for (const auto& [window, entities] : c.active_) {
    out->add_active_windows(window);
    out->add_active_entities(entities);
  }
  for (const auto& [key, window] : c.reported_) {
    out->add_reported_keys(key);
    out->add_reported_windows(window);
  }
}

void SnapshotCodec::EncodeHeld(const HeldFinding& h, v1::HeldFinding* out) {
  v1::Finding* f = out->mutable_finding();
  f->set_entity(h.finding.entity);
  f->set_group(h.finding.group);
  f->set_window_start_ns(h.finding.window_start_ns);
  f->set_window_end_ns(h.finding.window_end_ns);
  f->set_score(h.finding.score);
  out->set_finding_p_value(h.finding.p_value);
  f->set_severity(std::string(SeverityName(h.finding.severity)));
  for (const Reason& r : h.finding.reasons) {
    v1::Reason* reason = f->add_reasons();
    reason->set_model(r.model);
    reason->set_feature(r.feature);
    reason->set_observed(r.observed);
    reason->set_expected(r.expected);
    reason->set_p_value(r.p_value);
  }
  out->set_group(h.group);
  out->set_entity(h.entity);
  out->set_window(h.window);
  for (const HeldFinding::HeldTest& t : h.tests) {
    out->add_test_p_values(t.p_value);
    out->add_test_first_keys(t.first);
    out->add_test_key_counts(t.count);
    out->add_test_reasons(t.reason);
  }
  for (uint64_t key : h.keys) out->add_keys(key);
  v1::Window* learn = out->mutable_learn();
  EncodeContent(h.learn, learn);
  for (const auto& [key, n] : h.learn.values) {
    if (IsSequenceKey(key)) continue;  // in learn.sequences
    learn->add_value_keys(key);
    learn->add_value_counts(n);
  }
  const SequenceUntracked& u = h.learn.sequence_untracked;
  const bool any_untracked = u.grams[0] + u.grams[1] > 0;
  EncodeSequenceWindow(
      [&](auto fn) {
        for (const auto& [key, n] : h.learn.values) fn(key, n);
      },
      any_untracked ? &u : nullptr, learn);
  out->set_learn_hour(h.learn.hour);
  out->set_learn_age(h.learn.age);
}

void SnapshotCodec::Encode(const EngineImpl& engine, v1::Snapshot* out) {
  out->set_format_version(kSnapshotFormatVersion);
  const EngineOptions& o = engine.options_;
  v1::EngineOptions* options = out->mutable_options();
  options->set_window_ns(absl::ToInt64Nanoseconds(o.window));
  options->set_learning_period_ns(absl::ToInt64Nanoseconds(o.learning_period));
  options->set_allowed_lateness_ns(absl::ToInt64Nanoseconds(o.allowed_lateness));
  options->set_idle_ttl_ns(absl::ToInt64Nanoseconds(o.idle_ttl));
  options->set_false_findings_per_entity_day(o.false_findings_per_entity_day);
  if (o.threshold.has_value()) options->set_threshold(*o.threshold);
  options->set_categorical_model(o.categorical_model);
  options->set_count_model(o.count_model);
  options->set_value_model(o.value_model);
  options->set_hour_of_day_seasonality(o.hour_of_day_seasonality);
  options->set_report_new_groups(o.report_new_groups);
  options->set_learn_after_learning_period(o.learn_after_learning_period);
  options->set_max_values_per_feature(o.max_values_per_feature);
  options->set_max_values_per_window(o.max_values_per_window);
  options->set_group_consensus(o.group_consensus);
  options->set_consensus_quorum(o.consensus_quorum);
  options->set_consensus_wait_windows(o.consensus_wait_windows);
  options->set_consensus_span_windows(o.consensus_span_windows);
  options->set_metric_model(o.metric_model);
  options->set_metric_season_ns(absl::ToInt64Nanoseconds(o.metric_season));
  options->set_value_distribution(o.value_distribution);
  options->set_accumulate_evidence(o.accumulate_evidence);
  options->set_evidence_drift_p(o.evidence_drift_p);
  options->set_baseline_half_life_ns(absl::ToInt64Nanoseconds(o.baseline_half_life));
  options->set_sequence_model(o.sequence_model);
  options->set_sequence_length(o.sequence_length);
  options->set_multivariate_model(o.multivariate_model);
  options->set_mix_model(o.mix_model);
  options->set_lifecycle_phase(o.lifecycle_phase);
  // Both off: not written, as in snapshots from before the option.
  if (o.coarse_windows[0] != 0 || o.coarse_windows[1] != 0) {
    for (uint32_t multiple : o.coarse_windows) options->add_coarse_windows(multiple);
  }

  const SymbolTable& symbols = engine.symbols_;
  out->mutable_symbols()->Reserve(static_cast<int>(symbols.size()));
  for (Symbol s = 1; s < symbols.size(); ++s) out->add_symbols(std::string(symbols.Name(s)));

  v1::Clock* clock = out->mutable_clock();
  clock->set_started(engine.started_);
  clock->set_first_time_ns(engine.first_time_ns_);
  clock->set_learning_ends_ns(engine.learning_ends_ns_);
  clock->set_max_time_ns(engine.max_time_ns_);
  clock->set_next_close(engine.next_close_);
  clock->set_next_sequence(engine.next_sequence_);
  if (engine.engine_mode_ != kNoMode) out->set_engine_mode(engine.engine_mode_);

  const EngineStats& s = engine.stats_;
  v1::Counters* counters = out->mutable_counters();
  counters->set_events(s.events);
  counters->set_late_events(s.late_events);
  counters->set_invalid_events(s.invalid_events);
  counters->set_bad_lines(s.bad_lines);
  counters->set_entities_seen(s.entities_seen);
  counters->set_entities_retired(s.entities_retired);
  counters->set_windows_scored(s.windows_scored);
  counters->set_findings(s.findings);
  counters->set_group_findings(s.group_findings);
  counters->set_consensus_replaced(s.consensus_replaced);

  for (const auto& group : engine.groups_) EncodeGroup(*group, out->add_groups());
  EncodeTable(engine.group_arrivals_, out->mutable_group_arrivals());
  for (int f = 0; f < kFeatureCount; ++f) {
    out->add_pooled_windows(engine.pooled_windows_[f]);
    out->add_pooled_novel_windows(engine.pooled_novel_[f]);
  }

  for (uint32_t slot : engine.live_) {
    const EntityState& e = engine.entities_[slot];
    v1::Entity* entity = out->add_entities();
    entity->set_name(e.name);
    entity->set_group(e.group);
    entity->set_first_window(e.first_window);
    entity->set_last_event_window(e.last_event_window);
    entity->set_sequence(e.sequence);
    entity->set_pending_empty(e.pending_empty);
    if (e.mode != kNoMode) entity->set_mode(e.mode);
    entity->set_previous_window(e.previous_window);
    for (uint32_t count : e.previous_counts) entity->add_previous_counts(count);
    bool any_coarse = false;
    for (const CoarseAccumulator& c : e.coarse) any_coarse |= c.index >= 0;
    for (const CoarseAccumulator& c : e.coarse) {
      if (!any_coarse) break;
      v1::CoarseWindow* w = entity->add_coarse();
      w->set_index(c.index);
      w->set_full(c.full);
      w->set_quarantined(c.quarantined);
      for (uint32_t count : c.counts) w->add_counts(count);
    }
    // Oldest window first: the order does not matter to the ring, but a
    // fixed order keeps snapshots of the same state byte-identical.
    std::vector<const WindowAccumulator*> open;
    for (const WindowAccumulator& acc : e.ring) {
      if (acc.window >= 0) open.push_back(&acc);
    }
    std::sort(open.begin(), open.end(),
              [](const auto* a, const auto* b) { return a->window < b->window; });
    for (const WindowAccumulator* acc : open) {
      v1::Window* w = entity->add_windows();
      EncodeWindow(*acc, w);
      const EntitySequences* seq = e.sequences.get();
      EncodeSequenceWindow([&](auto fn) { acc->values.ForEach(fn); },
                           seq != nullptr ? seq->UntrackedOf(acc->window) : nullptr, w);
      for (size_t i = 0; seq != nullptr && i < seq->examples.size(); ++i) {
        const EntitySequences::Example& x = seq->examples[i];
        if (x.window != acc->window) continue;
        v1::SequenceExample* example = w->mutable_sequences()->add_examples();
        example->set_key(x.key & ~kSequenceKeyBit);
        for (uint32_t j = 0; j < o.sequence_length; ++j) example->add_subjects(x.subjects[j]);
      }
    }
    if (e.metrics) EncodeMetrics(*e.metrics, entity->mutable_metrics());
    for (const EvidenceTrack& track : e.evidence) {
      v1::EvidenceTrack* t = entity->add_evidence();
      t->set_test(track.test);
      t->set_windows(track.windows);
      t->set_level(track.level);
      t->set_reported(track.reported);
    }
    if (o.sequence_model) {
      v1::SequenceEntity* seq = entity->mutable_sequences();
      for (uint32_t j = 0; j + 1 < o.sequence_length; ++j) seq->add_exec_history(e.exec_history[j]);
      if (e.sequences) {
        seq->set_clock(e.sequences->clock);
        seq->set_evicted(e.sequences->evicted);
        for (const EntitySequences::Process& p : e.sequences->processes) {
          v1::SequenceProcess* process = seq->add_processes();
          process->set_actor(p.actor);
          process->set_last_use(p.last_use);
          for (uint32_t j = 0; j + 1 < o.sequence_length; ++j) process->add_history(p.history[j]);
        }
      }
    }
  }
  for (const HeldFinding& held : engine.held_) EncodeHeld(held, out->add_held_findings());
}

// --- decoding ---------------------------------------------------------------

absl::Status SnapshotCodec::DecodeTable(const v1::CategoricalTable& in, size_t symbol_count,
                                        uint32_t max_values, const std::string& path,
                                        CategoricalTable* out) {
  if (in.values_size() != in.counts_size()) {
    return Invalid(path, absl::StrCat("has ", in.values_size(), " values but ", in.counts_size(),
                                      " counts"));
  }
  if (static_cast<size_t>(in.values_size()) > max_values) {
    return Invalid(path, absl::StrCat("holds ", in.values_size(),
                                      " values; the options allow at most ", max_values));
  }
  uint64_t sum = 0;
  out->counts_.reserve(in.values_size());
  for (int i = 0; i < in.values_size(); ++i) {
    const Symbol value = in.values(i);
    const uint32_t count = in.counts(i);
    if (value == kNoSymbol || value >= symbol_count) {
      return Invalid(absl::StrCat(path, ".values[", i, "]"),
                     absl::StrCat("symbol ", value, " is not in the symbol table (1..",
                                  symbol_count - 1, ")"));
    }
    if (i > 0 && value <= in.values(i - 1)) {
      return Invalid(absl::StrCat(path, ".values[", i, "]"),
                     "values must be strictly ascending");
    }
    if (count == 0) {
      return Invalid(absl::StrCat(path, ".counts[", i, "]"), "is 0; expected at least 1");
    }
    bool inserted;
    out->counts_.FindOrInsert(value, &inserted) = count;
    if (count <= kRareCountLimit) ++out->count_of_counts_[count];
    sum += count;
  }
  if (sum + in.overflow() < sum || sum + in.overflow() > in.total()) {
    return Invalid(path, absl::StrCat("total ", in.total(), " is below its counts (", sum,
                                      ") plus overflow (", in.overflow(), ")"));
  }
  if (in.novel_windows() > in.windows()) {
    return Invalid(path, absl::StrCat("novel_windows ", in.novel_windows(), " exceed windows ",
                                      in.windows()));
  }
  out->total_ = in.total();
  out->windows_ = in.windows();
  out->novel_windows_ = in.novel_windows();
  out->overflow_ = in.overflow();
  return absl::OkStatus();
}

absl::Status SnapshotCodec::DecodeGroup(const v1::Group& in, size_t symbol_count,
                                        uint32_t max_values, bool decaying,
                                        const std::string& path, GroupState* out) {
  if (in.name() == kNoSymbol || in.name() >= symbol_count) {
    return Invalid(absl::StrCat(path, ".name"),
                   absl::StrCat("symbol ", in.name(), " is not in the symbol table"));
  }
  out->name = in.name();
  out->is_entity = in.is_entity();
  out->new_after_learning = in.new_after_learning();
  out->new_group_reported = in.new_group_reported();
  RETURN_IF_ERROR(DecodeMode(in.has_mode(), in.mode(), absl::StrCat(path, ".mode"), &out->mode));
  out->first_window = in.first_window();
  out->decayed_at = in.has_decayed_at() ? in.decayed_at() : in.first_window();
  if (out->decayed_at < out->first_window) {
    return Invalid(absl::StrCat(path, ".decayed_at"),
                   absl::StrCat(out->decayed_at, " is before the group's first window ",
                                out->first_window));
  }
  out->learned_windows = in.learned_windows();
  RETURN_IF_ERROR(ExpectSize(in.tables(), kFeatureCount, absl::StrCat(path, ".tables")));
  for (int f = 0; f < kFeatureCount; ++f) {
    RETURN_IF_ERROR(DecodeTable(in.tables(f), symbol_count, max_values,
                                absl::StrCat(path, ".tables[", f, "]"), &out->tables[f]));
  }
  if (in.startup_tables_size() != 0) {
    // None (nothing learned at start-up) or one per feature.
    RETURN_IF_ERROR(
        ExpectSize(in.startup_tables(), kFeatureCount, absl::StrCat(path, ".startup_tables")));
    for (int f = 0; f < kFeatureCount; ++f) {
      RETURN_IF_ERROR(DecodeTable(in.startup_tables(f), symbol_count, max_values,
                                  absl::StrCat(path, ".startup_tables[", f, "]"),
                                  &out->startup_tables[f]));
    }
  }
  RETURN_IF_ERROR(
      DecodeCounts(in.counts(), decaying, absl::StrCat(path, ".counts"), &out->counts));
  if (in.coarse_size() != 0) {
    // None (nothing learned at a coarse level) or one per level.
    RETURN_IF_ERROR(ExpectSize(in.coarse(), kCoarseLevels, absl::StrCat(path, ".coarse")));
    out->coarse = std::make_unique<std::array<CountBaseline, kCoarseLevels>>();
    for (int level = 0; level < kCoarseLevels; ++level) {
      RETURN_IF_ERROR(DecodeCounts(in.coarse(level), decaying,
                                   absl::StrCat(path, ".coarse[", level, "]"),
                                   &(*out->coarse)[level]));
    }
  }
  for (int i = 0; i < in.held_coarse_size(); ++i) {
    const v1::HeldCoarseWindow& c = in.held_coarse(i);
    const std::string where = absl::StrCat(path, ".held_coarse[", i, "]");
    if (c.entity() == kNoSymbol || c.entity() >= symbol_count) {
      return Invalid(absl::StrCat(where, ".entity"),
                     absl::StrCat("symbol ", c.entity(), " is not in the symbol table"));
    }
    if (c.levels() == 0 || c.levels() >= (1u << kCoarseLevels) || c.window() < 0) {
      return Invalid(where, absl::StrCat("levels ", c.levels(), ", window ", c.window(),
                                         "; expected levels 1..3 and a window >= 0"));
    }
    RETURN_IF_ERROR(ExpectSize(c.counts(), kCoarseLevels * kKindCount,
                               absl::StrCat(where, ".counts")));
    HeldCoarse& held = out->held_coarse.emplace_back();
    held.entity = c.entity();
    held.window = c.window();
    held.levels = c.levels();
    for (int level = 0; level < kCoarseLevels; ++level) {
      for (int k = 0; k < kKindCount; ++k) held.counts[level][k] = c.counts(level * kKindCount + k);
    }
  }
  const v1::ValueBaseline& values = in.values();
  RETURN_IF_ERROR(ExpectSize(values.histograms(), kKindCount, absl::StrCat(path, ".values.histograms")));
  RETURN_IF_ERROR(ExpectSize(values.statuses(), kKindCount, absl::StrCat(path, ".values.statuses")));
  RETURN_IF_ERROR(ExpectSize(values.errors(), kKindCount, absl::StrCat(path, ".values.errors")));
  for (int k = 0; k < kKindCount; ++k) {
    const std::string where = absl::StrCat(path, ".values.histograms[", k, "]");
    const v1::LogHistogram& h = values.histograms(k);
    RETURN_IF_ERROR(ExpectSize(h.bins(), LogHistogram::kBins, absl::StrCat(where, ".bins")));
    uint64_t sum = 0;
    for (int b = 0; b < LogHistogram::kBins; ++b) {
      out->values.histograms_[k].bins_[b] = h.bins(b);
      sum += h.bins(b);
    }
    if (sum != h.total()) {
      return Invalid(where, absl::StrCat("total ", h.total(), " differs from its bins' sum ", sum));
    }
    out->values.histograms_[k].total_ = h.total();
    if (values.errors(k) > values.statuses(k)) {
      return Invalid(absl::StrCat(path, ".values.errors[", k, "]"),
                     absl::StrCat(values.errors(k), " errors exceed ", values.statuses(k),
                                  " statuses"));
    }
    out->values.statuses_[k] = values.statuses(k);
    out->values.errors_[k] = values.errors(k);
  }
  if (in.has_mix()) {
    const v1::MixBaseline& mix = in.mix();
    RETURN_IF_ERROR(ExpectSize(mix.mix(), kMixFeatureCount, absl::StrCat(path, ".mix.mix")));
    RETURN_IF_ERROR(
        ExpectSize(mix.distinct(), kDistinctFeatureCount, absl::StrCat(path, ".mix.distinct")));
    auto decode = [&](const v1::MixRanks& ranks, const std::string& where,
                      StratifiedTail* tail) -> absl::Status {
      if (ranks.keys_size() != ranks.counts_size()) {
        return Invalid(where, absl::StrCat(ranks.keys_size(), " keys and ", ranks.counts_size(),
                                           " counts; expected as many of each"));
      }
      std::vector<StratifiedTail::Cell> cells;
      for (int i = 0; i < ranks.keys_size(); ++i) {
        if (ranks.keys(i) >= StratifiedTail::kStrata * StratifiedTail::kBins) {
          return Invalid(absl::StrCat(where, ".keys[", i, "]"),
                         absl::StrCat("key ", ranks.keys(i), " is out of range"));
        }
        cells.push_back(StratifiedTail::Cell{static_cast<uint16_t>(ranks.keys(i)), ranks.counts(i)});
      }
      if (!tail->Restore(std::move(cells))) {
        return Invalid(where, "expected ascending keys, each with a count above 0");
      }
      return absl::OkStatus();
    };
    for (int m = 0; m < kMixFeatureCount; ++m) {
      RETURN_IF_ERROR(decode(mix.mix(m), absl::StrCat(path, ".mix.mix[", m, "]"),
                             &out->mix.mutable_mix(m)));
    }
    for (int d = 0; d < kDistinctFeatureCount; ++d) {
      RETURN_IF_ERROR(decode(mix.distinct(d), absl::StrCat(path, ".mix.distinct[", d, "]"),
                             &out->mix.mutable_distinct(d)));
    }
  }
  if (in.has_distributions()) {
    const v1::DistributionBaseline& d = in.distributions();
    RETURN_IF_ERROR(ExpectSize(d.sketches(), kDistributionKinds,
                               absl::StrCat(path, ".distributions.sketches")));
    for (int slot = 0; slot < kDistributionKinds; ++slot) {
      const v1::QuantileSketch& s = d.sketches(slot);
      const std::string where = absl::StrCat(path, ".distributions.sketches[", slot, "]");
      if (s.relative_accuracy() != DistributionBaseline::kRelativeAccuracy ||
          s.max_buckets() != QuantileSketch::kDefaultMaxBuckets) {
        return Invalid(where, absl::StrCat("relative accuracy ", s.relative_accuracy(),
                                           " and max buckets ", s.max_buckets(), "; expected ",
                                           DistributionBaseline::kRelativeAccuracy, " and ",
                                           QuantileSketch::kDefaultMaxBuckets));
      }
      absl::StatusOr<QuantileSketch> sketch = QuantileSketch::FromBuckets(
          s.relative_accuracy(), s.max_buckets(), s.zero_count(), s.first_index(),
          absl::MakeConstSpan(s.counts().data(), static_cast<size_t>(s.counts_size())));
      if (!sketch.ok()) return Invalid(where, ToStd(sketch.status().message()));
      out->distributions.set_sketch(slot, *std::move(sketch));
    }
  }
  if (in.has_sequences()) {
    const v1::SequenceBaseline& b = in.sequences();
    RETURN_IF_ERROR(ExpectSize(b.tables(), kSequenceFeatures, absl::StrCat(path, ".sequences.tables")));
    for (int f = 0; f < kSequenceFeatures; ++f) {
      const v1::SequenceTable& t = b.tables(f);
      const std::string where = absl::StrCat(path, ".sequences.tables[", f, "]");
      if (t.ids_size() != t.counts_size()) {
        return Invalid(where, absl::StrCat("has ", t.ids_size(), " ids but ", t.counts_size(),
                                           " counts"));
      }
      std::vector<std::pair<uint64_t, uint32_t>> grams;
      grams.reserve(static_cast<size_t>(t.ids_size()));
      for (int i = 0; i < t.ids_size(); ++i) grams.emplace_back(t.ids(i), t.counts(i));
      if (!out->sequences.tables[f].Restore(grams, t.total(), t.windows(), t.novel_windows(),
                                            t.overflow(), max_values)) {
        return Invalid(where, absl::StrCat(
            "expected at most ", max_values, " strictly ascending 48-bit ids (not 0) with counts "
            "1..65535, a total of at least their sum plus the overflow, and novel_windows at most "
            "windows"));
      }
    }
  }
  if (in.has_multivariate()) {
    RETURN_IF_ERROR(
        DecodeMultivariate(in.multivariate(), absl::StrCat(path, ".multivariate"), &out->multivariate));
  }
  return DecodeConsensus(in.consensus(), symbol_count, absl::StrCat(path, ".consensus"),
                         &out->consensus);
}

namespace {

// Decodes the parts an open and a held window share (see EncodeContent);
// `add(key, n)` stores a value and returns false for a repeated key.
template <typename Content, typename AddValue>
absl::Status DecodeContent(const v1::Window& in, size_t symbol_count, uint32_t max_values,
                           const std::string& path, Content* out, AddValue add) {
  RETURN_IF_ERROR(ExpectSize(in.counts(), kKindCount, absl::StrCat(path, ".counts")));
  RETURN_IF_ERROR(ExpectSize(in.value_obs(), kKindCount, absl::StrCat(path, ".value_obs")));
  for (int k = 0; k < kKindCount; ++k) {
    out->counts[k] = in.counts(k);
    const v1::ValueObservation& v = in.value_obs(k);
    if (!FiniteNonNegative(v.sum()) || v.values() > in.counts(k) || v.statuses() > in.counts(k) ||
        v.errors() > v.statuses()) {
      return Invalid(absl::StrCat(path, ".value_obs[", k, "]"),
                     absl::StrCat("expected a finite sum >= 0, values and statuses at most the "
                                  "kind's ", in.counts(k), " events, errors at most statuses"));
    }
    out->value_obs[k] = ValueObservation{v.sum(), v.values(), v.statuses(), v.errors()};
  }
  if (in.value_keys_size() != in.value_counts_size()) {
    return Invalid(path, absl::StrCat("has ", in.value_keys_size(), " value keys but ",
                                      in.value_counts_size(), " value counts"));
  }
  if (static_cast<size_t>(in.value_keys_size()) > max_values) {
    return Invalid(absl::StrCat(path, ".value_keys"),
                   absl::StrCat(in.value_keys_size(), " values; the options allow at most ",
                                max_values));
  }
  for (int i = 0; i < in.value_keys_size(); ++i) {
    const uint64_t key = in.value_keys(i);
    const uint64_t feature = key >> 32;
    const auto value = static_cast<Symbol>(key);
    if (feature >= kFeatureCount || value == kNoSymbol || value >= symbol_count) {
      return Invalid(absl::StrCat(path, ".value_keys[", i, "]"),
                     absl::StrCat("key ", key, " is not a feature (0..", kFeatureCount - 1,
                                  ") and a symbol of the table"));
    }
    if (in.value_counts(i) == 0) {
      return Invalid(absl::StrCat(path, ".value_counts[", i, "]"), "is 0; expected at least 1");
    }
    if (!add(key, in.value_counts(i))) {
      return Invalid(absl::StrCat(path, ".value_keys[", i, "]"), "repeats an earlier key");
    }
  }
  RETURN_IF_ERROR(ExpectSize(in.untracked_events(), kFeatureCount,
                             absl::StrCat(path, ".untracked_events")));
  RETURN_IF_ERROR(ExpectSize(in.untracked_new(), kFeatureCount,
                             absl::StrCat(path, ".untracked_new")));
  for (int f = 0; f < kFeatureCount; ++f) {
    if (in.untracked_new(f) > in.untracked_events(f)) {
      return Invalid(absl::StrCat(path, ".untracked_new[", f, "]"),
                     "exceeds the untracked events of its feature");
    }
    out->untracked_events[f] = in.untracked_events(f);
    out->untracked_new[f] = in.untracked_new(f);
  }
  if (in.samples_size() != 0) {
    RETURN_IF_ERROR(ExpectSize(in.samples(), kDistributionKinds, absl::StrCat(path, ".samples")));
  }
  for (int slot = 0; slot < in.samples_size(); ++slot) {
    const v1::WindowSample& s = in.samples(slot);
    const std::string where = absl::StrCat(path, ".samples[", slot, "]");
    const int kind = static_cast<int>(kDistributionKindOf[static_cast<size_t>(slot)]);
    for (int i = 0; i < s.indices_size(); ++i) {
      const int32_t index = s.indices(i);
      if (!IsBucketIndex(index)) {
        return Invalid(absl::StrCat(where, ".indices[", i, "]"),
                       absl::StrCat("bucket ", index, " is out of range"));
      }
    }
    if (s.seen() > out->value_obs[kind].values ||
        !out->samples[static_cast<size_t>(slot)].Restore(
            std::vector<int32_t>(s.indices().begin(), s.indices().end()), s.seen(), s.stride())) {
      return Invalid(where, absl::StrCat("expected at most ", WindowSample::kCapacity,
                                         " indices, every stride-th (a power of two) of the seen "
                                         "values, seen at most the kind's ",
                                         out->value_obs[kind].values, " values"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SnapshotCodec::DecodeWindow(const v1::Window& in, const EngineImpl& engine,
                                         const std::string& path, WindowAccumulator* out) {
  const size_t symbol_count = engine.symbols_.size();
  out->Reset(in.index());
  out->events = in.events();
  RETURN_IF_ERROR(DecodeContent(in, symbol_count, engine.options_.max_values_per_window, path, out,
                                [&](uint64_t key, uint32_t n) {
                                  const size_t before = out->values.size();
                                  out->values.Add(key, n, SIZE_MAX);
                                  return out->values.size() > before;
                                }));
  if (in.has_sequences()) {
    SequenceUntracked ignored;  // kept by the entity: see DecodeSequences
    RETURN_IF_ERROR(DecodeSequenceWindow(in.sequences(), engine.options_.max_values_per_window,
                                         absl::StrCat(path, ".sequences"), &ignored,
                                         [&](uint64_t key, uint32_t n) {
                                           const size_t before = out->values.size();
                                           out->values.Add(key, n, SIZE_MAX);
                                           out->sequence_keys += 1;
                                           return out->values.size() > before;
                                         }));
  }
  uint64_t events = 0;
  for (uint32_t count : out->counts) events += count;
  if (events != in.events()) {
    return Invalid(absl::StrCat(path, ".events"),
                   absl::StrCat(in.events(), " differs from the per-kind counts' sum ", events));
  }
  const int pending = in.pending_kinds_size();
  if (in.pending_subjects_size() != pending || in.pending_actors_size() != pending) {
    return Invalid(path, "pending_subjects, pending_actors and pending_kinds differ in length");
  }
  if (static_cast<size_t>(pending) > kPendingValues) {
    return Invalid(absl::StrCat(path, ".pending_kinds"),
                   absl::StrCat(pending, " pending events; at most ", kPendingValues));
  }
  if (in.pending_value_indices_size() != 0 && in.pending_value_indices_size() != pending) {
    return Invalid(absl::StrCat(path, ".pending_value_indices"),
                   absl::StrCat(in.pending_value_indices_size(), " indices for ", pending,
                                " pending events; expected none or one each"));
  }
  out->pending.reserve(kPendingValues);
  for (int i = 0; i < pending; ++i) {
    const uint32_t subject = in.pending_subjects(i);
    const uint32_t actor = in.pending_actors(i);
    const uint32_t kind = in.pending_kinds(i);
    const int32_t value_index =
        in.pending_value_indices_size() > 0 ? in.pending_value_indices(i) : kNoValueIndex;
    const bool has_value = value_index != kNoValueIndex;
    if (kind >= static_cast<uint32_t>(kKindCount) || subject >= symbol_count ||
        actor >= symbol_count || (subject == kNoSymbol && actor == kNoSymbol && !has_value)) {
      return Invalid(absl::StrCat(path, ".pending[", i, "]"),
                     "expected a kind 0..8 and a subject or actor from the symbol table, or a value");
    }
    if (has_value && (DistributionSlot(static_cast<Kind>(kind)) < 0 || !IsBucketIndex(value_index))) {
      return Invalid(absl::StrCat(path, ".pending_value_indices[", i, "]"),
                     absl::StrCat("bucket ", value_index, " is out of range or its kind ", kind,
                                  " has no value distribution"));
    }
    out->pending.push_back(PendingValues{subject, actor, kind, value_index});
  }
  return absl::OkStatus();
}

absl::Status SnapshotCodec::DecodeSequences(const v1::Entity& in, const EngineImpl& engine,
                                            const std::string& path, EntityState* out) {
  const EngineOptions& o = engine.options_;
  const size_t symbol_count = engine.symbols_.size();
  const std::string where = absl::StrCat(path, ".sequences");
  bool any_window = false;
  for (const v1::Window& w : in.windows()) any_window |= w.has_sequences();
  if (!o.sequence_model) {
    if (in.has_sequences() || any_window) {
      return Invalid(where, "holds sequence state but the sequence model is off");
    }
    return absl::OkStatus();
  }
  const int history = static_cast<int>(o.sequence_length) - 1;
  auto symbols_ok = [&](const auto& repeated) {
    for (uint32_t s : repeated) {
      if (s >= symbol_count) return false;
    }
    return static_cast<int>(repeated.size()) == history;
  };
  auto state = [&]() -> EntitySequences& {
    if (!out->sequences) out->sequences = std::make_unique<EntitySequences>();
    return *out->sequences;
  };
  const v1::SequenceEntity& x = in.sequences();
  if (in.has_sequences()) {
    if (!symbols_ok(x.exec_history())) {
      return Invalid(absl::StrCat(where, ".exec_history"),
                     absl::StrCat("expected ", history, " symbols of the table (0: start)"));
    }
    for (int j = 0; j < history; ++j) out->exec_history[j] = x.exec_history(j);
  }
  if (static_cast<size_t>(x.processes_size()) > EntitySequences::kMaxProcesses) {
    return Invalid(absl::StrCat(where, ".processes"),
                   absl::StrCat(x.processes_size(), " processes; at most ",
                                EntitySequences::kMaxProcesses));
  }
  for (int i = 0; i < x.processes_size(); ++i) {
    const v1::SequenceProcess& p = x.processes(i);
    bool ok = p.actor() != kNoSymbol && p.actor() < symbol_count && p.last_use() >= 1 &&
              p.last_use() <= x.clock() && symbols_ok(p.history());
    for (int j = 0; ok && j < i; ++j) {
      ok = x.processes(j).actor() != p.actor() && x.processes(j).last_use() != p.last_use();
    }
    if (!ok) {
      return Invalid(absl::StrCat(where, ".processes[", i, "]"),
                     absl::StrCat("expected a process symbol and activity number (1..clock) of "
                                  "its own, and ", history, " symbols of history"));
    }
    EntitySequences::Process& process = state().processes.emplace_back();
    process.actor = p.actor();
    process.last_use = p.last_use();
    for (int j = 0; j < history; ++j) process.history[j] = p.history(j);
  }
  if (x.clock() != 0 || x.evicted() != 0) {
    state().clock = x.clock();
    state().evicted = x.evicted();
  }
  for (int w = 0; w < in.windows_size(); ++w) {
    const v1::Window& window = in.windows(w);
    if (!window.has_sequences()) continue;
    const std::string window_path = absl::StrCat(path, ".windows[", w, "].sequences");
    SequenceUntracked untracked;
    untracked.window = window.index();
    // The keys were checked with the window; this reads the untracked.
    RETURN_IF_ERROR(DecodeSequenceWindow(window.sequences(), o.max_values_per_window, window_path,
                                         &untracked, [](uint64_t, uint32_t) { return true; }));
    if (untracked.grams[0] + untracked.grams[1] > 0) state().untracked.push_back(untracked);
    std::array<size_t, kSequenceFeatures> examples{};
    for (int i = 0; i < window.sequences().examples_size(); ++i) {
      const v1::SequenceExample& e = window.sequences().examples(i);
      const uint64_t feature = (e.key() >> kNGramIdBits) & 1;
      const bool boot = ((e.key() >> (kNGramIdBits + 1)) & 1) != 0;
      const uint64_t id = e.key() & kNGramIdMask;
      if ((e.key() >> (kNGramIdBits + 2)) != 0 || id == 0 ||
          static_cast<int>(e.subjects_size()) != history + 1 ||
          ++examples[feature] > EntitySequences::kMaxExamples) {
        return Invalid(absl::StrCat(window_path, ".examples[", i, "]"),
                       absl::StrCat("expected a sequence key, ", history + 1, " subjects and at "
                                    "most ", EntitySequences::kMaxExamples, " per feature"));
      }
      EntitySequences::Example example;
      example.window = window.index();
      example.key = SequenceKey(static_cast<int>(feature), id, boot);
      for (int j = 0; j <= history; ++j) {
        if (e.subjects(j) >= symbol_count) {
          return Invalid(absl::StrCat(window_path, ".examples[", i, "].subjects[", j, "]"),
                         "is not a symbol of the table");
        }
        example.subjects[j] = e.subjects(j);
      }
      state().examples.push_back(example);
    }
  }
  return absl::OkStatus();
}

absl::Status SnapshotCodec::DecodeMetrics(const v1::EntityMetrics& in, const EngineImpl& engine,
                                          const std::string& path, EntityMetrics* out) {
  if (static_cast<size_t>(in.series_size()) > EntityMetrics::kMaxSeries) {
    return Invalid(absl::StrCat(path, ".series"),
                   absl::StrCat(in.series_size(), " series; at most ", EntityMetrics::kMaxSeries));
  }
  out->dropped = in.dropped();
  const size_t ring = engine.RingSize();
  const int64_t newest_window = engine.WindowOf(engine.max_time_ns_);
  auto finite = [](double x) { return std::isfinite(x); };
  for (int i = 0; i < in.series_size(); ++i) {
    const std::string where = absl::StrCat(path, ".series[", i, "]");
    const v1::MetricSeries& x = in.series(i);
    if (x.subject() >= engine.symbols_.size()) {
      return Invalid(absl::StrCat(where, ".subject"), "is not a symbol of the table");
    }
    for (int j = 0; j < i; ++j) {
      if (in.series(j).subject() == x.subject()) return Invalid(where, "repeats an earlier metric");
    }
    MetricSeries& series = out->series.emplace_back();
    series.subject = x.subject();
    series.ring.Reset(ring);
    for (int w = 0; w < x.windows_size(); ++w) {
      const v1::MetricWindow& m = x.windows(w);
      const std::string window_path = absl::StrCat(where, ".windows[", w, "]");
      if (m.index() < engine.next_close_ || m.index() > newest_window ||
          m.index() - engine.next_close_ >= static_cast<int64_t>(ring) || m.samples() == 0 ||
          !finite(m.sum()) || !finite(m.min()) || !finite(m.max()) || m.min() > m.max()) {
        return Invalid(window_path,
                       "expected an open window with samples and finite sum, min <= max");
      }
      MetricSeries::OpenWindow& open = series.ring.Slot(m.index());
      if (open.window >= 0) return Invalid(window_path, "shares its ring slot with another window");
      open.window = m.index();
      open.observation = MetricObservation{m.samples(), m.sum(), m.min(), m.max()};
    }
    const v1::MetricModelState& m = x.model();
    const std::string model_path = absl::StrCat(where, ".model");
    series.model = MetricModel(engine.metric_options_);
    MetricModelState& st = series.model.mutable_state();
    // Shapes the model indexes by: the warm-up buffer before it is ready,
    // one season bin per windows_per_bin windows of the period after.
    const bool shape_ok =
        m.ready() ? m.warmup_size() == 0 && m.period() >= 0 &&
                        m.period() <= int64_t{1} << 32 &&
                        m.windows_per_bin() ==
                            std::max<int64_t>(1, (m.period() + MetricModel::kMaxSeasonBins - 1) /
                                                     MetricModel::kMaxSeasonBins) &&
                        m.season_size() == (m.period() == 0 ? 0
                                                            : (m.period() + m.windows_per_bin() - 1) /
                                                                  m.windows_per_bin())
                  : m.warmup_size() <= MetricModel::kWarmupWindows && m.period() == 0 &&
                        m.season_size() == 0 && m.windows_per_bin() == 1;
    if (!shape_ok) {
      return Invalid(model_path, "the warm-up buffer, period, bins per window and season profile "
                                 "do not fit together");
    }
    for (double v : {m.level(), m.scale(), m.magnitude(), m.level_up(), m.level_down(), m.burst(),
                     m.min_seen(), m.max_seen()}) {
      if (!finite(v)) return Invalid(model_path, "has a value that is not finite");
    }
    for (float v : m.season()) {
      if (!finite(v)) return Invalid(absl::StrCat(model_path, ".season"), "has a value that is not finite");
    }
    st.warmup.assign(m.warmup().begin(), m.warmup().end());
    st.first_window = m.first_window();
    st.ready = m.ready();
    st.period = m.period();
    st.windows_per_bin = m.windows_per_bin();
    st.season.assign(m.season().begin(), m.season().end());
    st.level = m.level();
    st.scale = m.scale();
    st.magnitude = m.magnitude();
    st.level_up = m.level_up();
    st.level_down = m.level_down();
    st.burst = m.burst();
    st.min_seen = m.min_seen();
    st.max_seen = m.max_seen();
    st.windows = m.windows();
    auto histogram = [&](const v1::TailHistogram& h, const char* name,
                         TailHistogram* o) -> absl::Status {
      bool ok = h.bins_size() == TailHistogram::kBins && finite(h.total()) && h.total() >= 0 &&
                finite(h.weight()) && h.weight() > 0 && finite(h.max());
      for (int b = 0; ok && b < h.bins_size(); ++b) ok = finite(h.bins(b)) && h.bins(b) >= 0;
      if (!ok) {
        return Invalid(absl::StrCat(model_path, ".", name),
                       "expected 64 finite bins >= 0, a total >= 0 and a weight > 0");
      }
      // Values enter at or below the largest one: the tail sums rely on
      // the bins past its bin being empty.
      for (int b = TailHistogram::BinOf(h.max()) + 1; b < TailHistogram::kBins; ++b) {
        if (h.bins(b) != 0) {
          return Invalid(absl::StrCat(model_path, ".", name, ".bins"),
                         absl::StrCat("bin ", b, " holds ", h.bins(b),
                                      "; expected 0 past the bin of the largest value, max ",
                                      h.max()));
        }
      }
      for (int b = 0; b < TailHistogram::kBins; ++b) o->bins[b] = h.bins(b);
      o->total = h.total();
      o->weight = h.weight();
      o->max = h.max();
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(histogram(m.spike_hist(), "spike_hist", &st.spike_hist));
    RETURN_IF_ERROR(histogram(m.level_hist(), "level_hist", &st.level_hist));
    RETURN_IF_ERROR(histogram(m.burst_hist(), "burst_hist", &st.burst_hist));
    // The variance test's state: absent in snapshots from before it (then
    // the test warms up: MetricModelState::long_scale).
    if (!finite(m.long_scale()) || m.long_scale() < 0) {
      return Invalid(absl::StrCat(model_path, ".long_scale"), "expected a finite value >= 0");
    }
    st.long_scale = m.long_scale();
    if (m.has_variance_hist()) {
      RETURN_IF_ERROR(histogram(m.variance_hist(), "variance_hist", &st.variance_hist));
    }
    // The shift tests' state: absent in snapshots from before them (then
    // the tests warm up: MetricModelState::long_level_windows).
    for (const auto& [value, name] : {std::pair{m.long_level(), "long_level"},
                                      std::pair{m.medium_level(), "medium_level"}}) {
      if (!finite(value)) {
        return Invalid(absl::StrCat(model_path, ".", name), "expected a finite value");
      }
      if (m.long_level_windows() == 0 && value != 0) {
        return Invalid(absl::StrCat(model_path, ".", name),
                       "expected 0 when long_level_windows is 0 (no level learned)");
      }
    }
    st.long_level = m.long_level();
    st.medium_level = m.medium_level();
    st.long_level_windows = m.long_level_windows();
    if (m.has_shift_hist()) {
      RETURN_IF_ERROR(histogram(m.shift_hist(), "shift_hist", &st.shift_hist));
    }
    if (m.has_medium_shift_hist()) {
      RETURN_IF_ERROR(
          histogram(m.medium_shift_hist(), "medium_shift_hist", &st.medium_shift_hist));
    }
    // The stuck test's state: absent in snapshots from before it (then it
    // starts at the next window: MetricModelState::stuck_learned). Runs lie
    // within the windows learned, and a learned test has a run.
    if (!finite(m.stuck_value())) {
      return Invalid(absl::StrCat(model_path, ".stuck_value"), "expected a finite value");
    }
    const bool stuck_ok =
        m.stuck_learned() == 0
            ? m.stuck_value() == 0 && m.stuck_windows() == 0 && m.stuck_record() == 0
            : m.stuck_windows() >= 1 && m.stuck_windows() <= m.stuck_learned() &&
                  m.stuck_record() <= m.stuck_learned() - m.stuck_windows();
    if (!stuck_ok) {
      return Invalid(absl::StrCat(model_path, ".stuck_windows"),
                     absl::StrCat("run ", m.stuck_windows(), " and longest earlier run ",
                                  m.stuck_record(), " do not fit in the ", m.stuck_learned(),
                                  " windows learned (expected a run of 1..learned, the earlier "
                                  "run within the rest, all 0 when none learned)"));
    }
    st.stuck_learned = m.stuck_learned();
    st.stuck_value = m.stuck_value();
    st.stuck_windows = m.stuck_windows();
    st.stuck_record = m.stuck_record();
    // The phase spreads: absent in snapshots from before them (then they
    // start at the scale: MetricModelState::season_scale).
    if (m.season_scale_size() != 0 && m.season_scale_size() != m.season_size()) {
      return Invalid(absl::StrCat(model_path, ".season_scale"),
                     absl::StrCat(m.season_scale_size(), " values; expected none or one per season bin (",
                                  m.season_size(), ")"));
    }
    for (float v : m.season_scale()) {
      if (!finite(v) || v < 0) {
        return Invalid(absl::StrCat(model_path, ".season_scale"), "expected finite values >= 0");
      }
    }
    st.season_scale.assign(m.season_scale().begin(), m.season_scale().end());
    st.whole_numbers = m.whole_numbers();
  }
  return absl::OkStatus();
}

absl::Status SnapshotCodec::DecodeConsensus(const v1::GroupConsensus& in, size_t symbol_count,
                                            const std::string& path, GroupConsensus* out) {
  const int sightings = in.sighting_keys_size();
  if (in.sighting_entities_size() != sightings || in.sighting_windows_size() != sightings ||
      in.active_entities_size() != in.active_windows_size() ||
      in.reported_windows_size() != in.reported_keys_size()) {
    return Invalid(path, "parallel arrays differ in length");
  }
  for (int i = 0; i < sightings; ++i) {
    const int64_t window = in.sighting_windows(i);
    if (in.sighting_entities(i) == kNoSymbol || in.sighting_entities(i) >= symbol_count ||
        window < 0 || (i > 0 && window < in.sighting_windows(i - 1))) {
      return Invalid(absl::StrCat(path, ".sightings[", i, "]"),
                     "expected an entity symbol and windows in ascending order");
    }
    out->sightings_.push_back(
        GroupConsensus::Sighting{in.sighting_keys(i), in.sighting_entities(i), window});
  }
  for (int i = 0; i < in.active_windows_size(); ++i) {
    if (in.active_windows(i) < 0 || (i > 0 && in.active_windows(i) <= in.active_windows(i - 1))) {
      return Invalid(absl::StrCat(path, ".active_windows[", i, "]"),
                     "expected windows in strictly ascending order");
    }
    out->active_.emplace_back(in.active_windows(i), in.active_entities(i));
  }
  for (int i = 0; i < in.reported_keys_size(); ++i) {
    out->reported_.emplace_back(in.reported_keys(i), in.reported_windows(i));
  }
  return absl::OkStatus();
}

absl::Status SnapshotCodec::DecodeHeld(const v1::HeldFinding& in, const EngineImpl& engine,
                                       const std::string& path, HeldFinding* out) {
  const size_t symbol_count = engine.symbols_.size();
  const v1::Finding& f = in.finding();
  std::optional<Severity> severity;
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (f.severity() == SeverityName(s)) severity = s;
  }
  if (!severity || !(in.finding_p_value() >= 0) || !(in.finding_p_value() <= 1) ||
      !std::isfinite(f.score())) {
    return Invalid(absl::StrCat(path, ".finding"),
                   "expected a severity (low, medium, high, critical), a p-value in [0, 1] and a "
                   "finite score");
  }
  out->finding.entity = f.entity();
  out->finding.group = f.group();
  out->finding.window_start_ns = f.window_start_ns();
  out->finding.window_end_ns = f.window_end_ns();
  out->finding.score = f.score();
  out->finding.p_value = in.finding_p_value();
  out->finding.severity = *severity;
  for (const v1::Reason& r : f.reasons()) {
    out->finding.reasons.push_back(
        Reason{r.model(), r.feature(), r.observed(), r.expected(), r.p_value()});
  }
  if (in.group() == 0 || in.group() >= engine.groups_.size()) {
    return Invalid(absl::StrCat(path, ".group"),
                   absl::StrCat(in.group(), " is not a group index (1..", engine.groups_.size() - 1, ")"));
  }
  if (in.entity() == kNoSymbol || in.entity() >= symbol_count) {
    return Invalid(absl::StrCat(path, ".entity"), "is not a symbol of the table");
  }
  if (in.window() < 0 || in.window() >= engine.next_close_) {
    return Invalid(absl::StrCat(path, ".window"),
                   absl::StrCat(in.window(), " is not a closed window (", engine.next_close_,
                                " is the next to close)"));
  }
  out->group = in.group();
  out->entity = in.entity();
  out->window = in.window();
  const int tests = in.test_p_values_size();
  if (in.test_first_keys_size() != tests || in.test_key_counts_size() != tests ||
      in.test_reasons_size() != tests) {
    return Invalid(path, "the test arrays differ in length");
  }
  for (int i = 0; i < tests; ++i) {
    const uint64_t end = uint64_t{in.test_first_keys(i)} + in.test_key_counts(i);
    const int reason = in.test_reasons(i);
    const double p = in.test_p_values(i);
    if (!(p >= 0 && p <= 1) || end > static_cast<uint64_t>(in.keys_size()) || reason < -1 ||
        reason >= static_cast<int>(out->finding.reasons.size())) {
      return Invalid(absl::StrCat(path, ".tests[", i, "]"),
                     "expected a p-value in [0, 1], keys within keys and a reason index or -1");
    }
    out->tests.push_back(
        HeldFinding::HeldTest{p, in.test_first_keys(i), in.test_key_counts(i), reason});
  }
  out->keys.assign(in.keys().begin(), in.keys().end());
  if (in.learn_hour() < 0 || in.learn_hour() > 23 || in.learn_age() < 0) {
    return Invalid(absl::StrCat(path, ".learn_hour"), "expected an hour 0..23 and an age >= 0");
  }
  out->learn.hour = in.learn_hour();
  out->learn.age = in.learn_age();
  absl::flat_hash_set<uint64_t> seen;
  auto add = [&](uint64_t key, uint32_t n) {
    out->learn.values.emplace_back(key, n);
    return seen.insert(key).second;
  };
  RETURN_IF_ERROR(DecodeContent(in.learn(), symbol_count, engine.options_.max_values_per_window,
                                absl::StrCat(path, ".learn"), &out->learn, add));
  out->learn.sequence_untracked.window = out->window;
  return DecodeSequenceWindow(in.learn().sequences(), engine.options_.max_values_per_window,
                              absl::StrCat(path, ".learn.sequences"),
                              &out->learn.sequence_untracked, add);
}

absl::StatusOr<std::unique_ptr<EngineImpl>> SnapshotCodec::Decode(const v1::Snapshot& in) {
  if (in.format_version() == 0 || in.format_version() > kSnapshotFormatVersion) {
    return Invalid("format_version", absl::StrCat(in.format_version(), "; expected 1..",
                                                  kSnapshotFormatVersion));
  }
  const v1::EngineOptions& o = in.options();
  EngineOptions options;
  options.window = absl::Nanoseconds(o.window_ns());
  options.learning_period = absl::Nanoseconds(o.learning_period_ns());
  options.allowed_lateness = absl::Nanoseconds(o.allowed_lateness_ns());
  options.idle_ttl = absl::Nanoseconds(o.idle_ttl_ns());
  options.false_findings_per_entity_day = o.false_findings_per_entity_day();
  if (o.has_threshold()) options.threshold = o.threshold();
  options.categorical_model = o.categorical_model();
  options.count_model = o.count_model();
  options.value_model = o.value_model();
  options.hour_of_day_seasonality = o.hour_of_day_seasonality();
  options.report_new_groups = o.report_new_groups();
  options.learn_after_learning_period = o.learn_after_learning_period();
  options.max_values_per_feature = o.max_values_per_feature();
  options.max_values_per_window = o.max_values_per_window();
  if (o.has_group_consensus()) options.group_consensus = o.group_consensus();
  if (o.has_consensus_quorum()) options.consensus_quorum = o.consensus_quorum();
  if (o.has_consensus_wait_windows()) options.consensus_wait_windows = o.consensus_wait_windows();
  if (o.has_consensus_span_windows()) options.consensus_span_windows = o.consensus_span_windows();
  if (o.has_metric_model()) options.metric_model = o.metric_model();
  if (o.has_metric_season_ns()) options.metric_season = absl::Nanoseconds(o.metric_season_ns());
  // Absent (a snapshot from before the model): on, as the default is; its
  // groups have no sketches, so it tests nothing until it has learned
  // DistributionBaseline::kMinLearnedValues values of a kind.
  options.value_distribution = !o.has_value_distribution() || o.value_distribution();
  // Absent (a snapshot from before accumulated evidence): off, so that the
  // snapshot scores as it did when it was written.
  options.accumulate_evidence = o.has_accumulate_evidence() && o.accumulate_evidence();
  if (o.has_evidence_drift_p()) options.evidence_drift_p = o.evidence_drift_p();
  options.baseline_half_life = absl::Nanoseconds(o.baseline_half_life_ns());
  // Absent (a snapshot from before the model): off, since nothing was
  // learned for it; an operator can turn it on by learning anew.
  options.sequence_model = o.has_sequence_model() && o.sequence_model();
  if (o.has_sequence_length()) options.sequence_length = o.sequence_length();
  // Absent (a snapshot from before the multivariate model): off, so that
  // the restored engine scores as the one that wrote it did.
  options.multivariate_model = o.has_multivariate_model() && o.multivariate_model();
  // Absent (a snapshot from before the mix model): off, so that the engine
  // scores as it did; its groups hold no mix statistics.
  options.mix_model = o.has_mix_model() && o.mix_model();
  // Absent (a snapshot from before the lifecycle phase): off, so that its
  // tables, which hold start-up values among the steady state's, score and
  // learn as they did.
  options.lifecycle_phase = o.has_lifecycle_phase() && o.lifecycle_phase();
  // Absent (a snapshot from before multi-resolution counts): both levels
  // off, so that it scores as it did; its groups hold no coarse counts.
  if (o.coarse_windows_size() == 0) {
    options.coarse_windows.fill(0);
  } else {
    RETURN_IF_ERROR(ExpectSize(o.coarse_windows(), kCoarseLevels, "options.coarse_windows"));
    for (int level = 0; level < kCoarseLevels; ++level) {
      options.coarse_windows[level] = o.coarse_windows(level);
    }
  }
  if (absl::Status status = ValidateEngineOptions(options); !status.ok()) {
    return Invalid("options", ToStd(status.message()));
  }
  auto engine = std::make_unique<EngineImpl>(options);
  EngineImpl& e = *engine;

  // Symbol 1 is the fleet's name, interned by the constructor.
  if (in.symbols_size() == 0 || in.symbols(0) != e.symbols_.Name(1)) {
    return Invalid("symbols[0]", "expected \"*\", the fleet's name");
  }
  for (int i = 1; i < in.symbols_size(); ++i) {
    const std::string& name = in.symbols(i);
    if (name.empty() || name.size() > kMaxSymbolBytes) {
      return Invalid(absl::StrCat("symbols[", i, "]"),
                     absl::StrCat("has ", name.size(), " bytes; expected 1..", kMaxSymbolBytes));
    }
    if (const Symbol s = e.symbols_.Intern(name); s != static_cast<Symbol>(i + 1)) {
      return Invalid(absl::StrCat("symbols[", i, "]"),
                     absl::StrCat("repeats symbols[", s - 1, "]"));
    }
  }
  const size_t symbol_count = e.symbols_.size();

  const v1::Clock& clock = in.clock();
  if (clock.started()) {
    const int64_t learning_end_max = clock.first_time_ns() + e.options_.learning_period / absl::Nanoseconds(1);
    if (clock.first_time_ns() < 0 || clock.max_time_ns() < clock.first_time_ns() ||
        clock.max_time_ns() > kLatestTimeNs) {
      return Invalid("clock", "expected 0 <= first_time_ns <= max_time_ns <= early 2260");
    }
    if (clock.learning_ends_ns() < 0 || clock.learning_ends_ns() > learning_end_max) {
      return Invalid("clock.learning_ends_ns",
                     "expected 0 up to first_time_ns plus the learning period");
    }
    if (clock.next_close() < clock.first_time_ns() / e.window_ns_ ||
        clock.next_close() > e.WindowOf(clock.max_time_ns()) + 1) {
      return Invalid("clock.next_close",
                     "expected a window between the first event's and one past the newest's");
    }
  } else if (clock.first_time_ns() != 0 || clock.max_time_ns() != 0 || clock.next_close() != 0 ||
             in.entities_size() > 0 || in.groups_size() > 1) {
    return Invalid("clock", "an engine that saw no event has no clock, entities or groups");
  }
  e.started_ = clock.started();
  e.first_time_ns_ = clock.first_time_ns();
  e.learning_ends_ns_ = clock.learning_ends_ns();
  e.max_time_ns_ = clock.max_time_ns();
  e.next_close_ = clock.next_close();
  e.next_sequence_ = clock.next_sequence();
  RETURN_IF_ERROR(DecodeMode(in.has_engine_mode(), in.engine_mode(), "engine_mode", &e.engine_mode_));

  const v1::Counters& c = in.counters();
  e.stats_.events = c.events();
  e.stats_.late_events = c.late_events();
  e.stats_.invalid_events = c.invalid_events();
  e.stats_.bad_lines = c.bad_lines();
  e.stats_.entities_seen = c.entities_seen();
  e.stats_.entities_retired = c.entities_retired();
  e.stats_.windows_scored = c.windows_scored();
  e.stats_.findings = c.findings();
  e.stats_.group_findings = c.group_findings();
  e.stats_.consensus_replaced = c.consensus_replaced();

  const uint32_t max_values = e.options_.max_values_per_feature;
  if (in.groups_size() < 1) return Invalid("groups", "expected at least the fleet's");
  for (int i = 0; i < in.groups_size(); ++i) {
    const std::string path = absl::StrCat("groups[", i, "]");
    const v1::Group& g = in.groups(i);
    if ((i == 0) != (g.name() == 1 && !g.is_entity())) {
      return Invalid(path, i == 0 ? "expected the fleet (\"*\") first"
                                  : "the fleet (\"*\") must come first and only once");
    }
    auto group = i == 0 ? std::move(e.groups_[0]) : std::make_unique<GroupState>();
    RETURN_IF_ERROR(DecodeGroup(g, symbol_count, max_values, e.half_life_windows_ > 0, path,
                                group.get()));
    if (i == 0) {
      e.groups_[0] = std::move(group);
      continue;
    }
    const uint64_t key = group->is_entity ? (kEntityGroupBit | group->name) : group->name;
    if (!e.group_index_.try_emplace(key, static_cast<uint32_t>(e.groups_.size())).second) {
      return Invalid(path, "repeats an earlier group");
    }
    e.groups_.push_back(std::move(group));
  }
  RETURN_IF_ERROR(DecodeTable(in.group_arrivals(), symbol_count, max_values, "group_arrivals",
                              &e.group_arrivals_));
  RETURN_IF_ERROR(ExpectSize(in.pooled_windows(), kFeatureCount, "pooled_windows"));
  RETURN_IF_ERROR(ExpectSize(in.pooled_novel_windows(), kFeatureCount, "pooled_novel_windows"));
  for (int f = 0; f < kFeatureCount; ++f) {
    if (in.pooled_novel_windows(f) > in.pooled_windows(f)) {
      return Invalid(absl::StrCat("pooled_novel_windows[", f, "]"), "exceeds pooled_windows");
    }
    e.pooled_windows_[f] = in.pooled_windows(f);
    e.pooled_novel_[f] = in.pooled_novel_windows(f);
  }

  // The fleet's sequence novelty rates are sums over the groups.
  for (size_t g = 1; g < e.groups_.size(); ++g) {
    for (int f = 0; f < kSequenceFeatures; ++f) {
      e.pooled_sequence_windows_[f] += e.groups_[g]->sequences.tables[f].windows();
      e.pooled_sequence_novel_[f] += e.groups_[g]->sequences.tables[f].novel_windows();
    }
  }

  const size_t ring = e.RingSize();
  const int64_t newest_window = e.WindowOf(e.max_time_ns_);
  e.entity_slot_.assign(symbol_count, UINT32_MAX);
  for (int i = 0; i < in.entities_size(); ++i) {
    const std::string path = absl::StrCat("entities[", i, "]");
    const v1::Entity& x = in.entities(i);
    if (x.name() == kNoSymbol || x.name() >= symbol_count) {
      return Invalid(absl::StrCat(path, ".name"), "is not a symbol of the table");
    }
    if (e.entity_slot_[x.name()] != UINT32_MAX) return Invalid(path, "repeats an earlier entity");
    if (x.group() == 0 || x.group() >= e.groups_.size()) {
      return Invalid(absl::StrCat(path, ".group"),
                     absl::StrCat(x.group(), " is not a group index (1..", e.groups_.size() - 1, ")"));
    }
    if (x.first_window() < 0 || x.first_window() > x.last_event_window() ||
        x.last_event_window() > newest_window) {
      return Invalid(path, "expected 0 <= first_window <= last_event_window <= the newest window");
    }
    if (x.sequence() >= e.next_sequence_ ||
        (i > 0 && x.sequence() <= in.entities(i - 1).sequence())) {
      return Invalid(absl::StrCat(path, ".sequence"),
                     "expected ascending creation numbers below clock.next_sequence");
    }
    // Empty windows waiting to be learned and the previous window are
    // closed windows of the entity's life.
    const int64_t closed_windows = std::max<int64_t>(0, e.next_close_ - x.first_window());
    if (x.pending_empty() > static_cast<uint64_t>(e.ttl_windows_) ||
        x.pending_empty() > static_cast<uint64_t>(closed_windows)) {
      return Invalid(absl::StrCat(path, ".pending_empty"),
                     absl::StrCat(x.pending_empty(), " exceeds the idle TTL in windows or the ",
                                  closed_windows, " closed windows since the entity appeared"));
    }
    if (x.previous_window() < -1 || x.previous_window() >= e.next_close_) {
      return Invalid(absl::StrCat(path, ".previous_window"),
                     "expected -1 or a closed window");
    }
    RETURN_IF_ERROR(ExpectSize(x.previous_counts(), kKindCount,
                               absl::StrCat(path, ".previous_counts")));
    if (static_cast<size_t>(x.windows_size()) > ring) {
      return Invalid(absl::StrCat(path, ".windows"),
                     absl::StrCat(x.windows_size(), " open windows; the lateness allows ", ring));
    }
    const auto slot = static_cast<uint32_t>(e.entities_.size());
    EntityState& entity = e.entities_.emplace_back();
    entity.name = x.name();
    entity.group = x.group();
    entity.first_window = x.first_window();
    entity.last_event_window = x.last_event_window();
    entity.sequence = x.sequence();
    entity.live = true;
    entity.pending_empty = x.pending_empty();
    RETURN_IF_ERROR(DecodeMode(x.has_mode(), x.mode(), absl::StrCat(path, ".mode"), &entity.mode));
    entity.previous_window = x.previous_window();
    for (int k = 0; k < kKindCount; ++k) entity.previous_counts[k] = x.previous_counts(k);
    if (x.coarse_size() != 0) {
      // None (no level open) or one per level, each open at the coarse
      // window of the last closed window.
      RETURN_IF_ERROR(ExpectSize(x.coarse(), kCoarseLevels, absl::StrCat(path, ".coarse")));
      for (int level = 0; level < kCoarseLevels; ++level) {
        const v1::CoarseWindow& c = x.coarse(level);
        const std::string where = absl::StrCat(path, ".coarse[", level, "]");
        const int64_t multiple = e.coarse_multiple_[level];
        const bool open = multiple > 0 && e.next_close_ > x.first_window();
        const int64_t expected = open ? (e.next_close_ - 1) / multiple : -1;
        if (c.index() != -1 && c.index() != expected) {
          return Invalid(absl::StrCat(where, ".index"),
                         absl::StrCat(c.index(), " is not -1 or the open coarse window ", expected));
        }
        RETURN_IF_ERROR(ExpectSize(c.counts(), kKindCount, absl::StrCat(where, ".counts")));
        CoarseAccumulator& out = entity.coarse[level];
        out.index = c.index();
        out.full = c.full();
        out.quarantined = c.quarantined();
        for (int k = 0; k < kKindCount; ++k) out.counts[k] = c.counts(k);
      }
    }
    entity.ring.Reset(ring);
    for (int w = 0; w < x.windows_size(); ++w) {
      const std::string window_path = absl::StrCat(path, ".windows[", w, "]");
      const int64_t index = x.windows(w).index();
      if (index < e.next_close_ || index < entity.first_window || index > newest_window ||
          index - e.next_close_ >= static_cast<int64_t>(ring)) {
        return Invalid(absl::StrCat(window_path, ".index"),
                       absl::StrCat(index, " is not an open window (", e.next_close_, "..",
                                    newest_window, ") of the entity"));
      }
      WindowAccumulator& acc = entity.Slot(index);
      if (acc.window >= 0) return Invalid(window_path, "shares its ring slot with another window");
      RETURN_IF_ERROR(DecodeWindow(x.windows(w), e, window_path, &acc));
    }
    RETURN_IF_ERROR(DecodeSequences(x, e, path, &entity));
    if (x.has_metrics()) {
      entity.metrics = std::make_unique<EntityMetrics>();
      RETURN_IF_ERROR(DecodeMetrics(x.metrics(), e, absl::StrCat(path, ".metrics"),
                                    entity.metrics.get()));
    }
    if (static_cast<size_t>(x.evidence_size()) > EvidenceAccumulator::kMaxTracks) {
      return Invalid(absl::StrCat(path, ".evidence"),
                     absl::StrCat(x.evidence_size(), " tracks; at most ",
                                  EvidenceAccumulator::kMaxTracks));
    }
    for (int t = 0; t < x.evidence_size(); ++t) {
      const v1::EvidenceTrack& track = x.evidence(t);
      const std::string track_path = absl::StrCat(path, ".evidence[", t, "]");
      if (track.test() > UINT16_MAX || (t > 0 && track.test() <= x.evidence(t - 1).test())) {
        return Invalid(absl::StrCat(track_path, ".test"),
                       "expected ascending test keys below 65536");
      }
      if (track.windows() < 1 || track.windows() > UINT16_MAX) {
        return Invalid(absl::StrCat(track_path, ".windows"), "expected 1..65535");
      }
      if (!(track.level() > 0) || !std::isfinite(track.level())) {
        return Invalid(absl::StrCat(track_path, ".level"), "expected a finite level above 0");
      }
      entity.evidence.push_back(EvidenceTrack{static_cast<uint16_t>(track.test()),
                                              static_cast<uint16_t>(track.windows()),
                                              track.level(), track.reported()});
    }
    e.entity_slot_[x.name()] = slot;
    e.live_.push_back(slot);
  }
  for (int i = 0; i < in.held_findings_size(); ++i) {
    const std::string path = absl::StrCat("held_findings[", i, "]");
    HeldFinding& held = e.held_.emplace_back();
    RETURN_IF_ERROR(DecodeHeld(in.held_findings(i), e, path, &held));
    if (i > 0 && held.window < e.held_[i - 1].window) {
      return Invalid(absl::StrCat(path, ".window"), "held findings must come in window order");
    }
  }
  return engine;
}

}  // namespace internal

// --- the public entry points ---------------------------------------------------

absl::StatusOr<std::string> internal::EngineImpl::Snapshot() const {
  v1::Snapshot message;
  SnapshotCodec::Encode(*this, &message);
  const size_t size = message.ByteSizeLong();
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "snapshot of ", size, " bytes exceeds the 2 GiB a protobuf message holds"));
  }
  // Serialized once, straight behind the header: no second size pass and
  // no copy of a payload that can be hundreds of megabytes.
  std::string framed(kSnapshotHeaderBytes + size, '\0');
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(framed.data() + kSnapshotHeaderBytes));
  WriteHeader(kSnapshotFormatVersion, &framed);
  return framed;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::FromSnapshot(std::string_view bytes) {
  ASSIGN_OR_RETURN(const std::string_view payload, internal::UnframeSnapshot(bytes));
  v1::Snapshot message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError("snapshot corrupt: the payload is not a valid snapshot message");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<internal::EngineImpl> engine,
                   internal::SnapshotCodec::Decode(message));
  return std::unique_ptr<Engine>(std::move(engine));
}

namespace {

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  const int error = errno;
  return absl::UnavailableError(absl::StrCat(internal::ToAbsl(what), " ", path, ": ",
                                             std::strerror(error)));
}

}  // namespace

absl::Status Engine::SaveSnapshot(const std::string& path) const {
  ASSIGN_OR_RETURN(const std::string bytes, Snapshot());
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  std::string temporary = path + ".tmp.XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) return ErrnoError("cannot create a temporary file next to", path);
  auto fail = [&](std::string_view what) {
    absl::Status status = ErrnoError(what, temporary);
    close(fd);
    unlink(temporary.c_str());
    return status;
  };
  if (const int error = internal::WriteAll(fd, bytes); error != 0) {
    errno = error;
    return fail("cannot write");
  }
  if (fsync(fd) != 0) return fail("cannot flush");
  if (close(fd) != 0) {
    absl::Status status = ErrnoError("cannot close", temporary);
    unlink(temporary.c_str());
    return status;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError(absl::StrCat("cannot rename ", temporary, " to"), path);
    unlink(temporary.c_str());
    return status;
  }
  // The rename itself is durable once the directory is.
  if (const int dir = open(directory.c_str(), O_RDONLY | O_DIRECTORY); dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::LoadSnapshot(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return ErrnoError("cannot open snapshot", path);
  std::string bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    bytes.append(buffer, n);
    if (bytes.size() > internal::kSnapshotHeaderBytes + static_cast<size_t>(std::numeric_limits<int>::max())) {
      std::fclose(file);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than any snapshot can be (2 GiB)"));
    }
  }
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) return ErrnoError("cannot read snapshot", path);
  absl::StatusOr<std::unique_ptr<Engine>> engine = FromSnapshot(bytes);
  if (!engine.ok()) {
    return absl::Status(engine.status().code(),
                        absl::StrCat(path, ": ", engine.status().message()));
  }
  return engine;
}

}  // namespace timescan
