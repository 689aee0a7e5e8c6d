#pragma once
// Shared by the memory tests: log capture, flat parameters, CUDA presence.

#include <algorithm>
#include <memory>
#include <vector>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/job/training_job.h"
#include "helpers.h"

namespace cohort::testing {

/// Collects what the default logger writes (at `level` and above) while it lives.
class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level = spdlog::level::info)
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)), previous_(spdlog::default_logger()->level()) {
    sink_->set_pattern("[%l] %v");
    sink_->set_level(level);
    // The other sinks keep showing what they showed; only this one sees the extra lines.
    for (auto& sink : spdlog::default_logger()->sinks()) {
      sink_levels_.push_back(sink->level());
      sink->set_level(std::max(sink->level(), previous_));
    }
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->set_level(std::min(level, previous_));
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    for (size_t i = 0; i < sinks.size() && i < sink_levels_.size(); ++i) sinks[i]->set_level(sink_levels_[i]);
    spdlog::default_logger()->set_level(previous_);
  }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum previous_;
  std::vector<spdlog::level::level_enum> sink_levels_;
};

/// True where a CUDA device is there; else says why the test did nothing.
inline bool have_cuda() { return torch::cuda::is_available(); }

}  // namespace cohort::testing

#include "cohort/data/data_loader.h"
#include "cohort/data/synthetic.h"
#include "cohort/models/mlp.h"
#include "cohort/strategies/single.h"
#include "cohort/trainer/trainer.h"

namespace cohort::testing {

/// A trainer built from parts, for tests that need their own loss function.
struct SmallRun {
  std::unique_ptr<data::DataLoader> loader;
  std::unique_ptr<trainer::Trainer> trainer;
};

struct SmallRunOptions {
  TORCH_ARG(int64_t, samples) = 256;
  TORCH_ARG(int64_t, features) = 12;
  TORCH_ARG(int64_t, classes) = 3;
  TORCH_ARG(int64_t, batch_size) = 32;
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{24};
  TORCH_ARG(int64_t, epochs) = 1;
  TORCH_ARG(double, lr) = 0.05;
  TORCH_ARG(trainer::StepOptions, step) = {};
  TORCH_ARG(memory::LeakDetectorOptions, leak_check) = memory::LeakDetectorOptions().every(0);
  TORCH_ARG(std::string, device) = "cpu";
  TORCH_ARG(std::string, output_dir) = "";
  TORCH_ARG(int64_t, checkpoint_every) = 0;
  TORCH_ARG(trainer::Callbacks, callbacks) = {};
};

/// Seeded: two runs with the same options start from the same weights and see the same batches.
inline SmallRun small_run(const strategy::LossFn& loss, const SmallRunOptions& options = {}) {
  torch::manual_seed(3);
  auto data = data::make_synthetic(data::SyntheticOptions()
                                       .num_samples(options.samples())
                                       .num_classes(options.classes())
                                       .sample_shape({options.features()})
                                       .noise(0.5)
                                       .seed(5));
  SmallRun run;
  run.loader = std::make_unique<data::DataLoader>(
      data, data::DataLoaderOptions().batch_size(options.batch_size()).num_workers(0).seed(5));
  models::Mlp model(models::MlpOptions(options.features(), options.classes()).hidden(options.hidden()));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(options.lr()).momentum(0.9));
  auto strategy = std::make_shared<strategies::Single>(strategies::SingleOptions().device(torch::Device(options.device())));
  run.trainer = std::make_unique<trainer::Trainer>(torch::nn::AnyModule(model), optimizer,
                                                   trainer::TrainerOptions()
                                                       .epochs(options.epochs())
                                                       .progress(trainer::ProgressStyle::kNone)
                                                       .checkpoint_every(options.checkpoint_every())
                                                       .callbacks(options.callbacks())
                                                       .output_dir(options.output_dir())
                                                       .strategy(strategy)
                                                       .loss(loss)
                                                       .step(options.step())
                                                       .leak_check(options.leak_check()));
  return run;
}

}  // namespace cohort::testing
