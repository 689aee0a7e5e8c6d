#include "cohort/sweep/sweep_outputs.h"

#include <algorithm>
#include <filesystem>

#include "cohort/config/config.h"
#include "cohort/core/files.h"
#include "cohort/tuner/report/report.h"
#include "cohort/tuner/study/outputs.h"
#include "cohort/core/run_layout.h"

namespace cohort::sweep {
namespace {

std::string trial_metrics(const std::string& output_dir, int64_t id) {
  return run_layout::in(run_layout::trial_dir(output_dir, id), run_layout::kMetrics);
}

}  // namespace

SweepOutputs::SweepOutputs(const SweepConfig& sweep)
    : sweep_(sweep), started_(wall_clock_seconds()) {
  const auto logging = sweep.base.value("logging", Json::object());
  if (!sweep.output_dir.empty() && logging.value("tensorboard", true)) hparams_.emplace(sweep);
}

std::string SweepOutputs::objective_name() const {
  return sweep_.objective.function.empty() ? sweep_.objective.metric : sweep_.objective.function;
}

void SweepOutputs::write(const Study& study) {
  write_outputs(study, sweep_.output_dir);
  write_best(study);
  write_report(study);
  if (hparams_) hparams_->write(study);
}

void SweepOutputs::write_best(const Study& study) const {
  const auto best = study.best();
  if (!best) return;
  // write_outputs() wrote best.json; it gains the objective and what reproduces the trial.
  const auto path = run_layout::in(sweep_.output_dir, run_layout::kBest);
  Json record = config::read_json_file(path);
  record["objective"] = objective_name();
  record["mode"] = sweep_.objective.direction == Direction::kMaximize ? "max" : "min";
  const auto training = sweep_.training_config(best->trial);
  if (!training.empty()) record["training_config"] = training;
  write_file_atomically(path, record.dump(2) + "\n");
}

void SweepOutputs::write_report(const Study& study) {
  report::ReportInput input;
  input.title = std::filesystem::path(sweep_.source).filename().string();
  input.objective = objective_name();
  input.direction = sweep_.objective.direction;
  input.space = &sweep_.space;
  input.started = study.trials().empty() ? started_ : std::min(started_, study.trials().begin()->second.submitted);
  for (const auto& [id, record] : study.trials()) {
    const bool running = record.state == TrialState::kRunning || record.state == TrialState::kPending;
    auto cached = finished_curves_.find(id);
    if (cached == finished_curves_.end()) {
      auto curve = report::read_curve(trial_metrics(sweep_.output_dir, id));
      if (running) {
        input.trials.push_back({record, std::move(curve)});
        continue;
      }
      cached = finished_curves_.emplace(id, std::move(curve)).first;
    }
    input.trials.push_back({record, cached->second});
  }
  report::write_report(run_layout::in(sweep_.output_dir, run_layout::kReport), input);
}

}  // namespace cohort::sweep
