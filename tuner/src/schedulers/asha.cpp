#include "cohort/tuner/schedulers/asha.h"

#include <algorithm>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::tuner {

AshaScheduler::AshaScheduler(AshaOptions options)
    : options_(options), ladder_(options.min_budget(), options.max_budget(), options.eta()) {
  const int64_t all = ladder_.s_max() + 1;
  if (options.brackets() < 0 || options.brackets() > all)
    throw InputError(fmt::format("ASHA: brackets must be 0 (all) or 1 to {}, the rungs of budgets {} to {} at eta {}, "
                                 "not {}.",
                                 all, options.min_budget(), options.max_budget(), options.eta(), options.brackets()));
  const auto weights = bracket_weights();
  for (int first = 0; first < int(weights.size()); ++first)
    brackets_.push_back(Bracket{first, weights[size_t(first)], 0, std::vector<Rung>(size_t(all))});
}

std::vector<int64_t> AshaScheduler::bracket_weights() const {
  const int s_max = ladder_.s_max();
  const int count = options_.brackets() == 0 ? s_max + 1 : int(options_.brackets());
  // Hyperband's bracket s starts at rung s_max - s; its first rung's size is the share.
  std::vector<int64_t> weights;
  for (int first = 0; first < count; ++first)
    weights.push_back(hyperband_bracket(ladder_, s_max - first).front().configs);
  return weights;
}

std::optional<int64_t> AshaScheduler::promotable(const Rung& state) const {
  const size_t top = state.completed.size() / size_t(ladder_.eta());
  if (options_.promotion_quota() && state.promoted.size() >= top) return std::nullopt;
  if (state.first_unpromoted < top) return state.completed[state.first_unpromoted].config;
  return std::nullopt;
}

std::optional<Slot> AshaScheduler::promote() {
  // The highest rung first, as one-bracket ASHA; at equal rungs the bracket that started lower.
  for (int rung = ladder_.s_max() - 1; rung >= 0; --rung) {
    for (auto& bracket : brackets_) {
      if (bracket.first_rung > rung) break;
      auto& state = bracket.rungs[size_t(rung)];
      const auto config = promotable(state);
      if (!config) continue;
      state.promoted.insert(*config);
      while (state.first_unpromoted < state.completed.size() &&
             state.promoted.count(state.completed[state.first_unpromoted].config))
        ++state.first_unpromoted;
      return Slot{*config, ladder_.budgets()[size_t(rung) + 1], bracket.first_rung, rung + 1};
    }
  }
  return std::nullopt;
}

AshaScheduler::Bracket& AshaScheduler::bracket_for_new_config() {
  // D'Hondt's rule: the bracket with the least (started + 1) / weight, the
  // lowest on ties. Integers only, so a replay decides exactly alike, and every
  // sum(weights) new configurations split exactly by the weights.
  auto behind = [](const Bracket& a, const Bracket& b) {
    return (a.started + 1) * b.weight < (b.started + 1) * a.weight;
  };
  return *std::min_element(brackets_.begin(), brackets_.end(), behind);
}

std::optional<Slot> AshaScheduler::next(const NewConfig& new_config) {
  if (auto slot = promote()) {
    ++outstanding_;
    return slot;
  }
  if (exhausted_) return std::nullopt;
  auto& bracket = bracket_for_new_config();
  const double budget = ladder_.budgets()[size_t(bracket.first_rung)];
  const auto config = new_config(budget);
  if (!config) {
    exhausted_ = true;
    return std::nullopt;
  }
  ++bracket.started;
  ++outstanding_;
  return Slot{*config, budget, bracket.first_rung, bracket.first_rung};
}

void AshaScheduler::report(const Slot& slot, std::optional<double> loss) {
  --outstanding_;
  if (!loss) return;  // a configuration that failed for good is never promoted
  auto& state = brackets_.at(size_t(slot.bracket)).rungs.at(size_t(slot.rung));
  const Rung::Entry entry{*loss, order_++, slot.config_id};
  const auto at = std::upper_bound(state.completed.begin(), state.completed.end(), entry,
                                   [](const auto& a, const auto& b) {
                                     return a.loss < b.loss || (a.loss == b.loss && a.order < b.order);
                                   });
  const auto index = size_t(at - state.completed.begin());
  state.completed.insert(at, entry);
  // The newcomer is unpromoted; ahead of the old first one, it becomes the first.
  if (index <= state.first_unpromoted) state.first_unpromoted = index;
}

bool AshaScheduler::finished() const {
  if (!exhausted_ || outstanding_ > 0) return false;
  for (const auto& bracket : brackets_)
    for (int rung = bracket.first_rung; rung < ladder_.s_max(); ++rung)
      if (promotable(bracket.rungs[size_t(rung)])) return false;
  return true;
}

}  // namespace cohort::tuner
