#pragma once
// A small regression, as research code would bring it: its own data (a
// TensorDataset of {N, 4} inputs and {N, 1} float targets), its own module,
// and a Trainer over them. Shared by the task, callback and ddp tests.

#include <memory>
#include <string>

#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/dataset.h"
#include "cohort/strategies/single.h"
#include "cohort/task/losses.h"
#include "cohort/task/metrics.h"
#include "cohort/trainer/trainer.h"

namespace cohort::testing {

/// y = x·w + 0.1 noise, the same for a given seed on every rank.
inline std::shared_ptr<data::TensorDataset> regression_data(int64_t size, uint64_t seed = 5) {
  auto generator = at::detail::createCPUGenerator(seed);
  const auto x = torch::randn({size, 4}, generator);
  const auto w = torch::tensor({{1.5}, {-2.0}, {0.5}, {1.0}});
  const auto y = x.matmul(w) + 0.1 * torch::randn({size, 1}, generator);
  return std::make_shared<data::TensorDataset>(x, y);
}

inline data::DataLoader regression_loader(int64_t size, int64_t batch, bool shuffle = true, uint64_t seed = 5) {
  return data::DataLoader(regression_data(size, seed),
                          data::DataLoaderOptions().batch_size(batch).shuffle(shuffle).seed(seed));
}

/// The user's own module: 4 inputs, a tanh layer of `hidden`, 1 output.
struct RegressionNetImpl : torch::nn::Module {
  explicit RegressionNetImpl(int64_t hidden)
      : hidden(register_module("hidden", torch::nn::Linear(4, hidden))),
        out(register_module("out", torch::nn::Linear(hidden, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) { return out(torch::tanh(hidden(x))); }
  torch::nn::Linear hidden, out;
};
TORCH_MODULE(RegressionNet);

/// A RegressionNet of width `hidden`, the same for a given seed.
inline RegressionNet regression_model(int64_t hidden = 16, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return RegressionNet(hidden);
}

/// Huber loss with R², MSE and MAE: the task of the regression.
inline task::Task regression_task() {
  return task::Task(task::huber_loss)
      .metrics({task::r2_score(), task::mean_squared_error(), task::mean_absolute_error()});
}

/// TrainerOptions for the regression on one process, quiet.
inline trainer::TrainerOptions regression_options(int64_t epochs = 3) {
  return trainer::TrainerOptions()
      .epochs(epochs)
      .strategy(std::make_shared<strategies::Single>())
      .task(regression_task())
      .progress(trainer::ProgressStyle::kNone);
}

/// A Trainer of `model` with SGD (lr 0.05) under `options`.
inline trainer::Trainer regression_trainer(RegressionNet model, trainer::TrainerOptions options) {
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05));
  return trainer::Trainer(torch::nn::AnyModule(model), optimizer, std::move(options));
}

}  // namespace cohort::testing
