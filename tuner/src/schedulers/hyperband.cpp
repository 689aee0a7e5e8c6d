#include "cohort/tuner/schedulers/hyperband.h"

#include <algorithm>
#include <utility>

namespace cohort::tuner {

/// One bracket: its plan, its current rung, and the rung's results so far.
class HyperbandScheduler::Bracket {
 public:
  Bracket(int index, std::vector<RungPlan> plan) : index_(index), plan_(std::move(plan)) {
    to_sample_ = plan_.front().configs;
  }

  std::optional<Slot> next(const NewConfig& new_config, bool& exhausted) {
    if (done_) return std::nullopt;
    if (to_sample_ > 0 && !exhausted) {
      if (const auto id = new_config(plan_[rung_].budget)) {
        --to_sample_;
        return hand_out(*id);
      }
      exhausted = true;
    }
    if (to_sample_ > 0) {
      // The sampler ran out (a finished grid): the first rung is what was handed out.
      to_sample_ = 0;
      advance_if_complete();
    }
    if (done_ || queue_.empty()) return std::nullopt;
    const int64_t config = queue_.front();
    queue_.pop_front();
    return hand_out(config);
  }

  void report(const Slot& slot, std::optional<double> loss) {
    --outstanding_;
    if (loss) results_.push_back({*loss, order_++, slot.config_id});
    advance_if_complete();
  }

  /// Configurations dropped at the rungs closed since the last call.
  std::vector<int64_t> drain_pruned() { return std::exchange(pruned_, {}); }

  bool done() const { return done_; }
  int index() const { return index_; }

 private:
  struct Outcome {
    double loss;
    int64_t order;  // breaks ties by arrival, so the result does not depend on sort stability
    int64_t config;
  };

  Slot hand_out(int64_t config) {
    ++outstanding_;
    return Slot{config, plan_[rung_].budget, index_, rung_};
  }

  /// Closes the rung once every configuration in it has reported: the best
  /// go on, the rest are pruned (at the last rung all simply finish).
  void advance_if_complete() {
    if (to_sample_ > 0 || !queue_.empty() || outstanding_ > 0) return;
    std::sort(results_.begin(), results_.end(), [](const Outcome& a, const Outcome& b) {
      return a.loss < b.loss || (a.loss == b.loss && a.order < b.order);
    });
    const bool last = rung_ + 1 >= int(plan_.size());
    const size_t keep = last ? 0 : std::min<size_t>(size_t(plan_[rung_ + 1].configs), results_.size());
    for (size_t i = 0; i < results_.size(); ++i) {
      if (i < keep) {
        queue_.push_back(results_[i].config);
      } else if (!last) {
        pruned_.push_back(results_[i].config);
      }
    }
    results_.clear();
    if (keep == 0) {
      done_ = true;
      return;
    }
    ++rung_;
  }

  int index_;
  std::vector<RungPlan> plan_;
  int rung_ = 0;
  int64_t to_sample_ = 0;
  int64_t outstanding_ = 0;
  int64_t order_ = 0;
  std::deque<int64_t> queue_;
  std::vector<Outcome> results_;
  std::vector<int64_t> pruned_;
  bool done_ = false;
};

namespace {

std::vector<int> all_brackets(const BudgetLadder& ladder) {
  std::vector<int> cycle;
  for (int s = ladder.s_max(); s >= 0; --s) cycle.push_back(s);
  return cycle;
}

}  // namespace

HyperbandScheduler::HyperbandScheduler(HyperbandOptions options)
    : HyperbandScheduler(options, all_brackets(BudgetLadder(options.min_budget(), options.max_budget(), options.eta()))) {}

HyperbandScheduler::HyperbandScheduler(HyperbandOptions options, std::vector<int> cycle)
    : options_(options),
      ladder_(options.min_budget(), options.max_budget(), options.eta()),
      cycle_(std::move(cycle)) {}

HyperbandScheduler::~HyperbandScheduler() = default;

bool HyperbandScheduler::open_bracket() {
  const auto opened = int64_t(brackets_.size());
  if (exhausted_ || (options_.max_brackets() > 0 && opened >= options_.max_brackets())) return false;
  const int s = cycle_[size_t(opened) % cycle_.size()];
  brackets_.push_back(std::make_unique<Bracket>(int(opened), hyperband_bracket(ladder_, s)));
  return true;
}

std::optional<Slot> HyperbandScheduler::next(const NewConfig& new_config) {
  // Earlier brackets first: finishing them is what produces results.
  for (auto& bracket : brackets_)
    if (auto slot = bracket->next(new_config, exhausted_)) return slot;
  while (open_bracket())
    if (auto slot = brackets_.back()->next(new_config, exhausted_)) return slot;
  return std::nullopt;
}

void HyperbandScheduler::report(const Slot& slot, std::optional<double> loss) {
  brackets_.at(size_t(slot.bracket))->report(slot, loss);
}

bool HyperbandScheduler::finished() const {
  const bool no_more_brackets =
      exhausted_ || (options_.max_brackets() > 0 && int64_t(brackets_.size()) >= options_.max_brackets());
  return no_more_brackets && std::all_of(brackets_.begin(), brackets_.end(), [](const auto& b) { return b->done(); });
}

std::vector<int64_t> HyperbandScheduler::drain_pruned() {
  std::vector<int64_t> pruned;
  for (auto& bracket : brackets_) {
    const auto dropped = bracket->drain_pruned();
    pruned.insert(pruned.end(), dropped.begin(), dropped.end());
  }
  return pruned;
}

SuccessiveHalvingScheduler::SuccessiveHalvingScheduler(HyperbandOptions options)
    : HyperbandScheduler(options, {BudgetLadder(options.min_budget(), options.max_budget(), options.eta()).s_max()}) {}

}  // namespace cohort::tuner
