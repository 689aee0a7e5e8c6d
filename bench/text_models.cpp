// Benchmark: Cohort's text models training on padded batches shaped like the
// fortunes corpus (vocabulary 20,000, texts of 10 to 120 tokens, 4 classes,
// batch 64, each batch padded to its longest text), for comparison with the
// same models in PyTorch (bench/peers/pytorch_text.py, same data sizes).
// bench/run_text_benchmarks.sh alternates the two (ABBA) and compares medians.
//
//   build/bin/cohort-bench-text --model embedding_bag|lstm [--examples 12800] [--repeats 3]
//                               [--threads 1] [--batch 64]
//   mpirun -np 2 build/bin/cohort-bench-text --model lstm   (ddp; the global batch is --batch)
//
// Prints one JSON line: {"system": "cohort", "samples_per_second": median, ...}
// after one untimed epoch. The model's step (bag layout or packed sequences)
// is inside the time, as it is in the peer's. On one rank the epochs
// alternate with a hand-written LibTorch loop over the same batches and model
// ("hand_written_samples_per_second"): what Cohort's Trainer costs, apart from
// the difference between LibTorch and PyTorch, measured side by side in one
// process.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/distributed/runtime.h"
#include "cohort/models/embedding_bag.h"
#include "cohort/models/recurrent.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/single.h"
#include "cohort/trainer/trainer.h"
#include "statistics.h"

namespace {

constexpr int64_t kVocab = 20000, kClasses = 4, kShortest = 10, kLongest = 120, kPad = 1;

/// Padded texts held at the longest length; a batch is cut to its own longest
/// text, as a text dataset pads each batch.
class PaddedTexts : public cohort::data::Dataset {
 public:
  explicit PaddedTexts(int64_t size) {
    torch::manual_seed(1234);
    lengths_ = torch::randint(kShortest, kLongest + 1, {size}, torch::kInt64);
    tokens_ = torch::randint(2, kVocab, {size, kLongest}, torch::kInt64);
    tokens_.masked_fill_(torch::arange(kLongest).unsqueeze(0) >= lengths_.unsqueeze(1), kPad);
    targets_ = torch::randint(0, kClasses, {size}, torch::kInt64);
  }
  int64_t size() const override { return tokens_.size(0); }
  int64_t num_classes() const override { return kClasses; }
  cohort::data::Batch get_batch(const torch::Tensor& indices) const override {
    const auto lengths = lengths_.index_select(0, indices);
    const auto longest = indices.numel() ? lengths.max().item<int64_t>() : 1;
    return cohort::data::Batch({{"input", tokens_.index_select(0, indices).narrow(1, 0, longest)},
                                {"lengths", lengths},
                                {"target", targets_.index_select(0, indices)}});
  }

 private:
  torch::Tensor tokens_, lengths_, targets_;
};

torch::nn::AnyModule make_model(const std::string& name) {
  torch::manual_seed(0);
  if (name == "embedding_bag")
    return torch::nn::AnyModule(cohort::models::EmbeddingBagClassifier(
        cohort::models::EmbeddingBagClassifierOptions(kVocab, kClasses).embedding_dim(64)));
  return torch::nn::AnyModule(cohort::models::RecurrentClassifier(
      cohort::models::RecurrentClassifierOptions(kVocab, kClasses).embedding_dim(64).hidden(128)));
}

std::shared_ptr<cohort::strategy::Strategy> make_strategy() {
  if (cohort::distributed::world_size() > 1)
    return std::make_shared<cohort::strategies::Ddp>(cohort::strategies::DdpOptions().device(torch::kCPU));
  return std::make_shared<cohort::strategies::Single>();
}

/// One epoch of `model_name` through the Trainer; samples per second over all ranks.
double epoch(const std::shared_ptr<PaddedTexts>& data, const std::string& model_name, int64_t batch, uint64_t seed) {
  auto model = make_model(model_name);
  auto optimizer = std::make_shared<torch::optim::SGD>(model.ptr()->parameters(), torch::optim::SGDOptions(0.1));
  // Under ddp the trainer deals the loader's batches out to the ranks: each
  // rank's share of the global batch.
  const auto per_rank = batch / cohort::distributed::world_size();
  cohort::data::DataLoader loader(data, cohort::data::DataLoaderOptions().batch_size(per_rank).seed(seed));
  cohort::trainer::Trainer trainer(model, optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(1)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .strategy(make_strategy())
                                       .task(cohort::task::Task().inputs({"input", "lengths"}))
                                       .checkpoint_every(0));
  return trainer.fit(loader).back().samples_per_second;
}

/// One epoch of the loop everybody writes by hand: the same batches (the
/// dataset's get_batch on a seeded order), model and optimizer, the loss read
/// back each step as Cohort's metrics do; samples per second.
double hand_written_epoch(const PaddedTexts& data, const std::string& model_name, int64_t batch, uint64_t seed) {
  auto model = make_model(model_name);
  torch::optim::SGD optimizer(model.ptr()->parameters(), torch::optim::SGDOptions(0.1));
  const auto order = torch::tensor(cohort::data::seeded_permutation(data.size(), seed));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < data.size(); first += batch) {
    const auto texts = data.get_batch(order.slice(0, first, std::min(first + batch, data.size())));
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model.forward(texts.data, texts.at("lengths")), texts.target);
    loss.backward();
    optimizer.step();
    volatile double keep = loss.item<double>();
    (void)keep;
  }
  return double(data.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  cohort::distributed::initialize(&argc, &argv);
  std::string model = "embedding_bag";
  int64_t examples = 12800, batch = 64;
  int repeats = 3, threads = 1;
  CLI::App app{"Cohort's text models on padded batches shaped like the fortunes corpus."};
  app.add_option("--model", model, "embedding_bag or lstm")->check(CLI::IsMember({"embedding_bag", "lstm"}));
  app.add_option("--examples", examples, "texts per epoch");
  app.add_option("--repeats", repeats, "timed epochs (after one untimed)");
  app.add_option("--threads", threads, "LibTorch threads per rank");
  app.add_option("--batch", batch, "batch size over all ranks");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  spdlog::set_level(spdlog::level::warn);

  const auto data = std::make_shared<PaddedTexts>(examples);
  epoch(data, model, batch, 99);  // warm-up: allocator, page cache
  const bool alone = cohort::distributed::world_size() == 1;
  std::vector<double> rates, hand;
  for (int r = 0; r < repeats; ++r) {
    // Alternate which goes first, so neither always inherits the other's warm caches.
    if (alone && r % 2 == 0) hand.push_back(hand_written_epoch(*data, model, batch, uint64_t(r)));
    rates.push_back(epoch(data, model, batch, uint64_t(r)));
    if (alone && r % 2 == 1) hand.push_back(hand_written_epoch(*data, model, batch, uint64_t(r)));
  }
  nlohmann::json result{{"system", "cohort"},
                        {"model", model},
                        {"ranks", cohort::distributed::world_size()},
                        {"threads", threads},
                        {"batch", batch},
                        {"examples", examples},
                        {"samples_per_second", cohort::bench::median(rates)},
                        {"runs", rates}};
  if (alone) {
    result["hand_written_samples_per_second"] = cohort::bench::median(hand);
    result["hand_written_runs"] = hand;
  }
  if (cohort::distributed::world_rank() == 0) std::cout << result.dump() << std::endl;
  return 0;
}
