#pragma once
// Writes a run's curves as TensorBoard event files in its output directory:
// every numeric key of every epoch record (losses, the task's metrics, lr,
// samples/s, the memory figures as "memory/cpu_rss_mb", ...) at the record's
// step, and the training loss and learning rate of every `log_every`-th step
// as "step/train_loss" and "step/lr". Only the writer rank writes; the file is
// flushed after every epoch and at the end of fit().
//
// A resumed run opens a new file in the same directory and writes only steps
// after the one it resumed at, so the curves continue without a duplicate
// point (a run killed after its last checkpoint leaves later points in the old
// file; TensorBoard drops those when the resumed file goes back before them).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>

#include "cohort/tensorboard/event_writer.h"
#include "cohort/trainer/callback.h"

namespace cohort::trainer {

struct TensorBoardOptions {
  /// Steps between per-step points; 0: the trainer's log_every.
  TORCH_ARG(int64_t, log_every) = 0;
};

class TensorBoardCallback : public Callback {
 public:
  explicit TensorBoardCallback(TensorBoardOptions options = TensorBoardOptions());

  std::string name() const override { return "tensorboard"; }
  void on_fit_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, const StepEnd& step) override;
  void on_epoch_end(Trainer& trainer, const nlohmann::json& record) override;
  void on_fit_end(Trainer& trainer) override;

  /// The file written to ("" before fit() or on a rank that does not write).
  std::string path() const { return writer_ ? writer_->path() : ""; }

 private:
  TensorBoardOptions options_;
  std::unique_ptr<tensorboard::EventWriter> writer_;
  int64_t log_every_ = 0;
  /// Points at or before this step were written before a resume.
  int64_t first_new_step_ = 1;
};

/// The numeric values of a record with their tags: nested objects and arrays
/// flattened with "/" ({"memory": {"cpu_rss_mb": 1}} -> "memory/cpu_rss_mb");
/// strings, booleans and `skip`ped top-level keys are left out.
std::vector<std::pair<std::string, double>> record_scalars(const nlohmann::json& record,
                                                           const std::vector<std::string>& skip = {"step"});

}  // namespace cohort::trainer
