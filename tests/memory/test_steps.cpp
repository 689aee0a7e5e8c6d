// What a step does when it runs out of memory or its loss is not finite,
// with the failures planted in the loss function.
#include <catch2/catch.hpp>

#include <c10/util/Exception.h>

#include "memory_helpers.h"
#include "cohort/logging/describe_exception.h"

using namespace cohort;
using cohort::testing::flat_parameters;
using cohort::testing::LogCapture;
using cohort::testing::small_run;
using cohort::testing::SmallRunOptions;
using Catch::Matchers::Contains;

namespace {

/// Cross entropy that fails to allocate, as c10 does, for micro-batches larger than `limit`.
strategy::LossFn limited_loss(int64_t limit) {
  return [limit](const torch::Tensor& output, const torch::Tensor& target) {
    if (output.size(0) > limit)
      TORCH_CHECK_WITH(OutOfMemoryError, false, "DefaultCPUAllocator: not enough memory (planted)");
    return trainer::cross_entropy(output, target);
  };
}

/// Cross entropy that turns NaN on call `bad` (1-based) and counts its calls.
strategy::LossFn nan_on_call(int64_t bad, std::shared_ptr<int64_t> calls) {
  return [bad, calls](const torch::Tensor& output, const torch::Tensor& target) {
    auto loss = trainer::cross_entropy(output, target);
    return ++*calls == bad ? loss * std::numeric_limits<double>::quiet_NaN() : loss;
  };
}

/// Fails to allocate at the end of step `step`: outside the forward and
/// backward passes, where no shrinking can help.
class BadAllocAfterStep : public trainer::Callback {
 public:
  explicit BadAllocAfterStep(int64_t step) : step_(step) {}
  std::string name() const override { return "bad_alloc_after_step"; }
  void on_step_end(trainer::Trainer&, const trainer::StepEnd& end) override {
    if (end.step == step_) throw std::bad_alloc();
  }

 private:
  int64_t step_;
};

}  // namespace

TEST_CASE("running out of memory halves the micro-batch until it fits, with the same result", "[memory][oom]") {
  const auto options = SmallRunOptions().batch_size(32).epochs(2);
  LogCapture log(spdlog::level::info);
  auto shrunk = small_run(limited_loss(8), options);
  shrunk.trainer->fit(*shrunk.loader);
  const auto& runner = shrunk.trainer->step_runner();
  CHECK(runner.shrinks() == 2);
  CHECK(runner.accumulation_steps() == 4);
  CHECK(runner.micro_batch_size(32) == 8);
  const auto text = log.text();
  CHECK_THAT(text, Contains("step 1 ran out of memory at a micro-batch of 32 examples"));
  CHECK_THAT(text, Contains("Retrying the step with micro-batches of 16 and 2 accumulation steps"));
  CHECK_THAT(text, Contains("micro-batches of 8 and 4 accumulation steps"));
  CHECK_THAT(text, Contains("DefaultCPUAllocator: not enough memory (planted)"));
  CHECK_THAT(text, Contains("memory then: rss"));
  // The new size is announced once, not at every step.
  const auto announced = text.find("keeps this size");
  CHECK(announced != std::string::npos);
  CHECK(text.find("keeps this size", announced + 1) == std::string::npos);

  auto reference = small_run(trainer::cross_entropy, SmallRunOptions(options).step(trainer::StepOptions().accumulation_steps(4)));
  reference.trainer->fit(*reference.loader);
  CHECK(torch::equal(flat_parameters(*shrunk.trainer->model().ptr()), flat_parameters(*reference.trainer->model().ptr())));
}

TEST_CASE("oom_policy fail stops at the first out-of-memory error, saying so", "[memory][oom]") {
  auto run = small_run(limited_loss(8), SmallRunOptions().step(trainer::StepOptions().oom_policy(memory::OomPolicy::kFail)));
  CHECK_THROWS_WITH(run.trainer->fit(*run.loader),
                    Contains("step 1 ran out of memory at a micro-batch of 32 examples") &&
                        Contains("memory.oom_policy is \"fail\""));
}

TEST_CASE("running out of memory at a micro-batch of one example stops with a clear message", "[memory][oom]") {
  auto run = small_run(limited_loss(0), SmallRunOptions().batch_size(4));
  LogCapture log(spdlog::level::warn);
  CHECK_THROWS_AS(run.trainer->fit(*run.loader), trainer::StepError);
  auto again = small_run(limited_loss(0), SmallRunOptions().batch_size(4));
  CHECK_THROWS_WITH(again.trainer->fit(*again.loader), Contains("step 1 ran out of memory even at a micro-batch of 1"));
  CHECK_THAT(log.text(), Contains("micro-batches of 1 and 4 accumulation steps"));
}

TEST_CASE("errors other than out-of-memory pass through unchanged", "[memory][oom]") {
  auto run = small_run([](const torch::Tensor&, const torch::Tensor&) -> torch::Tensor {
    throw std::logic_error("not a memory problem");
  });
  CHECK_THROWS_WITH(run.trainer->fit(*run.loader), "not a memory problem");
  CHECK(run.trainer->step_runner().shrinks() == 0);
}

TEST_CASE("out-of-memory errors are told from others", "[memory][oom]") {
  CHECK(memory::is_out_of_memory(std::bad_alloc()));
  CHECK(memory::is_out_of_memory(c10::OutOfMemoryError({"f", "file", 1}, "CUDA out of memory. Tried to allocate 2 GiB")));
  CHECK(memory::is_out_of_memory(c10::Error({"f", "file", 1}, "DefaultCPUAllocator: not enough memory: you tried")));
  CHECK(memory::is_out_of_memory(c10::Error({"f", "file", 1}, "CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate")));
  CHECK_FALSE(memory::is_out_of_memory(c10::Error({"f", "file", 1}, "shapes cannot be multiplied")));
  CHECK_FALSE(memory::is_out_of_memory(std::runtime_error("out of memory")));  // not from an allocator
}

TEST_CASE("a real allocation failure in LibTorch is recognised", "[memory][oom]") {
  // More than any address space: the CPU allocator refuses it.
  bool recognised = false;
  try {
    auto huge = torch::empty({int64_t(1) << 50}, torch::kFloat);
  } catch (const std::exception& error) {
    INFO(cohort::describe_exception(error));
    recognised = memory::is_out_of_memory(error);
  }
  CHECK(recognised);
}

TEST_CASE("a non-finite loss is skipped under nonfinite_loss skip", "[memory][nonfinite]") {
  auto calls = std::make_shared<int64_t>(0);
  const auto options = SmallRunOptions().batch_size(32).step(trainer::StepOptions().nonfinite_loss(trainer::NonFiniteLoss::kSkip));
  auto run = small_run(nan_on_call(3, calls), options);
  LogCapture log(spdlog::level::warn);
  const auto results = run.trainer->fit(*run.loader);
  CHECK(run.trainer->step_runner().skipped_nonfinite() == 1);
  CHECK(results.back().skipped_nonfinite == 1);
  CHECK(std::isfinite(results.back().train.mean_loss()));
  CHECK(results.back().train.samples == 256 - 32);
  CHECK_THAT(log.text(), Contains("step 3: the loss is nan; the step is skipped"));
  CHECK(torch::isfinite(flat_parameters(*run.trainer->model().ptr())).all().item<bool>());
}

TEST_CASE("a skipped step leaves the parameters as they were", "[memory][nonfinite]") {
  // The second of two steps is NaN: the parameters at its forward pass are the final ones.
  cohort::testing::SmallRun run;
  torch::Tensor before_second;
  int64_t calls = 0;
  run = small_run(
      [&](const torch::Tensor& output, const torch::Tensor& target) {
        auto loss = trainer::cross_entropy(output, target);
        if (++calls != 2) return loss;
        before_second = flat_parameters(*run.trainer->model().ptr());
        return loss * std::numeric_limits<double>::quiet_NaN();
      },
      SmallRunOptions().samples(64).batch_size(32).step(trainer::StepOptions().nonfinite_loss(trainer::NonFiniteLoss::kSkip)));
  run.trainer->fit(*run.loader);
  REQUIRE(before_second.defined());
  CHECK(torch::equal(flat_parameters(*run.trainer->model().ptr()), before_second));
}

TEST_CASE("a non-finite loss stops training under nonfinite_loss fail, naming the step", "[memory][nonfinite]") {
  auto calls = std::make_shared<int64_t>(0);
  auto run = small_run(nan_on_call(3, calls));
  CHECK_THROWS_WITH(run.trainer->fit(*run.loader),
                    Contains("step 3: the loss is nan") && Contains("the last finite loss was") &&
                        Contains("at step 2") && Contains("trainer.nonfinite_loss is \"fail\""));
}

TEST_CASE("out of memory after a shrink, outside a step, says where and leaves a checkpoint", "[memory][oom]") {
  const auto dir = cohort::testing::temporary_directory("oom-later");
  const auto options = SmallRunOptions()
                           .batch_size(32)
                           .output_dir(dir.string())
                           .checkpoint_every(1)
                           .callbacks({std::make_shared<BadAllocAfterStep>(3)});
  auto run = small_run(limited_loss(8), options);
  CHECK_THROWS_WITH(run.trainer->fit(*run.loader),
                    Contains("training ran out of memory after step 3 (epoch 1, 3 of its 8 steps; batches of 32 "
                             "examples in micro-batches of 8): std::bad_alloc") &&
                        Contains("the state after step 3 is in " + (dir / "checkpoints" / "epoch-0000.375.pt").string()));
  CHECK(run.trainer->step_runner().shrinks() == 2);
  // The checkpoint is the state after step 3: resumed, the run goes on from there.
  auto resumed = small_run(limited_loss(8), SmallRunOptions(options).callbacks({}));
  resumed.trainer->resume((dir / "checkpoints" / "epoch-0000.375.pt").string());
  CHECK(resumed.trainer->steps_done() == 3);
  CHECK(torch::equal(flat_parameters(*resumed.trainer->model().ptr()), flat_parameters(*run.trainer->model().ptr())));
}
