#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/strategies/single.h"
#include "cohort/strategies/model_parallel/model_parallel.h"
#include "cohort/trainer/trainer.h"
#include "common/temporary_directory.h"
#include "strategies/equivalence.h"

using cohort::config::Json;
using cohort::job::TrainingJob;
using cohort::strategies::ModelParallel;
using cohort::strategies::ModelParallelOptions;
using cohort::strategies::Single;
using cohort::testing::equivalence_config;
using cohort::testing::flat;
using cohort::testing::flat_parameters;
using cohort::testing::kSingleOnCpu;
using cohort::testing::temporary_directory;
using cohort::testing::trained_parameters;
using Catch::Matchers::Contains;

namespace {

const cohort::strategy::LossFn loss = cohort::trainer::cross_entropy;

// The equivalence MLP's layers: Flatten, Linear, ReLU, Linear, ReLU, Linear.
constexpr int64_t kMlpLayers = 6;

Json model_parallel(const std::vector<std::string>& devices, const std::vector<int64_t>& balance = {}) {
  return {{"name", "model_parallel"}, {"devices", devices}, {"balance", balance}};
}

ModelParallel& model_parallel_of(TrainingJob& job) { return dynamic_cast<ModelParallel&>(job.trainer().strategy()); }

std::vector<torch::Device> cpus(int count) { return std::vector<torch::Device>(count, torch::Device(torch::kCPU)); }

}  // namespace

TEST_CASE("model_parallel with a balance list or an automatic one ends where single ends",
          "[model_parallel][equivalence]") {
  const auto reference = trained_parameters(equivalence_config(kSingleOnCpu));
  for (const auto& strategy : {model_parallel({"cpu", "cpu"}, {2, 4}), model_parallel({"cpu", "cpu", "cpu"}, {1, 3, 2}),
                               model_parallel({"cpu", "cpu"}), model_parallel({"cpu", "cpu", "cpu"})}) {
    INFO(strategy.dump());
    CHECK(torch::allclose(trained_parameters(equivalence_config(strategy)), reference, 1e-5, 1e-5));
  }
  // With accumulation too: the micro-batches pass through the stages one by one.
  CHECK(torch::allclose(trained_parameters(equivalence_config(model_parallel({"cpu", "cpu"}), 25, 2)), reference,
                        1e-5, 1e-5));
}

TEST_CASE("model_parallel cuts the model into the stages it was asked for", "[model_parallel]") {
  TrainingJob listed(equivalence_config(model_parallel({"cpu", "cpu", "cpu"}, {1, 3, 2})), "test config");
  const auto& stages = model_parallel_of(listed).stages();
  REQUIRE(stages.size() == 3);
  CHECK(stages[0]->size() == 1);
  CHECK(stages[1]->size() == 3);
  CHECK(stages[2]->size() == 2);
  // The stages share the model's own parameters, in order: training them trains the model.
  std::vector<torch::Tensor> staged;
  for (const auto& stage : stages)
    for (const auto& parameter : stage->parameters()) staged.push_back(parameter);
  const auto model = listed.trainer().model().ptr()->parameters();
  REQUIRE(staged.size() == model.size());
  for (size_t i = 0; i < model.size(); ++i) CHECK(staged[i].is_same(model[i]));

  // Automatic: the layers weigh 1 (Flatten), 312, 1 (ReLU), 400, 1, 51; the
  // cut after the first ReLU leaves 314 and 452, the smallest larger side.
  TrainingJob automatic(equivalence_config(model_parallel({"cpu", "cpu"})), "test config");
  CHECK(model_parallel_of(automatic).balance() == std::vector<int64_t>{3, 3});
}

TEST_CASE("model_parallel refuses a balance that does not fit the model, naming balance", "[model_parallel]") {
  CHECK_THROWS_AS(TrainingJob(equivalence_config(model_parallel({"cpu", "cpu"}, {2, 3})), "test config"),
                  cohort::InputError);
  CHECK_THROWS_WITH(TrainingJob(equivalence_config(model_parallel({"cpu", "cpu"}, {2, 3})), "test config"),
                    Contains("balance"));
  CHECK_THROWS_WITH(TrainingJob(equivalence_config(model_parallel({"cpu", "cpu"}, {6})), "test config"),
                    Contains("balance"));
  CHECK_THROWS_WITH(equivalence_config(model_parallel({"cpu", "cpu"}, {0, 6})), Contains("\"strategy.balance[0]\""));
  // More devices than layers.
  CHECK_THROWS_AS(TrainingJob(equivalence_config(model_parallel(std::vector<std::string>(kMlpLayers + 1, "cpu"))),
                              "test config"),
                  cohort::InputError);
}

namespace {

/// A model whose forward() is not a sequence of layers it could name.
struct OpaqueImpl : torch::nn::Cloneable<OpaqueImpl> {
  OpaqueImpl() { reset(); }
  void reset() override { linear = register_module("linear", torch::nn::Linear(5, 3)); }
  torch::Tensor forward(torch::Tensor input) { return linear(input) * 2; }
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(Opaque);

}  // namespace

namespace {

/// A Sequential with a plain forward(), which AnyModule can hold (it cannot
/// hold a Sequential, whose forward() is a template): how users write one.
struct PlainSequentialImpl : torch::nn::SequentialImpl {
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor input) { return SequentialImpl::forward(input); }
};
TORCH_MODULE(PlainSequential);

PlainSequential small_sequential() {
  torch::manual_seed(4);
  return PlainSequential(torch::nn::Linear(5, 8), torch::nn::ReLU(), torch::nn::Linear(8, 3));
}

}  // namespace

TEST_CASE("model_parallel takes a Sequential as it is and refuses a model it cannot cut", "[model_parallel]") {
  auto model = small_sequential(), reference = small_sequential();
  auto sgd = [](const std::vector<torch::Tensor>& parameters) {
    return std::make_shared<torch::optim::SGD>(parameters, torch::optim::SGDOptions(0.1).momentum(0.9));
  };
  ModelParallel parallel(ModelParallelOptions().devices(cpus(2)).balance({1, 2}));
  parallel.prepare(torch::nn::AnyModule(model), sgd(model->parameters()));
  Single single;
  single.prepare(torch::nn::AnyModule(reference), sgd(reference->parameters()));
  for (int step = 0; step < 3; ++step) {
    torch::manual_seed(40 + step);
    const cohort::data::Batch batch{torch::randn({6, 5}), torch::randint(0, 3, {6})};
    const auto got = parallel.train_step(batch, loss);
    const auto expected = single.train_step(batch, loss);
    CHECK(got.loss_sum == Approx(expected.loss_sum).epsilon(1e-6));
  }
  CHECK(torch::allclose(flat(model->parameters()), flat(reference->parameters()), 1e-6, 1e-6));

  Opaque opaque;
  ModelParallel refusing(ModelParallelOptions().devices(cpus(2)));
  CHECK_THROWS_WITH(refusing.prepare(torch::nn::AnyModule(opaque), sgd(opaque->parameters())),
                    Contains("cannot be cut into stages"));
}

TEST_CASE("model_parallel and single checkpoints load into each other", "[model_parallel][checkpoint]") {
  const auto dir = temporary_directory("model-parallel-checkpoint");
  const auto parallel_path = (dir / "parallel.pt").string(), single_path = (dir / "single.pt").string();
  const auto parallel_config = equivalence_config(model_parallel({"cpu", "cpu"}, {2, 4}));

  TrainingJob parallel(parallel_config, "test config");
  parallel.fit();
  parallel.trainer().save_checkpoint(parallel_path);
  TrainingJob single(equivalence_config(kSingleOnCpu), "test config");
  REQUIRE_FALSE(torch::equal(flat_parameters(single), flat_parameters(parallel)));
  single.resume(parallel_path);
  CHECK(torch::equal(flat_parameters(single), flat_parameters(parallel)));
  CHECK(single.test().loss_sum == parallel.test().loss_sum);

  single.trainer().save_checkpoint(single_path);
  TrainingJob resumed(parallel_config, "test config");
  REQUIRE_FALSE(torch::equal(flat_parameters(resumed), flat_parameters(single)));
  resumed.resume(single_path);
  CHECK(torch::equal(flat_parameters(resumed), flat_parameters(single)));
  CHECK(resumed.test().loss_sum == single.test().loss_sum);
}

TEST_CASE("model_parallel over a GPU and the CPU matches single on the CPU", "[model_parallel][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: skipped");
    return;
  }
  const auto reference = trained_parameters(equivalence_config(kSingleOnCpu));
  for (const auto& devices : {std::vector<std::string>{"cuda:0", "cpu"}, std::vector<std::string>{"cuda:0", "cuda:0"},
                              std::vector<std::string>{"cpu", "cuda:0"}}) {
    INFO(devices[0] << ", " << devices[1]);
    const auto strategy = model_parallel(devices, {3, 3});
    TrainingJob job(equivalence_config(strategy), "test config");
    // The stages really are where they were asked to be.
    const auto& stages = model_parallel_of(job).stages();
    CHECK(stages[0]->parameters().front().device() == torch::Device(devices[0]));
    CHECK(stages[1]->parameters().front().device() == torch::Device(devices[1]));
    job.fit();
    CHECK(torch::allclose(flat_parameters(job), reference, 1e-4, 1e-4));
  }
}
