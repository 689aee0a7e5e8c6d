// Mixed precision: bf16 autocast on the CPU, and the fp16 loss scaler.
#include <catch2/catch.hpp>

#include "cohort/precision/autocast.h"
#include "cohort/precision/loss_scaler.h"
#include "cohort/strategies/single.h"
#include "common/temporary_directory.h"
#include "helpers.h"
#include "memory_helpers.h"

using namespace cohort;
using cohort::testing::flat_parameters;
using cohort::testing::LogCapture;
using cohort::testing::small_run;
using cohort::testing::SmallRunOptions;
using Catch::Matchers::Contains;

namespace {

/// A linear classifier that remembers the type its matrix product ran in.
struct ProbeImpl : torch::nn::Module {
  ProbeImpl() : hidden(register_module("hidden", torch::nn::Linear(12, 32))), out(register_module("out", torch::nn::Linear(32, 3))) {}
  torch::Tensor forward(torch::Tensor x) {
    auto h = hidden(x);
    seen = h.scalar_type();
    return out(torch::relu(h));
  }
  torch::nn::Linear hidden, out;
  torch::ScalarType seen = torch::kFloat;
};
TORCH_MODULE(Probe);

}  // namespace

TEST_CASE("bf16 autocast on the CPU trains, with matrix products in bf16", "[memory][precision]") {
  torch::manual_seed(1);
  Probe model;
  auto data = data::make_synthetic(data::SyntheticOptions().num_samples(512).num_classes(3).sample_shape({12}).noise(0.5).seed(2));
  data::DataLoader loader(data, data::DataLoaderOptions().batch_size(32).num_workers(0).seed(2));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                           trainer::TrainerOptions()
                               .epochs(3)
                               .progress(trainer::ProgressStyle::kNone)
                               .checkpoint_every(0)
                               .strategy(std::make_shared<strategies::Single>())
                               .step(trainer::StepOptions().precision(trainer::Precision::kBf16)));
  const auto results = trainer.fit(loader);
  CHECK(model->seen == torch::kBFloat16);
  CHECK(results.back().train.mean_loss() < 0.6 * results.front().train.mean_loss());
  CHECK(model->hidden->weight.scalar_type() == torch::kFloat);  // master weights stay fp32
  // Outside the step, forward is back in full precision.
  model->forward(torch::randn({2, 12}));
  CHECK(model->seen == torch::kFloat);
}

TEST_CASE("precision bf16 from a config trains", "[memory][precision]") {
  job::TrainingJob job(cohort::testing::synthetic_config({{"precision", "bf16"}, {"trainer", {{"epochs", 3}}}}), "test config");
  const auto results = job.fit();
  CHECK(results.back().train.mean_loss() < results.front().train.mean_loss());
  CHECK(cohort::testing::accuracy(job, job.test()) > 0.6);
}

TEST_CASE("the loss scaler unscales, detects overflow, backs off and grows", "[memory][precision]") {
  precision::LossScaler scaler(precision::LossScalerOptions().init_scale(1024).growth_interval(3));
  auto weight = torch::zeros({2}, torch::requires_grad());
  weight.mutable_grad() = torch::tensor({2048.0f, -4096.0f});
  CHECK_FALSE(scaler.unscale({weight}));
  CHECK(torch::allclose(weight.grad(), torch::tensor({2.0f, -4.0f})));
  weight.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  CHECK(scaler.unscale({weight}));
  scaler.update(true);
  CHECK(scaler.scale() == 512);
  scaler.update(false);
  scaler.update(false);
  CHECK(scaler.scale() == 512);
  scaler.update(false);
  CHECK(scaler.scale() == 1024);
  CHECK(scaler.good_steps() == 0);

  torch::serialize::OutputArchive out;
  scaler.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  precision::LossScaler restored;
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  restored.load(in);
  CHECK(restored.scale() == 1024);
}

TEST_CASE("under fp16 a step with overflowing gradients is skipped and the scale halved", "[memory][precision]") {
  // CPU autocast to fp16 is what this checks the step logic with; CUDA runs it for real ([cuda]).
  cohort::testing::SmallRun run;
  std::vector<torch::Tensor> before;  // the parameters at each step's forward pass
  run = small_run(
      [&](const torch::Tensor& output, const torch::Tensor& target) {
        before.push_back(flat_parameters(*run.trainer->model().ptr()));
        // Step 3: the loss stays finite and its gradient overflows, as a too-large scale makes it.
        if (before.size() == 3)
          output.register_hook([](torch::Tensor grad) { return grad * std::numeric_limits<float>::infinity(); });
        return trainer::cross_entropy(output, target);
      },
      SmallRunOptions()
          .samples(128)
          .batch_size(32)
          .step(trainer::StepOptions()
                    .precision(trainer::Precision::kFp16)
                    .loss_scaler(precision::LossScalerOptions().init_scale(256).growth_interval(2))));
  LogCapture log(spdlog::level::info);
  const auto results = run.trainer->fit(*run.loader);
  const auto* scaler = run.trainer->step_runner().loss_scaler();
  REQUIRE(scaler != nullptr);
  CHECK(run.trainer->step_runner().skipped_overflow() == 1);
  CHECK(results.back().skipped_overflow == 1);
  // Steps 1, 2 good (grows to 512 after two), 3 overflows (256), 4 good.
  CHECK(scaler->scale() == 256);
  CHECK(scaler->good_steps() == 1);
  CHECK_THAT(log.text(), Contains("step 3: fp16 gradients overflowed at loss scale 512; the step is skipped and the "
                                  "scale lowered to 256"));
  REQUIRE(before.size() == 4);
  CHECK(torch::equal(before[2], before[3]));        // the skipped step changed nothing
  CHECK_FALSE(torch::equal(before[1], before[2]));  // the good ones did
}

TEST_CASE("under fp16 a checkpoint keeps the loss scale, so a resumed run scales as the uninterrupted one",
          "[memory][precision]") {
  const auto fp16 = [] {
    return SmallRunOptions().samples(128).batch_size(32).step(
        trainer::StepOptions()
            .precision(trainer::Precision::kFp16)
            .loss_scaler(precision::LossScalerOptions().init_scale(256).growth_interval(3)));
  };
  const auto dir = cohort::testing::temporary_directory("loss-scale-checkpoint");
  const auto path = (dir / "checkpoint.pt").string();
  auto trained = small_run(trainer::cross_entropy, fp16());
  trained.trainer->fit(*trained.loader);  // 4 good steps: grown once to 512, one good step since
  const auto* scaler = trained.trainer->step_runner().loss_scaler();
  REQUIRE(scaler->scale() == 512);
  REQUIRE(scaler->good_steps() == 1);
  trained.trainer->save_checkpoint(path);

  auto resumed = small_run(trainer::cross_entropy, fp16());
  resumed.trainer->resume(path);
  CHECK(resumed.trainer->step_runner().loss_scaler()->scale() == 512);
  CHECK(resumed.trainer->step_runner().loss_scaler()->good_steps() == 1);
}
