#include "cohort/tuner/schedulers/asha.h"

#include <algorithm>

namespace cohort::tuner {

AshaScheduler::AshaScheduler(AshaOptions options)
    : ladder_(options.min_budget(), options.max_budget(), options.eta()), rungs_(size_t(ladder_.s_max()) + 1) {}

std::optional<int64_t> AshaScheduler::promotable(int rung) const {
  const auto& entries = rungs_[size_t(rung)].completed;
  const size_t top = entries.size() / size_t(ladder_.eta());
  for (size_t i = 0; i < top; ++i)
    if (!rungs_[size_t(rung)].promoted.count(entries[i].config)) return entries[i].config;
  return std::nullopt;
}

std::optional<Slot> AshaScheduler::next(const NewConfig& new_config) {
  const auto& budgets = ladder_.budgets();
  for (int rung = int(rungs_.size()) - 2; rung >= 0; --rung) {
    if (const auto config = promotable(rung)) {
      rungs_[size_t(rung)].promoted.insert(*config);
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
  auto& entries = rungs_.at(size_t(slot.rung)).completed;
  const Rung::Entry entry{*loss, order_++, slot.config_id};
  const auto at = std::upper_bound(entries.begin(), entries.end(), entry, [](const auto& a, const auto& b) {
    return a.loss < b.loss || (a.loss == b.loss && a.order < b.order);
  });
  entries.insert(at, entry);
}

bool AshaScheduler::finished() const {
  if (!exhausted_ || outstanding_ > 0) return false;
  for (int rung = 0; rung + 1 < int(rungs_.size()); ++rung)
    if (promotable(rung)) return false;
  return true;
}

}  // namespace cohort::tuner
