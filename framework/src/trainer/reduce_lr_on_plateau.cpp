#include "cohort/trainer/reduce_lr_on_plateau.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include "cohort/trainer/trainer.h"

namespace cohort::trainer {

ReduceLrOnPlateau::ReduceLrOnPlateau(ReduceLrOnPlateauOptions options)
    : options_(std::move(options)),
      watch_(MetricWatchOptions(options_.metric()).mode(options_.mode()).min_delta(options_.min_delta())) {
  if (!(options_.factor() > 0.0 && options_.factor() < 1.0))
    throw std::invalid_argument(fmt::format("reduce-on-plateau needs a factor in (0, 1), not {}", options_.factor()));
  if (options_.patience() < 0)
    throw std::invalid_argument(fmt::format("reduce-on-plateau needs a patience >= 0, not {}", options_.patience()));
}

void ReduceLrOnPlateau::on_fit_begin(Trainer& trainer) { trainer.set_lr_scale(scale_); }

void ReduceLrOnPlateau::on_epoch_end(Trainer& trainer, const nlohmann::json& record) {
  watch_.update(record);
  if (watch_.epochs_without_improvement() <= options_.patience()) return;
  const double lowered = std::max(options_.min_scale(), scale_ * options_.factor());
  watch_.restart_count();
  if (lowered >= scale_) return;
  scale_ = lowered;
  trainer.set_lr_scale(scale_);
  if (trainer.is_writer())
    trainer.logger()->info("reduce-on-plateau: {} has not improved for {} epochs; the learning rate is now {:.4g} "
                           "times the schedule's",
                           options_.metric(), options_.patience() + 1, scale_);
}

nlohmann::json ReduceLrOnPlateau::state() const {
  auto state = watch_.state();
  state["scale"] = scale_;
  return state;
}

void ReduceLrOnPlateau::load_state(const nlohmann::json& state) {
  watch_.load_state(state);
  if (state.is_object()) scale_ = state.value("scale", 1.0);
}

}  // namespace cohort::trainer
