#include "cohort/trainer/tensorboard_callback.h"

#include <algorithm>

#include "cohort/trainer/trainer.h"

namespace cohort::trainer {
namespace {

void flatten(const std::string& tag, const nlohmann::json& value, std::vector<std::pair<std::string, double>>& out) {
  if (value.is_number()) {
    out.emplace_back(tag, value.get<double>());
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) flatten(tag.empty() ? key : tag + "/" + key, item, out);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) flatten(tag + "/" + std::to_string(i), value[i], out);
  }
}

}  // namespace

std::vector<std::pair<std::string, double>> record_scalars(const nlohmann::json& record,
                                                           const std::vector<std::string>& skip) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : record.items())
    if (std::find(skip.begin(), skip.end(), key) == skip.end()) flatten(key, value, out);
  return out;
}

TensorBoardCallback::TensorBoardCallback(TensorBoardOptions options) : options_(options) {}

void TensorBoardCallback::on_fit_begin(Trainer& trainer) {
  const auto& directory = trainer.options().output_dir();
  if (!trainer.is_writer() || directory.empty()) return;
  log_every_ = options_.log_every() > 0 ? options_.log_every() : trainer.options().log_every();
  first_new_step_ = trainer.steps_done() + 1;
  // A second fit() of the same trainer appends to the file it already has.
  if (!writer_) writer_ = std::make_unique<tensorboard::EventWriter>(tensorboard::EventWriterOptions(directory));
}

void TensorBoardCallback::on_step_end(Trainer& /*trainer*/, const StepEnd& step) {
  if (!writer_ || step.skipped || log_every_ <= 0 || step.step % log_every_ != 0) return;
  if (step.step < first_new_step_) return;
  writer_->add_scalar("step/train_loss", step.loss, step.step);
  writer_->add_scalar("step/lr", step.learning_rate, step.step);
}

void TensorBoardCallback::on_epoch_end(Trainer& /*trainer*/, const nlohmann::json& record) {
  if (!writer_) return;
  const auto step = record.at("step").get<int64_t>();
  if (step < first_new_step_) return;
  const double wall_time = tensorboard::EventWriter::now();
  for (const auto& [tag, value] : record_scalars(record)) writer_->add_scalar(tag, value, step, wall_time);
  writer_->flush();
}

void TensorBoardCallback::on_fit_end(Trainer& /*trainer*/) {
  if (writer_) writer_->flush();
}

}  // namespace cohort::trainer
