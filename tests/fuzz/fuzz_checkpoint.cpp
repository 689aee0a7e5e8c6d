// fuzz-link: Cohort::strategies
// Checkpoint loading: the input is a checkpoint file's bytes, restored into
// the small MLP of tests/cli/synthetic.json (8 inputs, 16 hidden, 3 classes,
// SGD with momentum) on the single strategy: the integrity line (CRC32C and
// length), then, for a file that passes it or a legacy zip archive, LibTorch's
// archive, the counters' ranges and the model's shapes. The seeds are a real
// checkpoint of that model and damaged copies of it.

#include <memory>

#include <torch/torch.h>

#include "cohort/models/mlp.h"
#include "cohort/strategies/single.h"
#include "cohort/trainer/checkpoint.h"
#include "fuzzing.h"

namespace {

std::shared_ptr<cohort::strategies::Single> synthetic_mlp() {
  torch::manual_seed(0);
  cohort::models::Mlp model(cohort::models::MlpOptions(8, 3).hidden({16}));
  auto optimizer =
      std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  auto strategy = std::make_shared<cohort::strategies::Single>();
  strategy->prepare(torch::nn::AnyModule(model), optimizer);
  return strategy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto strategy = synthetic_mlp();
  const auto bytes = cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] { cohort::trainer::restore_checkpoint(bytes, "fuzz.pt", *strategy); });
  return 0;
}
