#pragma once
// A whole training job built from one validated JSON config: data, model,
// optimizer, schedule, strategy and trainer. What cohort-train runs.

#include <memory>
#include <string>
#include <vector>

#include "cohort/config/schema.h"
#include "cohort/data/data_loader.h"
#include "cohort/data/registry.h"
#include "cohort/job/job_context.h"
#include "cohort/trainer/trainer.h"

namespace cohort::job {

/// Every key a training config may have, with defaults and meaning.
config::Schema training_schema();

/// The strategy of `config` (validated by training_schema()) over
/// `context.ranks`. Collective over those ranks (strategies split
/// communicators): every rank calls it. A setting that does not fit the job
/// (e.g. a pipeline's stages x data_parallel against the number of ranks)
/// throws cohort::InputError on every rank alike, before any training starts,
/// naming `source` and the key; cohort-train agrees on it.
std::shared_ptr<strategy::Strategy> make_strategy(const config::Json& config, const std::string& source,
                                                  const JobContext& context);

/// The task of a config: cross entropy with trainer.metrics (accuracy when
/// the key is absent), the model taking the batch tensors `inputs` (the
/// dataset's input_names(): {"input", "lengths"} for text). A name
/// that is no metric raises cohort::InputError naming "trainer.metrics".
task::Task make_task(const config::Json& config,
                     std::vector<std::string> inputs = {data::Batch::kInput});

/// An epoch record with every key a job under `config` may write (values
/// zero: validation and fp16 keys included), from the trainer itself: what
/// metric names given before training (early stopping's, a sweep's
/// objective) are checked against.
nlohmann::json example_record(const config::Json& config);

class TrainingJob {
 public:
  /// `config` must have passed training_schema().validate(). Seeds LibTorch,
  /// sets the thread count, loads the data and builds everything else.
  /// `source` (the config's file name) starts every error message, which is a
  /// cohort::InputError for bad input such as a missing data file.
  /// The job runs on `context.ranks` and logs to `context.logger` (by
  /// default every rank of the launch and the default logger).
  /// `strategy`, when given, must have been built from this config and
  /// context by make_strategy(); otherwise the job builds it.
  TrainingJob(config::Json config, std::string source, JobContext context = JobContext::world(),
              std::shared_ptr<strategy::Strategy> strategy = nullptr);

  /// Continues from a checkpoint file, or the newest one in a directory. For
  /// text, a checkpoint with another vocabulary is refused (InputError naming it).
  void resume(const std::string& checkpoint);

  /// Trains for the configured epochs, or as far as `options` say (a
  /// fractional budget, a stop condition); writes output_dir/config.json (and
  /// for text vocabulary.json) first.
  std::vector<trainer::EpochResult> fit(const trainer::FitOptions& options = {});

  /// Loss and the task's metrics on the test split.
  trainer::Stats test();

  trainer::Trainer& trainer() { return *trainer_; }
  const data::DataSplits& data() const { return data_; }
  const config::Json& config() const { return config_; }

 private:
  template <typename Build>
  auto named(Build&& build) -> decltype(build());

  config::Json config_;
  std::string source_;
  JobContext context_;
  data::DataSplits data_;
  std::unique_ptr<data::DataLoader> train_loader_;
  std::unique_ptr<data::DataLoader> validation_loader_;
  std::unique_ptr<data::DataLoader> test_loader_;
  std::unique_ptr<trainer::Trainer> trainer_;
};

}  // namespace cohort::job
