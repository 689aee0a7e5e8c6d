// Benchmark: Cohort's Trainer against a minimal hand-written LibTorch loop on
// the same job (Fashion-MNIST MLP 784-256-256-10, SGD with momentum, batch 64,
// one thread). The two alternate (ABBA), one epoch each, and the medians are compared:
// the design's target is Cohort within 2% of the hand-written loop.
//
//   build/bin/cohort-bench-single [--repeats 5] [--threads 1] [--batch 64]
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/fashion_mnist.h"
#include "cohort/models/mlp.h"
#include "cohort/trainer/trainer.h"
#include "statistics.h"

namespace {

using Clock = std::chrono::steady_clock;
using cohort::bench::median;

cohort::models::Mlp make_model() {
  torch::manual_seed(0);
  return cohort::models::Mlp(cohort::models::MlpOptions(784, 10).hidden({256, 256}));
}

std::shared_ptr<torch::optim::SGD> make_optimizer(cohort::models::Mlp& model) {
  return std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
}

/// One epoch of the loop everybody writes by hand; returns samples per second.
double hand_written_epoch(const cohort::data::TensorDataset& data, int64_t batch, uint64_t seed) {
  auto model = make_model();
  auto optimizer = make_optimizer(model);
  const auto order = torch::tensor(cohort::data::seeded_permutation(data.size(), seed));
  const auto start = Clock::now();
  for (int64_t first = 0; first < data.size(); first += batch) {
    const auto indices = order.slice(0, first, std::min(first + batch, data.size()));
    const auto input = data.data().index_select(0, indices);
    const auto target = data.targets().index_select(0, indices);
    optimizer->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(input), target);
    loss.backward();
    optimizer->step();
    volatile double keep = loss.item<double>();  // the same per-step read-back Cohort's metrics make
    (void)keep;
  }
  return double(data.size()) / std::chrono::duration<double>(Clock::now() - start).count();
}

/// One epoch through cohort::trainer::Trainer; returns its samples per second.
double cohort_epoch(const std::shared_ptr<cohort::data::TensorDataset>& data, int64_t batch, uint64_t seed) {
  auto model = make_model();
  auto optimizer = make_optimizer(model);
  cohort::data::DataLoader loader(data, cohort::data::DataLoaderOptions().batch_size(batch).seed(seed));
  cohort::trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                                   cohort::trainer::TrainerOptions().epochs(1).progress(
                                       cohort::trainer::ProgressStyle::kNone));
  return trainer.fit(loader).back().samples_per_second;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5, threads = 1;
  int64_t batch = 64;
  CLI::App app{"Cohort's Trainer against a hand-written LibTorch loop, side by side."};
  app.add_option("--repeats", repeats, "epochs of each, alternating");
  app.add_option("--threads", threads, "LibTorch threads");
  app.add_option("--batch", batch, "batch size");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  spdlog::set_level(spdlog::level::warn);

  const auto data = cohort::data::load_fashion_mnist(cohort::data::kFashionMnistDirectory,
                                                     cohort::data::FashionMnistSplit::kTrain);
  std::vector<double> hand, ours;
  hand_written_epoch(*data, batch, 99);  // warm-up: allocator, kernels, page cache
  for (int r = 0; r < repeats; ++r) {
    // Alternate which goes first, so neither always inherits the other's warm caches.
    if (r % 2 == 0) hand.push_back(hand_written_epoch(*data, batch, r));
    ours.push_back(cohort_epoch(data, batch, r));
    if (r % 2 == 1) hand.push_back(hand_written_epoch(*data, batch, r));
  }
  const nlohmann::json result = {{"benchmark", "single_rank_mlp"},
                                 {"threads", threads},
                                 {"batch", batch},
                                 {"repeats", repeats},
                                 {"hand_written_samples_per_second", median(hand)},
                                 {"cohort_samples_per_second", median(ours)},
                                 {"cohort_over_hand_written", median(ours) / median(hand)}};
  std::cout << result.dump() << std::endl;
  return 0;
}
