// Builds against an installed Cohort and trains a few steps through its Trainer.
#include <iostream>

#include <torch/torch.h>

#include <cohort/data/data_loader.h>
#include <cohort/data/synthetic.h>
#include <cohort/models/mlp.h>
#include <cohort/strategies/single.h>
#include <cohort/trainer/trainer.h>

int main() {
  auto data = cohort::data::make_synthetic(cohort::data::SyntheticOptions().num_samples(256));
  cohort::data::DataLoader loader(data, cohort::data::DataLoaderOptions().batch_size(32));
  cohort::models::Mlp model(cohort::models::MlpOptions(16, 4).hidden({16}));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  cohort::trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(2)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .strategy(std::make_shared<cohort::strategies::Single>()));
  const auto epochs = trainer.fit(loader);
  std::cout << "consumer trained, loss " << epochs.back().train.mean_loss() << "\n";
  return epochs.back().train.mean_loss() < epochs.front().train.mean_loss() ? 0 : 1;
}
