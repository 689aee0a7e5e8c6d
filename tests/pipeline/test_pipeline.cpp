#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/distributed/runtime.h"
#include "cohort/job/training_job.h"
#include "cohort/models/mlp.h"
#include "cohort/models/staged.h"
#include "cohort/strategies/pipeline/pipeline.h"
#include "cohort/strategies/stages.h"
#include "common/temporary_directory.h"
#include "unit/helpers.h"

using cohort::config::Json;
using cohort::job::TrainingJob;
using cohort::strategy::MicroStep;
using cohort::strategies::Pipeline;
using cohort::strategies::PipelineOptions;
using cohort::testing::synthetic_config;
namespace distributed = cohort::distributed;
namespace pipeline = cohort::strategies::pipeline;

namespace {

int ranks() { return distributed::world_size(); }

/// The tensors flattened into one; a stage of 4 may hold no parameters (only a ReLU).
torch::Tensor flat(const std::vector<torch::Tensor>& tensors) {
  return tensors.empty() ? torch::zeros({0}) : cohort::testing::flat(tensors);
}

/// Copies of the pipeline to test at this many ranks: 1, and 2 where the
/// ranks make at least two stages per copy (pipeline x ddp).
std::vector<int64_t> data_parallel_choices() {
  if (ranks() >= 4 && ranks() % 2 == 0) return {1, 2};
  return {1};
}

/// A config that `single` with batch `batch` and a pipeline of D copies with
/// batch/D each run step for step alike: no dropout, no validation split, the
/// training set a multiple of the batch.
Json equivalence_config(int64_t batch, const Json& strategy, const Json& optimizer, int64_t accumulation = 1) {
  return synthetic_config({{"data", {{"train_samples", 288}, {"validation_fraction", 0.0}}},
                           {"loader", {{"batch_size", batch}, {"drop_last", true}, {"shuffle", true}}},
                           {"model", {{"name", "mlp"}, {"hidden", {24, 16}}, {"dropout", 0.0}}},
                           {"optimizer", optimizer},
                           {"trainer", {{"epochs", 2}, {"accumulation_steps", accumulation}}},
                           {"strategy", strategy}});
}

const Json kSingle = {{"name", "single"}, {"device", "cpu"}};
const Json kSgd = {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 1e-3}};
const Json kAdam = {{"name", "adam"}, {"lr", 0.01}};
constexpr int64_t kGlobalBatch = 24;

Json pipeline_strategy(const std::string& schedule, int64_t micro_batches, int64_t data_parallel) {
  return {{"name", "pipeline"},        {"device", "cpu"},
          {"schedule", schedule},      {"micro_batches", micro_batches},
          {"data_parallel", data_parallel}, {"timeout_s", 60}};
}

Pipeline& pipeline_of(TrainingJob& job) { return dynamic_cast<Pipeline&>(job.trainer().strategy()); }

/// The layers of `model` cut as `pipeline` cuts them (balanced by parameter count).
std::vector<torch::nn::Sequential> stages_of(const torch::nn::AnyModule& model, const Pipeline& pipeline) {
  const auto layers = cohort::models::layers_of(model);
  return cohort::strategies::split_stages(layers, cohort::strategies::balance_stages(layers, pipeline.stages()));
}

/// The parameters of `model` in this rank's stage.
torch::Tensor this_stage(const torch::nn::AnyModule& model, const Pipeline& pipeline) {
  return flat(stages_of(model, pipeline)[size_t(pipeline.stage())]->parameters());
}

/// Every parameter of `model` outside this rank's stage.
torch::Tensor other_stages(const torch::nn::AnyModule& model, const Pipeline& pipeline) {
  std::vector<torch::Tensor> others;
  const auto stages = stages_of(model, pipeline);
  for (size_t s = 0; s < stages.size(); ++s)
    if (int64_t(s) != pipeline.stage())
      for (const auto& parameter : stages[s]->parameters()) others.push_back(parameter);
  return flat(others);
}

/// Whether `local` is true on every rank.
bool on_every_rank(bool local) {
  auto flag = torch::tensor({local ? 1 : 0}, torch::kInt32);
  distributed::world()->allreduce(flag, distributed::ReduceOp::kMin);
  return flag.item<int32_t>() == 1;
}

/// A fresh directory whose path rank 0 chose, the same on every rank.
std::string shared_directory(const std::string& name) {
  std::string path = distributed::world_rank() == 0 ? cohort::testing::temporary_directory(name).string() : "";
  auto length = torch::tensor({int64_t(path.size())});
  distributed::world()->broadcast(length, 0);
  auto bytes = torch::zeros({length.item<int64_t>()}, torch::kUInt8);
  if (distributed::world_rank() == 0) std::copy(path.begin(), path.end(), bytes.data_ptr<uint8_t>());
  distributed::world()->broadcast(bytes, 0);
  return std::string(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel());
}

const cohort::strategy::LossFn cross_entropy = cohort::trainer::cross_entropy;

}  // namespace

TEST_CASE("a pipeline holds the parameters single holds after the same steps", "[pipeline][equivalence]") {
  for (const Json& optimizer : {kSgd, kAdam}) {
    TrainingJob reference(equivalence_config(kGlobalBatch, kSingle, optimizer), "test config");
    reference.fit();
    const auto reference_test = reference.test();
    TrainingJob initial(equivalence_config(kGlobalBatch, kSingle, optimizer), "test config");
    for (const int64_t copies : data_parallel_choices()) {
      // 5 micro-batches cut a batch of 24 (or 12) unevenly.
      for (const auto& [schedule, micro_batches] :
           std::vector<std::pair<std::string, int64_t>>{{"gpipe", 4}, {"1f1b", 4}, {"1f1b", 5}}) {
        INFO(optimizer["name"] << ", " << schedule << " with " << micro_batches << " micro-batches, " << copies
                               << " copies of " << ranks() / copies << " stages");
        TrainingJob job(equivalence_config(kGlobalBatch / copies, pipeline_strategy(schedule, micro_batches, copies),
                                           optimizer),
                        "test config");
        job.fit();
        auto& strategy = pipeline_of(job);
        CHECK(torch::allclose(flat(strategy.parameters()), this_stage(reference.trainer().model(), strategy), 1e-5, 1e-5));
        // The optimizer, built over the whole model, never touched the other stages.
        CHECK(torch::equal(other_stages(job.trainer().model(), strategy),
                           other_stages(initial.trainer().model(), strategy)));
        // Evaluation: the last stage's loss and accuracy reach every rank.
        const auto test = job.test();
        CHECK(test.samples == reference_test.samples);
        CHECK(test.metric_sums == reference_test.metric_sums);
        CHECK(test.mean_loss() == Approx(reference_test.mean_loss()).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("accumulation steps under a pipeline match one large batch", "[pipeline][equivalence]") {
  TrainingJob reference(equivalence_config(kGlobalBatch, kSingle, kSgd), "test config");
  reference.fit();
  for (const int64_t copies : data_parallel_choices()) {
    INFO(copies << " copies");
    TrainingJob job(equivalence_config(kGlobalBatch / copies, pipeline_strategy("1f1b", 3, copies), kSgd, 2),
                    "test config");
    job.fit();
    auto& strategy = pipeline_of(job);
    CHECK(torch::allclose(flat(strategy.parameters()), this_stage(reference.trainer().model(), strategy), 1e-5, 1e-5));
  }
}

TEST_CASE("1F1B keeps at most stages - stage micro-batches of activations, GPipe all of them", "[pipeline][memory]") {
  constexpr int64_t kMicroBatches = 8;
  torch::manual_seed(5);
  const auto inputs = torch::randn({32, 6});
  const auto targets = torch::randint(0, 3, {32});
  std::map<pipeline::Schedule, int64_t> peaks;
  for (const auto schedule : {pipeline::Schedule::kGPipe, pipeline::Schedule::k1F1B}) {
    torch::manual_seed(6);
    cohort::models::Mlp model(cohort::models::MlpOptions(6, 3).hidden({16, 16, 16}));
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    Pipeline strategy(PipelineOptions().micro_batches(kMicroBatches).schedule(schedule).timeout_s(60));
    strategy.prepare(torch::nn::AnyModule(model), optimizer);
    // Counted during a real step: the most micro-batches whose saved activations the stage held at once.
    strategy.train_step({inputs, targets}, cross_entropy);
    peaks[schedule] = strategy.peak_live_activations();
    INFO("stage " << strategy.stage() << " of " << strategy.stages() << ", " << pipeline::to_string(schedule));
    if (schedule == pipeline::Schedule::kGPipe) {
      CHECK(peaks[schedule] == kMicroBatches);
    } else {
      CHECK(peaks[schedule] == std::min(strategy.stages() - strategy.stage(), kMicroBatches));
      CHECK(peaks[schedule] <= strategy.stages());
    }
  }
  if (ranks() > 1) CHECK(peaks[pipeline::Schedule::k1F1B] < peaks[pipeline::Schedule::kGPipe]);
}

TEST_CASE("a pipeline job killed and resumed continues exactly", "[pipeline][checkpoint]") {
  const int64_t copies = data_parallel_choices().back();  // 2 stages x 2 copies at 4 ranks
  const auto straight_dir = shared_directory("pipeline-straight");
  const auto split_dir = shared_directory("pipeline-split");
  auto config = [&](const std::string& dir, int64_t epochs, const Json& strategy) {
    auto json = equivalence_config(kGlobalBatch / copies, strategy, kAdam);
    json["output_dir"] = dir;
    json["trainer"]["epochs"] = epochs;
    return json;
  };
  const auto strategy = pipeline_strategy("1f1b", 4, copies);
  TrainingJob straight(config(straight_dir, 2, strategy), "test config");
  straight.fit();
  TrainingJob first_half(config(split_dir, 1, strategy), "test config");
  first_half.fit();
  distributed::world()->barrier();  // rank 0 has written the checkpoints
  TrainingJob second_half(config(split_dir, 2, strategy), "test config");
  second_half.resume(split_dir);
  second_half.fit();
  CHECK(on_every_rank(torch::equal(flat(pipeline_of(straight).parameters()),
                                   flat(pipeline_of(second_half).parameters()))));

  // The checkpoint holds the whole model under single's keys: single loads it.
  distributed::world()->barrier();
  TrainingJob single(config("", 2, kSingle), "test config");
  single.resume(straight_dir);
  auto& mine = pipeline_of(straight);
  CHECK(on_every_rank(torch::equal(this_stage(single.trainer().model(), mine), flat(mine.parameters()))));
}

TEST_CASE("a pipeline refuses a job of the wrong size and a batch too small to cut", "[pipeline][errors]") {
  CHECK_THROWS_WITH(Pipeline(PipelineOptions().data_parallel(ranks() + 1)),
                    Catch::Contains("stages x data_parallel ranks, but the job has " + std::to_string(ranks())));
  CHECK_THROWS_AS(Pipeline(PipelineOptions().micro_batches(0)), cohort::InputError);

  cohort::models::Mlp model(cohort::models::MlpOptions(4, 2).hidden({4, 4}));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  Pipeline strategy(PipelineOptions().micro_batches(8).timeout_s(60));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);
  strategy.zero_grad();
  // Every rank of the pipeline sees the same batch, so every rank refuses it before any message.
  CHECK_THROWS_WITH(strategy.forward_backward({torch::randn({5, 4}), torch::randint(0, 2, {5})}, cross_entropy, {}),
                    Catch::Contains("\"strategy.micro_batches\" is 8, but a training step has only 5 examples"));
}

TEST_CASE("a pipeline stage names the failing layer and a label's example", "[pipeline][errors]") {
  // One stage only: on several, the stages that did not fail wait for the
  // watchdog, as after any failure of one rank.
  if (ranks() != 1) return;
  cohort::models::Mlp model(cohort::models::MlpOptions(4, 2).hidden({4}).dropout(0));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  Pipeline strategy(PipelineOptions().micro_batches(2).timeout_s(60));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);
  strategy.zero_grad();
  CHECK_THROWS_WITH(strategy.forward_backward({torch::randn({4, 6}), torch::randint(0, 2, {4})}, cross_entropy, {}),
                    Catch::Contains("layer \"layers.0\" (Linear) expects in_features 4 but gets [2, 6]"));
  strategy.zero_grad();
  CHECK_THROWS_WITH(strategy.forward_backward({torch::randn({4, 4}), torch::tensor({0, 1, 1, 2})}, cross_entropy, {}),
                    Catch::Contains("example 1 of the batch has label 2, outside the classes 0..1"));
}
