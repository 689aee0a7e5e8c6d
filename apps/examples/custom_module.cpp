// Embedding Cohort: train your own torch::nn::Module with Cohort's Trainer.
// No registry and no config file are involved.
#include <iostream>

#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/synthetic.h"
#include "cohort/strategies/single.h"
#include "cohort/trainer/trainer.h"

struct TinyNetImpl : torch::nn::Module {
  torch::nn::Linear hidden{register_module("hidden", torch::nn::Linear(16, 32))};
  torch::nn::Linear out{register_module("out", torch::nn::Linear(32, 4))};
  torch::Tensor forward(torch::Tensor x) { return out(torch::relu(hidden(x))); }
};
TORCH_MODULE(TinyNet);

int main() {
  torch::manual_seed(0);
  auto data = cohort::data::make_synthetic(cohort::data::SyntheticOptions().num_samples(1024).sample_shape({16}));
  cohort::data::DataLoader loader(data, cohort::data::DataLoaderOptions().batch_size(32).seed(0));

  TinyNet net;
  auto optimizer = std::make_shared<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(1e-2));
  cohort::trainer::Trainer trainer(torch::nn::AnyModule(net), optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(3)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .strategy(std::make_shared<cohort::strategies::Single>()));
  trainer.fit(loader);
  const auto accuracy = trainer.metrics(trainer.evaluate(loader)).at("accuracy");
  std::cout << "accuracy " << accuracy << "\n";
  return accuracy > 0.9 ? 0 : 1;
}
