#include "cohort/data/synthetic.h"

#include <torch/torch.h>

namespace cohort::data {

std::shared_ptr<TensorDataset> make_synthetic(const SyntheticOptions& options) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  std::vector<int64_t> centre_shape{options.num_classes()};
  centre_shape.insert(centre_shape.end(), options.sample_shape().begin(), options.sample_shape().end());
  auto centres = at::randn(centre_shape, generator);
  auto targets = at::randint(options.num_classes(), {options.num_samples()}, generator, torch::kInt64);
  std::vector<int64_t> data_shape{options.num_samples()};
  data_shape.insert(data_shape.end(), options.sample_shape().begin(), options.sample_shape().end());
  auto data = centres.index_select(0, targets) + options.noise() * at::randn(data_shape, generator);
  return std::make_shared<TensorDataset>(data.contiguous(), targets, options.num_classes());
}

}  // namespace cohort::data
