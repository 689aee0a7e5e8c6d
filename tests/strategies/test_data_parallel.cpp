#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/strategies/single.h"
#include "cohort/strategies/data_parallel/data_parallel.h"
#include "cohort/trainer/trainer.h"
#include "common/temporary_directory.h"
#include "strategies/equivalence.h"

using cohort::config::Json;
using cohort::job::TrainingJob;
using cohort::strategies::DataParallel;
using cohort::strategies::DataParallelOptions;
using cohort::strategies::Single;
using cohort::strategies::SingleOptions;
using cohort::testing::equivalence_config;
using cohort::testing::flat;
using cohort::testing::flat_parameters;
using cohort::testing::kSingleOnCpu;
using cohort::testing::temporary_directory;
using cohort::testing::trained_parameters;
using Catch::Matchers::Contains;

namespace {

const cohort::strategy::LossFn loss = cohort::trainer::cross_entropy;

Json data_parallel(const std::vector<std::string>& devices) {
  return {{"name", "data_parallel"}, {"devices", devices}};
}

std::vector<torch::Device> cpus(int count) { return std::vector<torch::Device>(count, torch::Device(torch::kCPU)); }

/// Linear, ReLU, dropout, Linear; Cloneable, as data_parallel needs.
struct SmallNetImpl : torch::nn::Cloneable<SmallNetImpl> {
  explicit SmallNetImpl(double dropout_probability) : dropout_probability(dropout_probability) { reset(); }
  void reset() override {
    hidden = register_module("hidden", torch::nn::Linear(5, 8));
    dropout = register_module("dropout", torch::nn::Dropout(dropout_probability));
    output = register_module("output", torch::nn::Linear(8, 3));
  }
  torch::Tensor forward(torch::Tensor input) { return output(dropout(torch::relu(hidden(input)))); }
  double dropout_probability;
  torch::nn::Linear hidden{nullptr}, output{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(SmallNet);

/// Two identical small models (the same seed), with SGD and momentum.
struct Twins {
  explicit Twins(double dropout = 0.0) : first(make(dropout)), second(make(dropout)) {}
  static SmallNet make(double dropout) {
    torch::manual_seed(21);
    return SmallNet(dropout);
  }
  static std::shared_ptr<torch::optim::Optimizer> sgd(const SmallNet& model) {
    return std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  }
  SmallNet first, second;
};

cohort::data::Batch random_batch(int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({size, 5}), torch::randint(0, 3, {size})};
}

DataParallel& data_parallel_of(TrainingJob& job) { return dynamic_cast<DataParallel&>(job.trainer().strategy()); }

}  // namespace

TEST_CASE("data_parallel over 2 and 3 CPU replicas ends where single ends", "[data_parallel][equivalence]") {
  const auto reference = trained_parameters(equivalence_config(kSingleOnCpu));
  for (const auto& devices : {std::vector<std::string>{"cpu", "cpu"}, std::vector<std::string>{"cpu", "cpu", "cpu"}}) {
    INFO(devices.size() << " replicas, batches of 25 (uneven chunks)");
    CHECK(torch::allclose(trained_parameters(equivalence_config(data_parallel(devices))), reference, 1e-5, 1e-5));
  }
}

TEST_CASE("data_parallel with gradient accumulation matches single on whole batches", "[data_parallel][equivalence]") {
  const auto reference = trained_parameters(equivalence_config(kSingleOnCpu));
  const auto accumulated =
      trained_parameters(equivalence_config(data_parallel({"cpu", "cpu", "cpu"}), 25, /*accumulation=*/2));
  CHECK(torch::allclose(accumulated, reference, 1e-5, 1e-5));
}

TEST_CASE("the replicas hold the primary's parameters after each step, and statistics add up", "[data_parallel]") {
  Twins twins;
  Single single;
  single.prepare(torch::nn::AnyModule(twins.first), Twins::sgd(twins.first));
  DataParallel parallel(DataParallelOptions().devices(cpus(3)));
  parallel.prepare(torch::nn::AnyModule(twins.second), Twins::sgd(twins.second));
  // 7 examples over 3 replicas: chunks of 3, 2 and 2; then a batch of 2 leaves one replica idle.
  for (const int64_t size : {7, 7, 2, 7}) {
    const auto batch = random_batch(size, 30 + size);
    const auto expected = single.train_step(batch, loss);
    const auto got = parallel.train_step(batch, loss);
    CHECK(got.samples == size);
    CHECK(got.metric_sums == expected.metric_sums);
    CHECK(got.loss_sum == Approx(expected.loss_sum).epsilon(1e-6));
    CHECK(torch::allclose(flat(twins.second->parameters()), flat(twins.first->parameters()), 1e-6, 1e-6));
    for (size_t replica = 1; replica < 3; ++replica)
      CHECK(torch::equal(flat(parallel.replica(replica).ptr()->parameters()), flat(twins.second->parameters())));
  }
  // Nothing is left on the replicas for the next step to add twice.
  for (const auto& parameter : parallel.replica(1).ptr()->parameters()) CHECK_FALSE(parameter.grad().defined());
}

TEST_CASE("data_parallel evaluates in the primary's mode on every replica", "[data_parallel]") {
  Twins twins(/*dropout=*/0.5);
  Single single;
  single.prepare(torch::nn::AnyModule(twins.first), Twins::sgd(twins.first));
  DataParallel parallel(DataParallelOptions().devices(cpus(2)));
  parallel.prepare(torch::nn::AnyModule(twins.second), Twins::sgd(twins.second));
  // As the Trainer does: only the primary is switched to eval mode. A replica
  // left in training mode would apply dropout and change the result.
  twins.first->eval();
  twins.second->eval();
  torch::NoGradGuard no_grad;
  const auto batch = random_batch(9, 5);
  const auto expected = single.eval_step(batch, loss);
  const auto got = parallel.eval_step(batch, loss);
  CHECK(got.samples == 9);
  CHECK(got.metric_sums == expected.metric_sums);
  CHECK(got.loss_sum == Approx(expected.loss_sum).epsilon(1e-6));
}

namespace {

struct NotCloneableImpl : torch::nn::Module {
  NotCloneableImpl() { linear = register_module("linear", torch::nn::Linear(5, 3)); }
  torch::Tensor forward(torch::Tensor input) { return linear(input); }
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(NotCloneable);

}  // namespace

TEST_CASE("data_parallel refuses a model it cannot clone, saying why", "[data_parallel]") {
  NotCloneable model;
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  DataParallel parallel(DataParallelOptions().devices(cpus(2)));
  CHECK_THROWS_AS(parallel.prepare(torch::nn::AnyModule(model), optimizer), cohort::InputError);
  CHECK_THROWS_WITH(parallel.prepare(torch::nn::AnyModule(model), optimizer),
                    Contains("data_parallel needs a model derived from torch::nn::Cloneable"));
  CHECK_THROWS_AS(DataParallel(DataParallelOptions().devices({})), cohort::InputError);
}

TEST_CASE("data_parallel and single checkpoints load into each other", "[data_parallel][checkpoint]") {
  const auto dir = temporary_directory("data-parallel-checkpoint");
  const auto parallel_path = (dir / "parallel.pt").string(), single_path = (dir / "single.pt").string();
  const auto parallel_config = equivalence_config(data_parallel({"cpu", "cpu"}));

  TrainingJob parallel(parallel_config, "test config");
  parallel.fit();
  parallel.trainer().save_checkpoint(parallel_path);
  TrainingJob single(equivalence_config(kSingleOnCpu), "test config");
  REQUIRE_FALSE(torch::equal(flat_parameters(single), flat_parameters(parallel)));
  single.resume(parallel_path);
  CHECK(torch::equal(flat_parameters(single), flat_parameters(parallel)));

  // Back: a fresh (untrained) data_parallel job resumes from single's checkpoint, replicas included.
  single.trainer().save_checkpoint(single_path);
  TrainingJob resumed(parallel_config, "test config");
  REQUIRE_FALSE(torch::equal(flat(data_parallel_of(resumed).replica(1).ptr()->parameters()), flat_parameters(single)));
  resumed.resume(single_path);
  CHECK(torch::equal(flat_parameters(resumed), flat_parameters(single)));
  CHECK(torch::equal(flat(data_parallel_of(resumed).replica(1).ptr()->parameters()), flat_parameters(single)));
}

TEST_CASE("data_parallel's devices come from the config", "[data_parallel][config]") {
  TrainingJob three(equivalence_config(data_parallel({"cpu", "cpu", "cpu"})), "test config");
  CHECK(data_parallel_of(three).devices().size() == 3);
  // Empty (the default): every GPU, or two CPU replicas without one.
  TrainingJob automatic(equivalence_config({{"name", "data_parallel"}}), "test config");
  const auto& devices = data_parallel_of(automatic).devices();
  if (torch::cuda::is_available()) {
    CHECK(devices.size() == static_cast<size_t>(torch::cuda::device_count()));
  } else {
    CHECK(devices == cpus(2));
  }
  CHECK_THROWS_WITH(TrainingJob(equivalence_config(data_parallel({"cpu", "gpu"})), "test config"),
                    Contains("\"strategy.devices\""));
  CHECK_THROWS_WITH(equivalence_config({{"name", "data_parallel"}, {"devices", "cpu"}}),
                    Contains("\"strategy.devices\" must be a list of strings"));
}

TEST_CASE("data_parallel on two CUDA replicas matches single on the CPU", "[data_parallel][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: skipped");
    return;
  }
  const auto reference = trained_parameters(equivalence_config(kSingleOnCpu));
  const auto on_gpu = trained_parameters(equivalence_config(data_parallel({"cuda:0", "cuda:0"})));
  CHECK(torch::allclose(on_gpu, reference, 1e-4, 1e-4));
}
