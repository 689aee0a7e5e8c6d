#include "cohort/tuner/schedulers/asha.h"

#include <algorithm>

namespace cohort::tuner {

AshaScheduler::AshaScheduler(AshaOptions options)
    : options_(options),
      ladder_(options.min_budget(), options.max_budget(), options.eta()),
      rungs_(size_t(ladder_.s_max()) + 1) {}

std::optional<int64_t> AshaScheduler::promotable(int rung) const {
  const auto& state = rungs_[size_t(rung)];
  const size_t top = state.completed.size() / size_t(ladder_.eta());
  if (options_.promotion_quota() && state.promoted.size() >= top) return std::nullopt;
  if (state.first_unpromoted < top) return state.completed[state.first_unpromoted].config;
  return std::nullopt;
}

std::optional<Slot> AshaScheduler::next(const NewConfig& new_config) {
  const auto& budgets = ladder_.budgets();
  for (int rung = int(rungs_.size()) - 2; rung >= 0; --rung) {
    if (const auto config = promotable(rung)) {
      auto& state = rungs_[size_t(rung)];
      state.promoted.insert(*config);
      while (state.first_unpromoted < state.completed.size() &&
             state.promoted.count(state.completed[state.first_unpromoted].config))
        ++state.first_unpromoted;
      ++outstanding_;
      return Slot{*config, budgets[size_t(rung) + 1], 0, rung + 1};
    }
  }
  if (exhausted_) return std::nullopt;
  const auto config = new_config(budgets.front());
  if (!config) {
    exhausted_ = true;
    return std::nullopt;
  }
  ++outstanding_;
  return Slot{*config, budgets.front(), 0, 0};
}

void AshaScheduler::report(const Slot& slot, std::optional<double> loss) {
  --outstanding_;
  if (!loss) return;  // a configuration that failed for good is never promoted
  auto& state = rungs_.at(size_t(slot.rung));
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
  for (int rung = 0; rung + 1 < int(rungs_.size()); ++rung)
    if (promotable(rung)) return false;
  return true;
}

}  // namespace cohort::tuner
