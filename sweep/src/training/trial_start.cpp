#include "trial_start.h"

#include <filesystem>

#include "cohort/core/run_layout.h"
#include "cohort/sweep/hparams_writer.h"
#include "cohort/trainer/checkpoint.h"

namespace cohort::sweep::detail {
namespace fs = std::filesystem;
namespace {

/// Copies the parent's learning curves into a promoted trial's directory: its
/// metrics.jsonl and the event files of its training (not the parent's HParams
/// session), so the resumed run appends to them.
void copy_parent_curves(const std::string& parent_dir, const std::string& output_dir) {
  const auto copy = [&](const fs::path& from) {
    fs::create_directories(output_dir);
    fs::copy_file(from, fs::path(output_dir) / from.filename(), fs::copy_options::overwrite_existing);
  };
  const auto parent_metrics = run_layout::in(parent_dir, run_layout::kMetrics);
  if (fs::exists(parent_metrics)) copy(parent_metrics);
  for (const auto& entry : fs::directory_iterator(parent_dir)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find("tfevents") != std::string::npos &&
        entry.path().extension() != kHParamsSuffix)
      copy(entry.path());
  }
}

}  // namespace

std::string checkpoint_before(const std::string& run_dir, double budget) {
  if (run_dir.empty()) return "";
  const auto found = trainer::list_checkpoints(run_layout::in(run_dir, run_layout::kCheckpoints));
  for (auto it = found.rbegin(); it != found.rend(); ++it)
    if (*trainer::checkpoint_epochs(*it) < budget - kSameEpochs) return *it;
  return "";
}

TrialStart start_trial(const tuner::Trial& trial, const std::string& trial_dir, const std::string& parent_dir) {
  TrialStart start{checkpoint_before(trial_dir, trial.budget), false};
  if (start.checkpoint.empty() && trial.parent >= 0) {
    start.checkpoint = checkpoint_before(parent_dir, trial.budget);
    start.from_parent = !start.checkpoint.empty();
  }
  // The trial's learning curve starts with its parent's; the resumed run appends to it.
  if (start.from_parent && !trial_dir.empty()) copy_parent_curves(parent_dir, trial_dir);
  return start;
}

Result completed_training(const Json& record, const std::string& metric, const std::string& checkpoint,
                          const Json& extra) {
  const double value = read_metric(record, metric, "the trial's final metrics record");
  Json info = {{"epochs", record.at("epoch")},
               {"steps", record.at("step")},
               {"samples_per_second", record.value("samples_per_second", 0.0)},
               {"start", checkpoint.empty() ? std::string("scratch") : checkpoint}};
  info.update(extra);
  return Result::completed(value, std::move(info));
}

}  // namespace cohort::sweep::detail
