// Throughput of the `pipeline` strategy against the number of micro-batches,
// with each stage's idle time measured beside the bubble a pipeline of K
// stages and M micro-batches cannot avoid: (K - 1) / (M + K - 1) of a step.
// One run measures the pipeline of as many stages as there are ranks:
//
//   mpirun -np K build/bin/cohort-bench-pipeline [--micro-batches 1 2 4 8] [--schedule 1f1b|gpipe]
//          [--batch 256] [--width 512] [--layers-per-stage 2] [--delay-us 0]
//          [--steps 12] [--warmup-steps 3] [--repeats 3]
//
// The model is K * layers-per-stage Linear(width, width) + ReLU blocks with a
// cross-entropy loss over `width` classes, cut `layers-per-stage` blocks per
// stage, so every stage does the same work. With --delay-us D, each stage
// also waits D microseconds per example in forward and 2 D in backward
// without using a core (a stand-in for work on a device): with few cores and
// many ranks, that is what shows the schedule itself, since compute-bound
// stages then also wait for a core. Idle time is what a stage spent waiting
// for its neighbours (receives, and sends not yet taken) over the step time;
// besides the bubble it holds the messages' own latency and, with more ranks
// than cores, the time a neighbour was not scheduled at all.
// Rank 0 prints one JSON line per (K, M) and a line for people (starting "#").
#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>
#include <numeric>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"
#include "cohort/models/staged.h"
#include "cohort/strategies/pipeline/pipeline.h"
#include "cohort/trainer/trainer.h"
#include "statistics.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace dist = cohort::distributed;
namespace strategies = cohort::strategies;

struct Settings {
  std::vector<int64_t> micro_batches{1, 2, 4, 8};
  std::string schedule = "1f1b";
  int64_t batch = 256;
  int64_t width = 512;
  int64_t layers_per_stage = 2;
  double delay_us = 0.0;
  int64_t steps = 12;
  int64_t warmup_steps = 3;
  int64_t repeats = 3;
};

void sleep_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

/// Passes its input through, sleeping in forward and twice as long in
/// backward (backward costs about twice forward in real layers).
struct Delay : torch::autograd::Function<Delay> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& input,
                               double seconds) {
    context->saved_data["seconds"] = seconds;
    sleep_seconds(seconds);
    return input.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list gradients) {
    sleep_seconds(2.0 * context->saved_data["seconds"].toDouble());
    return {gradients[0], torch::Tensor()};
  }
};

/// Delay per example of the micro-batch it gets.
class DelayLayerImpl : public torch::nn::Module {
 public:
  explicit DelayLayerImpl(double seconds_per_example) : seconds_per_example_(seconds_per_example) {}
  torch::Tensor forward(torch::Tensor input) {
    return Delay::apply(input, seconds_per_example_ * double(input.size(0)));
  }

 private:
  double seconds_per_example_;
};
TORCH_MODULE(DelayLayer);

/// Stages of equal work: Linear(width, width) + ReLU blocks, and a delay.
class BlocksImpl : public torch::nn::Module, public cohort::models::Staged {
 public:
  BlocksImpl(int64_t stages, const Settings& settings) {
    for (int64_t stage = 0; stage < stages; ++stage) {
      for (int64_t block = 0; block < settings.layers_per_stage; ++block) {
        layers_->push_back(torch::nn::Linear(settings.width, settings.width));
        layers_->push_back(torch::nn::ReLU());
      }
      if (settings.delay_us > 0) layers_->push_back(DelayLayer(settings.delay_us * 1e-6));
    }
    register_module("layers", layers_);
  }
  torch::Tensor forward(torch::Tensor input) { return layers_->forward(input); }
  torch::nn::Sequential layers() const override { return layers_; }

  /// Layers per stage.
  static int64_t per_stage(const Settings& settings) {
    return 2 * settings.layers_per_stage + (settings.delay_us > 0 ? 1 : 0);
  }

 private:
  torch::nn::Sequential layers_;
};
TORCH_MODULE(Blocks);

struct Measurement {
  double samples_per_second = 0.0;
  std::vector<double> idle;  // per stage, share of the step time spent waiting
};

/// Median over `repeats` timed passes of `steps` steps with `micro_batches` micro-batches.
Measurement measure(int64_t micro_batches, const Settings& settings) {
  const int64_t stages = dist::world_size();
  torch::manual_seed(1);
  Blocks model(stages, settings);
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(1e-4));
  strategies::Pipeline pipeline(strategies::PipelineOptions()
                                    .micro_batches(micro_batches)
                                    .schedule(strategies::pipeline::parse_schedule(settings.schedule))
                                    .balance(std::vector<int64_t>(size_t(stages), BlocksImpl::per_stage(settings))));
  pipeline.prepare(torch::nn::AnyModule(model), optimizer);
  const cohort::data::Batch batch{torch::randn({settings.batch, settings.width}),
                                  torch::randint(0, settings.width, {settings.batch})};
  const cohort::strategy::LossFn loss = cohort::trainer::cross_entropy;
  for (int64_t step = 0; step < settings.warmup_steps; ++step) pipeline.train_step(batch, loss);

  std::vector<double> throughputs, idle_shares;
  for (int64_t repeat = 0; repeat < settings.repeats; ++repeat) {
    dist::world()->barrier();
    const double waited = pipeline.wait_seconds();
    const auto start = Clock::now();
    for (int64_t step = 0; step < settings.steps; ++step) pipeline.train_step(batch, loss);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // The last stage finishes a step first; every stage's time counts, the longest is the step's.
    auto longest = torch::tensor({seconds}, torch::kFloat64);
    dist::world()->allreduce(longest, dist::ReduceOp::kMax);
    throughputs.push_back(double(settings.steps * settings.batch) / longest.item<double>());
    idle_shares.push_back((pipeline.wait_seconds() - waited) / seconds);
  }
  Measurement result;
  result.samples_per_second = cohort::bench::median(throughputs);
  const auto idle = dist::world()->allgather(torch::tensor({cohort::bench::median(idle_shares)}, torch::kFloat64));
  for (int64_t stage = 0; stage < stages; ++stage) result.idle.push_back(idle[stage].item<double>());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  dist::initialize(&argc, &argv);
  CLI::App app{"Cohort's pipeline strategy: throughput and idle time against micro-batches, one stage per rank."};
  Settings settings;
  app.add_option("--micro-batches", settings.micro_batches, "micro-batch counts to measure");
  app.add_option("--schedule", settings.schedule, "gpipe or 1f1b")->check(CLI::IsMember({"gpipe", "1f1b"}));
  app.add_option("--batch", settings.batch, "examples per step");
  app.add_option("--width", settings.width, "width of every Linear layer");
  app.add_option("--layers-per-stage", settings.layers_per_stage, "Linear + ReLU blocks per stage");
  app.add_option("--delay-us", settings.delay_us,
                 "microseconds per example each stage waits in forward (twice that in backward)");
  app.add_option("--steps", settings.steps, "steps per timed pass");
  app.add_option("--warmup-steps", settings.warmup_steps, "untimed steps first");
  app.add_option("--repeats", settings.repeats, "timed passes (the median counts)");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);  // one core per rank at most; more ranks than cores share them
  cohort::logging::setup(dist::world_rank(), "warn");

  const int64_t stages = dist::world_size();
  for (const auto micro_batches : settings.micro_batches) {
    const auto result = measure(micro_batches, settings);
    if (dist::world_rank() != 0) continue;
    const double bubble = double(stages - 1) / double(micro_batches + stages - 1);
    const double mean_idle = std::accumulate(result.idle.begin(), result.idle.end(), 0.0) / double(stages);
    std::cout << nlohmann::json{{"stages", stages},
                                {"micro_batches", micro_batches},
                                {"schedule", settings.schedule},
                                {"batch", settings.batch},
                                {"width", settings.width},
                                {"delay_us", settings.delay_us},
                                {"samples_per_second", result.samples_per_second},
                                {"idle", result.idle},
                                {"mean_idle", mean_idle},
                                {"bubble_formula", bubble}}
                     .dump()
              << "\n";
    std::cout << fmt::format("# K={} M={} {}{}: {:.0f} samples/s, idle per stage [{:.2f}], mean {:.2f}, (K-1)/(M+K-1) "
                             "= {:.2f}\n",
                             stages, micro_batches, settings.schedule,
                             settings.delay_us > 0 ? fmt::format(" delay {} us", settings.delay_us) : "",
                             result.samples_per_second,
                             fmt::join(result.idle, ", "), mean_idle, bubble);
  }
  return 0;
}
