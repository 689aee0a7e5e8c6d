// The leak warning: fires on memory that grows step after step, not on noise,
// warm-up or a one-off rise.
#include <catch2/catch.hpp>

#include <random>

#include "memory_helpers.h"
#include "cohort/memory/memory_report.h"

using namespace cohort;
using cohort::testing::LogCapture;
using cohort::testing::small_run;
using cohort::testing::SmallRunOptions;
using Catch::Matchers::Contains;

namespace {


memory::LeakDetector detector(int64_t window = 10) {
  return memory::LeakDetector(
      memory::LeakDetectorOptions().every(1).window(window).warmup_samples(2).threshold_bytes(1 * memory::kMiB),
      [] { return 0.0; }, "test memory");
}

/// Feeds `values` (one per step) and counts the warnings.
int64_t warnings(memory::LeakDetector& leak, const std::vector<double>& values) {
  int64_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) count += leak.add_sample(int64_t(i + 1), values[i]).has_value();
  return count;
}

}  // namespace

TEST_CASE("the leak detector: noise, warm-up and one-off rises are not leaks", "[memory][leak]") {
  std::mt19937 random(42);
  std::normal_distribution<double> noise(0.0, 0.5 * memory::kMiB);
  const double base = 400 * memory::kMiB;

  std::vector<double> noisy;
  for (int i = 0; i < 2000; ++i) noisy.push_back(base + noise(random));
  auto leak = detector();
  CHECK(warnings(leak, noisy) == 0);

  std::vector<double> warm_up;  // rises for 8 samples, then flat with noise
  for (int i = 0; i < 300; ++i) warm_up.push_back(base + std::min(i, 8) * 4 * memory::kMiB + noise(random) * 0.1);
  leak = detector();
  CHECK(warnings(leak, warm_up) == 0);

  std::vector<double> step;  // one jump (a bigger batch, the optimizer's state)
  for (int i = 0; i < 300; ++i) step.push_back(base + (i >= 150 ? 50 * memory::kMiB : 0.0) + noise(random) * 0.1);
  leak = detector();
  CHECK(warnings(leak, step) == 0);

  std::vector<double> sawtooth;  // a cache that fills and empties every few samples
  for (int i = 0; i < 300; ++i) sawtooth.push_back(base + (i % 5) * memory::kMiB);
  leak = detector();
  CHECK(warnings(leak, sawtooth) == 0);
}

TEST_CASE("the leak detector: a steady rise is a leak, with its rate per step", "[memory][leak]") {
  std::mt19937 random(7);
  std::normal_distribution<double> noise(0.0, 0.1 * memory::kMiB);
  std::vector<double> leaking;
  for (int i = 0; i < 40; ++i) leaking.push_back(300 * memory::kMiB + i * 0.5 * memory::kMiB + noise(random));
  auto leak = detector();
  std::optional<memory::LeakWarning> first;
  for (size_t i = 0; i < leaking.size() && !first; ++i) first = leak.add_sample(int64_t(i + 1) * 10, leaking[i]);
  REQUIRE(first);
  CHECK(first->bytes_per_step == Approx(0.05 * memory::kMiB).epsilon(0.2));  // 0.5 MiB per sample of 10 steps
  CHECK(first->first_step == 30);  // two warm-up samples skipped
  CHECK(first->last_step == 120);
  CHECK_THAT(first->message(), Contains("test memory rose by") && Contains("per step") &&
                                   Contains("total += loss.item<double>()"));
  // Another warning needs a new window of growth.
  CHECK(warnings(leak, std::vector<double>(5, 400 * memory::kMiB)) == 0);
}

TEST_CASE("a training loop that keeps its outputs with their graphs is warned about, a healthy one is not",
          "[memory][leak]") {
  // 1000 classes: each step's output is 32 x 1000 floats, 125 KiB.
  const auto options = SmallRunOptions()
                           .samples(2048)
                           .batch_size(32)
                           .classes(1000)
                           .epochs(2)
                           .lr(0.01)
                           .leak_check(memory::LeakDetectorOptions().every(2).window(8).threshold_bytes(1 * memory::kMiB));
  {
    // Predictions kept for later without .detach(): each holds its step's graph.
    std::vector<torch::Tensor> kept;
    auto leaky = small_run(
        [&](const torch::Tensor& output, const torch::Tensor& target) {
          kept.push_back(output);
          return trainer::cross_entropy(output, target);
        },
        options);
    LogCapture log(spdlog::level::warn);
    leaky.trainer->fit(*leaky.loader);
    CHECK(leaky.trainer->leak_detector().warnings() >= 1);
    CHECK_THAT(log.text(), Contains("memory keeps growing: the CPU heap in use rose by") && Contains("per step"));
  }
  {
    std::vector<torch::Tensor> kept;
    auto healthy = small_run(
        [&](const torch::Tensor& output, const torch::Tensor& target) {
          if (kept.size() < 4) kept.push_back(output.detach().argmax(1));  // a few, and without their graphs
          return trainer::cross_entropy(output, target);
        },
        options);
    LogCapture log(spdlog::level::warn);
    healthy.trainer->fit(*healthy.loader);
    CHECK(healthy.trainer->leak_detector().warnings() == 0);
    CHECK(log.text().find("memory keeps growing") == std::string::npos);
  }
}

TEST_CASE("a running total of the loss kept as a tensor is warned about", "[memory][leak]") {
  // total = total + loss keeps every step's graph alive. Backward has freed
  // the activations it saved, so what grows is the graph itself: a few KiB per
  // step, found over a longer window with a lower threshold.
  const auto options = SmallRunOptions()
                           .samples(4096)
                           .batch_size(16)
                           .epochs(1)
                           .lr(0.01)
                           .leak_check(memory::LeakDetectorOptions().every(10).window(10).threshold_bytes(64 * 1024));
  torch::Tensor total = torch::zeros({});
  auto leaky = small_run(
      [&](const torch::Tensor& output, const torch::Tensor& target) {
        auto loss = trainer::cross_entropy(output, target);
        total = total + loss;
        return loss;
      },
      options);
  LogCapture log(spdlog::level::warn);
  leaky.trainer->fit(*leaky.loader);
  INFO(log.text());
  CHECK(leaky.trainer->leak_detector().warnings() >= 1);
  double running = 0.0;
  auto healthy = small_run(
      [&](const torch::Tensor& output, const torch::Tensor& target) {
        auto loss = trainer::cross_entropy(output, target);
        running += loss.item<double>();
        return loss;
      },
      options);
  healthy.trainer->fit(*healthy.loader);
  CHECK(healthy.trainer->leak_detector().warnings() == 0);
}
