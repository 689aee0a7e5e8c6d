// A text model under ddp (issue 15): embedding_bag trained on padded token
// ids with their lengths, N ranks with batch B/N against one process with
// batch B. The bag layout is built inside the model from each rank's own
// rows, so cutting a padded batch along its first dimension is all ddp needs.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/distributed/runtime.h"
#include "cohort/models/embedding_bag.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/single.h"
#include "cohort/trainer/trainer.h"
#include "unit/helpers.h"

namespace distributed = cohort::distributed;
namespace models = cohort::models;

namespace {

constexpr int64_t kVocab = 50, kClasses = 3, kLongest = 12, kPad = 1;

/// 96 texts of 1..12 ids, padded with kPad to 12, labelled by their first word.
std::shared_ptr<cohort::data::TensorDataset> padded_texts() {
  torch::manual_seed(21);
  const auto lengths = torch::randint(1, kLongest + 1, {96}, torch::kInt64);
  auto tokens = torch::randint(2, kVocab, {96, kLongest}, torch::kInt64);
  tokens.masked_fill_(torch::arange(kLongest).unsqueeze(0) >= lengths.unsqueeze(1), kPad);
  const auto targets = tokens.select(1, 0).remainder(kClasses);
  return std::make_shared<cohort::data::TensorDataset>(
      std::map<std::string, torch::Tensor>{{"input", tokens}, {"lengths", lengths}, {"target", targets}}, kClasses);
}

torch::Tensor train(std::shared_ptr<cohort::strategy::Strategy> strategy, int64_t batch) {
  torch::manual_seed(0);
  models::EmbeddingBagClassifier model(models::EmbeddingBagClassifierOptions(kVocab, kClasses).embedding_dim(6));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.5));
  cohort::trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(2)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .checkpoint_every(0)
                                       .strategy(std::move(strategy))
                                       .task(cohort::task::Task().inputs({"input", "lengths"})));
  trainer.fit(cohort::data::DataLoader(padded_texts(), cohort::data::DataLoaderOptions().batch_size(batch).seed(4)));
  return cohort::testing::flat_parameters(*model);
}

}  // namespace

TEST_CASE("embedding_bag on padded texts: N ranks with batch B/N end where one process ends", "[ddp][text]") {
  const int64_t ranks = distributed::world_size();
  const auto reference =
      train(std::make_shared<cohort::strategies::Single>(cohort::strategies::SingleOptions().device(torch::kCPU)), 24);
  const auto parallel =
      train(std::make_shared<cohort::strategies::Ddp>(cohort::strategies::DdpOptions().device(torch::kCPU)),
            24 / ranks);
  CHECK(torch::allclose(parallel, reference, 1e-5, 1e-5));
}
