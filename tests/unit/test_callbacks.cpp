// Callbacks, early stopping and reduce-on-plateau across a resume, a learning
// rate of the user's, and gradient clipping (issue 14).
#include <catch2/catch.hpp>

#include "cohort/trainer/early_stopping.h"
#include "cohort/trainer/reduce_lr_on_plateau.h"
#include "common/temporary_directory.h"
#include "helpers.h"
#include "regression_fixture.h"

using cohort::testing::flat;
using cohort::testing::regression_loader;
using cohort::testing::regression_model;
using cohort::testing::regression_options;
using cohort::testing::regression_trainer;
namespace trainer = cohort::trainer;

namespace {

/// Writes down every call, and the learning rate of every step.
struct Recorder : trainer::Callback {
  std::string name() const override { return "recorder"; }
  void on_fit_begin(trainer::Trainer&) override { calls.push_back("fit_begin"); }
  void on_step_end(trainer::Trainer&, const trainer::StepEnd& step) override {
    calls.push_back("step " + std::to_string(step.epoch) + "." + std::to_string(step.epoch_step));
    rates.push_back(step.learning_rate);
  }
  void on_epoch_end(trainer::Trainer&, const nlohmann::json& record) override {
    calls.push_back("epoch " + record["epoch"].dump());
  }
  void on_checkpoint_begin(trainer::Trainer&, const std::string&) override { calls.push_back("checkpoint_begin"); }
  void on_checkpoint_end(trainer::Trainer&, const std::string&) override { calls.push_back("checkpoint_end"); }
  void on_fit_end(trainer::Trainer&) override { calls.push_back("fit_end"); }
  nlohmann::json state() const override { return {{"calls", calls.size()}}; }
  void load_state(const nlohmann::json& state) override { restored = state.at("calls").get<size_t>(); }

  std::vector<std::string> calls;
  std::vector<double> rates;
  size_t restored = 0;
};

/// Asks for a stop after a given step, from on_step_end.
struct StopAtStep : trainer::Callback {
  explicit StopAtStep(int64_t step) : step(step) {}
  std::string name() const override { return "stop_at_step"; }
  bool stops_mid_epoch() const override { return true; }
  void on_step_end(trainer::Trainer& trainer, const trainer::StepEnd& end) override {
    if (end.step == step) trainer.request_stop("step reached");
  }
  int64_t step;
};

/// Early stopping whose improvements after the first epoch never count, so
/// it stops after exactly 1 + patience epochs.
std::shared_ptr<trainer::EarlyStopping> impatient(int64_t patience) {
  return std::make_shared<trainer::EarlyStopping>(
      trainer::EarlyStoppingOptions("val_loss").patience(patience).min_delta(1e9));
}

std::shared_ptr<trainer::ReduceLrOnPlateau> halving() {
  return std::make_shared<trainer::ReduceLrOnPlateau>(
      trainer::ReduceLrOnPlateauOptions("train_loss").patience(0).factor(0.5).min_delta(1e9));
}

}  // namespace

TEST_CASE("callbacks are called at each point of fit, and their state is checkpointed", "[callbacks]") {
  const auto directory = cohort::testing::temporary_directory("callbacks");
  auto recorder = std::make_shared<Recorder>();
  auto trainer = regression_trainer(regression_model(),
                                    regression_options(2).output_dir(directory.string()).callbacks({recorder}));
  trainer.fit(regression_loader(16, 8));
  CHECK(recorder->calls == std::vector<std::string>{"fit_begin", "step 1.1", "step 1.2", "epoch 1", "checkpoint_begin",
                                                    "checkpoint_end", "step 2.1", "step 2.2", "epoch 2",
                                                    "checkpoint_begin", "checkpoint_end", "fit_end"});
  auto resumed = std::make_shared<Recorder>();
  auto again = regression_trainer(regression_model(), regression_options(3).callbacks({resumed}));
  again.resume(directory.string());
  CHECK(resumed->restored == 10);  // the calls up to the last checkpoint's beginning
}

TEST_CASE("a callback stops training after a step, with a record and a checkpoint there", "[callbacks]") {
  // Checkpoints every 2 epochs, yet the stop at 0.75 writes one.
  const auto directory = cohort::testing::temporary_directory("callback-stop");
  auto trainer = regression_trainer(regression_model(), regression_options(5)
                                                            .output_dir(directory.string())
                                                            .checkpoint_every(2)
                                                            .callbacks({std::make_shared<StopAtStep>(3)}));
  const auto results = trainer.fit(regression_loader(32, 8));  // 4 steps an epoch
  CHECK(trainer.steps_done() == 3);
  CHECK(trainer.stop_reason() == "step reached");
  REQUIRE(results.size() == 1);
  CHECK(results.back().epochs == 0.75);
  CHECK(std::filesystem::exists(directory / "checkpoints" / "epoch-0000.75.pt"));
}

TEST_CASE("early stopping resumed part-way stops where an uninterrupted run stops", "[callbacks][early_stopping]") {
  const auto train = regression_loader(64, 8), validation = regression_loader(32, 32, false, 6);
  auto straight = impatient(2);
  auto whole = regression_trainer(regression_model(), regression_options(10).callbacks({straight}));
  whole.fit(train, &validation);
  CHECK(straight->stopped());
  CHECK(whole.epochs_done() == 3);
  CHECK(whole.stop_reason().find("val_loss has not improved") != std::string::npos);

  const auto directory = cohort::testing::temporary_directory("early-stopping");
  {
    auto first = regression_trainer(regression_model(),
                                    regression_options(10).output_dir(directory.string()).callbacks({impatient(2)}));
    first.fit(train, &validation, trainer::FitOptions().until_epochs(2.5));
  }
  auto resumed_watch = impatient(2);
  auto resumed = regression_trainer(regression_model(), regression_options(10)
                                                            .output_dir(directory.string())
                                                            .callbacks({resumed_watch}));
  resumed.resume(directory.string());
  resumed.fit(train, &validation);
  CHECK(resumed.epochs_done() == 3);
  CHECK(resumed_watch->stopped());
  CHECK(torch::equal(flat(resumed.model().ptr()->parameters()), flat(whole.model().ptr()->parameters())));

  // Resumed from the checkpoint of the stop, it stops again at once.
  auto after = regression_trainer(regression_model(), regression_options(10).callbacks({impatient(2)}));
  after.resume(directory.string());
  CHECK(after.fit(train, &validation).empty());
  CHECK(after.steps_done() == resumed.steps_done());
}

TEST_CASE("reduce-on-plateau scales the rate, and a resumed run keeps the scale", "[callbacks][plateau]") {
  const auto train = regression_loader(32, 8);
  auto whole = regression_trainer(regression_model(), regression_options(4).callbacks({halving()}));
  const auto results = whole.fit(train);
  std::vector<double> rates;
  for (const auto& result : results) rates.push_back(result.learning_rate);
  CHECK(rates == std::vector<double>{0.05, 0.05, 0.025, 0.0125});

  const auto directory = cohort::testing::temporary_directory("plateau");
  {
    auto first = regression_trainer(regression_model(),
                                    regression_options(4).output_dir(directory.string()).callbacks({halving()}));
    first.fit(train, nullptr, trainer::FitOptions().until_epochs(3));
  }
  auto plateau = halving();
  auto resumed = regression_trainer(regression_model(), regression_options(4).callbacks({plateau}));
  resumed.resume(directory.string());
  const auto rest = resumed.fit(train);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].learning_rate == 0.0125);
  CHECK(plateau->scale() == 0.125);  // the cut after epoch 4, for a fifth epoch
  CHECK(torch::equal(flat(resumed.model().ptr()->parameters()), flat(whole.model().ptr()->parameters())));
}

TEST_CASE("a learning rate of the user's is a function of the step", "[callbacks][lr]") {
  auto recorder = std::make_shared<Recorder>();
  std::vector<std::pair<int64_t, int64_t>> asked;
  auto options = regression_options(2).callbacks({recorder});
  options.lr_schedule().function([&asked](int64_t step, int64_t total) {
    asked.emplace_back(step, total);
    return 1.0 / double(1 + step);
  });
  auto trainer = regression_trainer(regression_model(), options);
  trainer.fit(regression_loader(24, 8));  // 3 steps an epoch, 6 in all
  REQUIRE(recorder->rates.size() == 6);
  for (size_t step = 0; step < 6; ++step) CHECK(recorder->rates[step] == Approx(0.05 / double(1 + step)));
  for (const auto& [step, total] : asked) CHECK(total == 6);
}

TEST_CASE("gradients are clipped by norm and by value before the step", "[callbacks][clip]") {
  // One step of plain SGD with lr 1: the parameters move by minus the clipped gradient.
  const auto loader = regression_loader(8, 8, /*shuffle=*/false);
  const auto batch = loader.dataset().get_batch(torch::arange(8));
  auto clipped_step = [&](trainer::StepOptions step, const std::function<void(std::vector<torch::Tensor>&)>& clip) {
    auto reference = regression_model();
    auto loss = cohort::task::huber_loss(reference->forward(batch.data), batch.target);
    loss.backward();
    auto expected = reference->parameters();
    clip(expected);
    auto model = regression_model();
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(1.0));
    trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer, regression_options(1).step(step));
    trainer.fit(loader);
    const auto before = flat(regression_model()->parameters());
    std::vector<torch::Tensor> gradients;
    for (auto& parameter : expected) gradients.push_back(parameter.grad());
    CHECK(torch::allclose(before - flat(model->parameters()), flat(gradients), 1e-5, 1e-6));
    return trainer.step_runner().grad_norm();
  };
  const double norm = clipped_step(trainer::StepOptions().clip_grad_norm(0.1), [](auto& parameters) {
    CHECK(torch::nn::utils::clip_grad_norm_(parameters, 0.1) > 0.1);  // the clip changes something
  });
  CHECK(norm > 0.1);  // the norm before clipping
  clipped_step(trainer::StepOptions().clip_grad_value(0.05), [](auto& parameters) {
    torch::nn::utils::clip_grad_value_(parameters, 0.05);
  });
}
