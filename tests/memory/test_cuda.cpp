// The memory tools on a real GPU. Each test returns early, with a warning,
// where there is no CUDA device (Catch2 v2 cannot skip).
#include <catch2/catch.hpp>

#ifdef COHORT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "helpers.h"
#include "cohort/memory/batch_size_finder.h"
#include "memory_helpers.h"
#include "cohort/memory/memory_report.h"

using namespace cohort;
using cohort::testing::flat_parameters;
using cohort::testing::have_cuda;
using cohort::testing::LogCapture;
using cohort::testing::small_run;
using cohort::testing::SmallRunOptions;
using Catch::Matchers::Contains;

namespace {


#ifdef COHORT_WITH_CUDA
namespace allocator = c10::cuda::CUDACachingAllocator;

int64_t allocated_peak() {
  using c10::CachingAllocator::StatType;
  return allocator::getDeviceStats(0).allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak;
}
int64_t allocated_now() {
  using c10::CachingAllocator::StatType;
  return allocator::getDeviceStats(0).allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].current;
}

/// Caps the caching allocator for the test's lifetime.
struct MemoryFraction {
  explicit MemoryFraction(double fraction) { allocator::setMemoryFraction(fraction, 0); }
  ~MemoryFraction() {
    allocator::setMemoryFraction(1.0, 0);
    allocator::emptyCache();
  }
};
#endif

/// Activations of about 256 KiB per example: a 16384-wide hidden layer.
config::Json wide_cuda_config(int64_t accumulation) {
  return cohort::testing::synthetic_config({{"data",
                                             {{"train_samples", 2 * 16384}, {"sample_shape", {64}}, {"num_classes", 4},
                                              {"validation_fraction", 0.0}, {"test_samples", 64}}},
                                            {"loader", {{"batch_size", 16384}}},
                                            {"model", {{"name", "mlp"}, {"hidden", {16384}}}},
                                            {"trainer", {{"epochs", 1}, {"accumulation_steps", accumulation}}},
                                            {"memory", {{"leak_check_steps", 0}}},
                                            {"strategy", {{"name", "single"}, {"device", "cuda"}}}});
}

}  // namespace

TEST_CASE("a memory report has each CUDA device's allocated, reserved and peak memory", "[memory][cuda]") {
  if (!have_cuda()) {
    WARN("no CUDA device: test not run");
    return;
  }
  auto block = torch::empty({64 * 1024 * 1024 / 4}, torch::TensorOptions().dtype(torch::kFloat).device(torch::kCUDA));
  const auto report = memory::capture_memory_report();
  REQUIRE(report.cuda.size() >= 1);
  const auto& device = report.cuda.front();
  CHECK(device.device == 0);
  CHECK(device.allocated >= 64 * 1024 * 1024);
  CHECK(device.reserved >= device.allocated);
  CHECK(device.peak >= device.allocated);
  CHECK(device.total > device.reserved);
  const auto json = report.to_json();
  CHECK(json.at("cuda").at(0).at("allocated_mb").get<double>() >= 64.0);
  CHECK_THAT(report.format(), Contains("cuda:0 allocated"));
}

TEST_CASE("a real CUDA out-of-memory error shrinks the micro-batch and leaves the result unchanged", "[memory][oom][cuda]") {
  if (!have_cuda()) {
    WARN("no CUDA device: test not run");
    return;
  }
#ifdef COHORT_WITH_CUDA
  // How much one step at a quarter of the batch takes.
  int64_t quarter = 0;
  {
    job::TrainingJob warmup(wide_cuda_config(4), "test config");
    allocator::resetPeakStats(0);
    const auto before = allocated_now();
    warmup.fit();
    quarter = allocated_peak() - before;
  }
  allocator::emptyCache();
  torch::Tensor shrunk_parameters;
  int64_t accumulation = 0;
  {
    job::TrainingJob job(wide_cuda_config(1), "test config");
    const double total = double(memory::capture_memory_report().cuda.at(0).total);
    const double limit = double(allocated_now()) + 1.5 * double(quarter);
    INFO("one quarter step " << quarter / memory::kMiB << " MiB; limit " << limit / memory::kMiB << " MiB of " << total / memory::kMiB);
    MemoryFraction fraction(limit / total);
    LogCapture log(spdlog::level::warn);
    job.fit();
    const auto& runner = job.trainer().step_runner();
    CHECK(runner.shrinks() >= 1);
    accumulation = runner.accumulation_steps();
    CHECK_THAT(log.text(), Contains("ran out of memory at a micro-batch of 16384 examples") && Contains("CUDA out of memory"));
    shrunk_parameters = flat_parameters(job);
  }
  job::TrainingJob reference(wide_cuda_config(accumulation), "test config");
  reference.fit();
  CHECK(reference.trainer().step_runner().shrinks() == 0);
  CHECK(torch::allclose(shrunk_parameters, flat_parameters(reference), 1e-4, 1e-5));
#endif
}

TEST_CASE("fp16 on CUDA trains with a loss scale, and skips a step whose gradients overflow", "[memory][precision][cuda]") {
  if (!have_cuda()) {
    WARN("no CUDA device: test not run");
    return;
  }
  {
    job::TrainingJob job(cohort::testing::synthetic_config({{"precision", "fp16"},
                                                            {"trainer", {{"epochs", 3}}},
                                                            {"strategy", {{"name", "single"}, {"device", "cuda"}}}}),
                         "test config");
    const auto results = job.fit();
    CHECK(results.back().train.mean_loss() < results.front().train.mean_loss());
    REQUIRE(job.trainer().step_runner().loss_scaler() != nullptr);
    CHECK(job.trainer().step_runner().loss_scaler()->scale() > 1.0);
  }
  cohort::testing::SmallRun run;
  std::vector<torch::Tensor> before;
  run = small_run(
      [&](const torch::Tensor& output, const torch::Tensor& target) {
        before.push_back(flat_parameters(*run.trainer->model().ptr()));
        CHECK(output.scalar_type() == torch::kHalf);
        if (before.size() == 3)
          output.register_hook([](torch::Tensor grad) { return grad * std::numeric_limits<float>::infinity(); });
        return trainer::cross_entropy(output, target);
      },
      SmallRunOptions().samples(128).batch_size(32).device("cuda").step(
          trainer::StepOptions()
              .precision(trainer::Precision::kFp16)
              .loss_scaler(precision::LossScalerOptions().init_scale(256).growth_interval(2))));
  run.trainer->fit(*run.loader);
  CHECK(run.trainer->step_runner().skipped_overflow() == 1);
  CHECK(run.trainer->step_runner().loss_scaler()->scale() == 256);
  REQUIRE(before.size() == 4);
  CHECK(torch::equal(before[2], before[3]));
}

TEST_CASE("on CUDA the batch-size search tries sizes under the memory fraction", "[memory][batch_size][cuda]") {
  if (!have_cuda()) {
    WARN("no CUDA device: test not run");
    return;
  }
  job::TrainingJob job(wide_cuda_config(1), "test config");
  const auto result = memory::find_batch_size(job.trainer().strategy(), job.trainer().options().task(), *job.data().train,
                                              memory::BatchSizeSearchOptions().fraction(0.05).max_batch_size(1 << 20));
  INFO(result.to_json().dump());
  CHECK(result.method == "tried");
  CHECK(result.micro_batch_size > 256);
  CHECK_FALSE(result.reached_max);
  CHECK(result.peak_bytes <= result.budget_bytes);
  bool failed_once = false;
  for (const auto& trial : result.trials) failed_once = failed_once || !trial.fits;
  CHECK(failed_once);
#ifdef COHORT_WITH_CUDA
  allocator::emptyCache();
#endif
}
