#include "cohort/trainer/early_stopping.h"

#include <stdexcept>

#include <fmt/format.h>

#include "cohort/trainer/trainer.h"

namespace cohort::trainer {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(std::move(options)),
      watch_(MetricWatchOptions(options_.metric()).mode(options_.mode()).min_delta(options_.min_delta())) {
  if (options_.patience() < 1)
    throw std::invalid_argument(fmt::format("early stopping needs a patience of at least 1 epoch, not {}",
                                            options_.patience()));
}

std::string EarlyStopping::reason() const {
  return fmt::format("early stopping: {} has not improved on {:.6g} for {} epochs", options_.metric(),
                     watch_.best().value_or(0.0), watch_.epochs_without_improvement());
}

void EarlyStopping::on_fit_begin(Trainer& trainer) {
  if (stopped_) trainer.request_stop(reason());
}

void EarlyStopping::on_epoch_end(Trainer& trainer, const nlohmann::json& record) {
  watch_.update(record);
  if (watch_.epochs_without_improvement() < options_.patience()) return;
  stopped_ = true;
  trainer.request_stop(reason());
}

nlohmann::json EarlyStopping::state() const {
  auto state = watch_.state();
  state["stopped"] = stopped_;
  return state;
}

void EarlyStopping::load_state(const nlohmann::json& state) {
  watch_.load_state(state);
  stopped_ = state.is_object() && state.value("stopped", false);
}

}  // namespace cohort::trainer
