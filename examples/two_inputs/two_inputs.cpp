// A model whose forward() takes two tensors, fed from a dataset of named tensors.
//
//   ./two_inputs        (one process; see ../regression for ddp over ranks)
//
// What it shows:
//  - a module with forward(left, right): a Siamese network, one encoder
//    applied to both inputs and a head over the two codes;
//  - a TensorDataset of named tensors {"left", "right", "target"}: batches
//    keep the names, and everything that cuts a batch (shards, micro-batches)
//    cuts every tensor alike;
//  - task::Task().inputs({"left", "right"}): which batch tensors forward()
//    takes, in order. The loss stays the default cross entropy against
//    "target", with accuracy as the metric.
//
// The task: which of the two vectors scores higher under a hidden linear
// score. It prints the validation accuracy and exits with status 1 unless it
// is above 0.9.

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include <cohort/data/data_loader.h>
#include <cohort/data/dataset.h>
#include <cohort/job/program.h>
#include <cohort/strategies/single.h>
#include <cohort/task/task.h>
#include <cohort/trainer/trainer.h>

namespace data = cohort::data;
namespace trainer = cohort::trainer;

namespace {

constexpr int64_t kFeatures = 8;

struct PairNetImpl : torch::nn::Module {
  explicit PairNetImpl(int64_t hidden)
      : encoder(register_module("encoder", torch::nn::Sequential(torch::nn::Linear(kFeatures, hidden),
                                                                 torch::nn::ReLU()))),
        head(register_module("head", torch::nn::Linear(2 * hidden, 2))) {}

  // Two inputs, in the order Task::inputs() names them; logits {N, 2} out.
  torch::Tensor forward(torch::Tensor left, torch::Tensor right) {
    return head(torch::cat({encoder->forward(left), encoder->forward(right)}, /*dim=*/1));
  }

  torch::nn::Sequential encoder;
  torch::nn::Linear head;
};
TORCH_MODULE(PairNet);

// Pairs of vectors; the target is 1 where `left` scores higher than `right`
// under a fixed random score, else 0 (class indices, int64, {N}).
std::shared_ptr<data::TensorDataset> make_pairs(int64_t size) {
  torch::manual_seed(0);
  const auto score = torch::randn({kFeatures});
  const auto left = torch::randn({size, kFeatures}), right = torch::randn({size, kFeatures});
  const auto target = (left.matmul(score) > right.matmul(score)).to(torch::kInt64);
  return std::make_shared<data::TensorDataset>(
      std::map<std::string, torch::Tensor>{{"left", left}, {"right", right}, {"target", target}},
      /*num_classes=*/2);
}

int run() {
  torch::set_num_threads(1);
  auto [train_set, validation_set] = data::split_validation(*make_pairs(2048), 0.2, /*seed=*/0);
  const data::DataLoader train(train_set, data::DataLoaderOptions().batch_size(32));
  const data::DataLoader validation(validation_set, data::DataLoaderOptions().batch_size(256).shuffle(false));

  torch::manual_seed(1);
  PairNet model(32);
  auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-2));
  trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                           trainer::TrainerOptions()
                               .epochs(5)
                               .strategy(std::make_shared<cohort::strategies::Single>())
                               .task(cohort::task::Task().inputs({"left", "right"}))
                               .progress(trainer::ProgressStyle::kNone));
  trainer.fit(train, &validation);

  const auto accuracy = trainer.metrics(trainer.evaluate(validation)).at("accuracy");
  std::cout << "two_inputs: validation accuracy " << accuracy << std::endl;
  return accuracy > 0.9 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return cohort::job::run_program("two_inputs", "training failed", &argc, &argv, run);
}
