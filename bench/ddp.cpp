// Benchmarks of Cohort's `ddp` strategy on the CPU, run under MPI (2 ranks, one
// LibTorch thread each). Every subcommand prints, from rank 0, one JSON line
// per result and one line for people (starting with "#").
//
//   mpirun -np 2 build/bin/cohort-bench-ddp trainer  --model mlp [--steps 0] [--repeats 3]
//   mpirun -np 2 build/bin/cohort-bench-ddp vs-loop  --model mlp|cnn [--steps 0] [--repeats 6]
//   mpirun -np 2 build/bin/cohort-bench-ddp buckets  [--layers 200] [--width 32] [--iterations 200]
//   mpirun -np 2 build/bin/cohort-bench-ddp overlap  [--hidden 1024 ...] [--steps 20] [--repeats 6]
//   (before the subcommand: --threads N, --mpi-blocking-collectives)
//
// trainer: Cohort's Trainer with the ddp strategy alone, measured as
//   bench/peers/pytorch_ddp.py measures PyTorch's DDP (run_ddp_benchmarks.sh
//   alternates the two).
// vs-loop: the same against a minimal hand-written LibTorch loop with one flat
//   MPI_Allreduce per step, alternating ABBA in one mpirun, with a third,
//   diagnostic variant: the ddp strategy's train_step without the Trainer.
//   Design target: Cohort within 10% of the loop.
// buckets: the time to average the gradients of a model with many small
//   tensors: GradientReducer's buckets (default caps), one bucket per
//   parameter, one blocking allreduce per parameter, and one allreduce of a
//   flat tensor of the same bytes (through the communicator, through a
//   blocking MPI_Allreduce, and with the hand-written loop's copies).
//   Targets: buckets >= 3x faster than one allreduce per parameter and
//   within 10% of the flat one.
// overlap: step time of Cohort's DDP with bucket allreduces started during
//   backward (overlap on) and after it (off), ABBA.
//
// Models and optimizers are those of configs/fmnist_mlp.json (MLP 784-256-256-10,
// dropout 0.1, SGD lr 0.05 momentum 0.9 Nesterov, weight decay 1e-4) and
// configs/fmnist_cnn.json (CNN 32-64 channels, hidden 128, dropout 0.25, AdamW
// lr 1e-3, weight decay 0.01), without learning-rate schedules; batch 64 per rank.
// Samples per second are global (all ranks): all ranks' samples over the
// slowest rank's time.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/fashion_mnist.h"
#include "cohort/distributed/communicator.h"
#include "cohort/distributed/runtime.h"
#include "cohort/distributed/wait_policy.h"
#include "cohort/models/cnn.h"
#include "cohort/models/mlp.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/ddp/gradient_reducer.h"
#include "cohort/trainer/trainer.h"
#include "statistics.h"

namespace {

using Clock = std::chrono::steady_clock;
using cohort::bench::median;
using cohort::data::TensorDataset;
namespace dist = cohort::distributed;
namespace strategies = cohort::strategies;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int rank() { return dist::world_rank(); }
int world() { return dist::world_size(); }

/// The largest of every rank's `value` (the slowest rank's time).
double max_over_ranks(double value) {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return value;
}

/// Element-wise maximum over ranks of a vector of timings.
std::vector<double> max_over_ranks(std::vector<double> values) {
  MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return values;
}

/// Whether the world communicator was made with mpi_blocking_collectives.
bool blocking_collectives = false;

void emit(nlohmann::json result, const std::string& human) {
  if (rank() != 0) return;
  result["mpi_blocking_collectives"] = blocking_collectives;
  // The mode decides how ranks wait; on a machine whose load comes and goes it is what explains a figure.
  result["wait_mode"] = dist::to_string(dist::wait_mode());
  result["wait_mode_reason"] = dist::wait_mode_reason();
  std::cout << result.dump() << "\n# " << human << (blocking_collectives ? " [blocking MPI collectives]" : "")
            << " [wait: " << dist::to_string(dist::wait_mode()) << "]" << std::endl;
}

// ---------------------------------------------------------------- models

struct Job {
  torch::nn::AnyModule model;
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  std::vector<torch::Tensor> parameters;
};

/// The model and optimizer of configs/fmnist_<name>.json; "wide" is the MLP
/// with `hidden` layers (for the overlap benchmark), optimized like the MLP.
Job make_job(const std::string& name, const std::vector<int64_t>& hidden = {}) {
  torch::manual_seed(0);  // the same initial weights on every rank and every pass
  Job job;
  if (name == "cnn") {
    cohort::models::Cnn model(cohort::models::CnnOptions({1, 28, 28}, 10).channels({32, 64}).hidden(128).dropout(0.25));
    job.parameters = model->parameters();
    job.model = torch::nn::AnyModule(model);
    job.optimizer = std::make_shared<torch::optim::AdamW>(job.parameters,
                                                          torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
    return job;
  }
  cohort::models::Mlp model(cohort::models::MlpOptions(784, 10)
                                .hidden(name == "wide" ? hidden : std::vector<int64_t>{256, 256})
                                .dropout(0.1));
  job.parameters = model->parameters();
  job.model = torch::nn::AnyModule(model);
  job.optimizer = std::make_shared<torch::optim::SGD>(
      job.parameters, torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
  return job;
}

// ---------------------------------------------------------------- data

std::shared_ptr<TensorDataset> train_data() {
  return cohort::data::load_fashion_mnist(cohort::data::kFashionMnistDirectory,
                                          cohort::data::FashionMnistSplit::kTrain);
}

/// This rank's loader: Cohort's distributed sampling (the epoch's order of the
/// whole set dealt round-robin to the ranks, as PyTorch's DistributedSampler does).
cohort::data::DataLoader rank_loader(const std::shared_ptr<TensorDataset>& data, int64_t batch, uint64_t seed) {
  return cohort::data::DataLoader(
      data, cohort::data::DataLoaderOptions().batch_size(batch).seed(seed).num_replicas(world()).rank(rank()));
}

/// The same shard of the same epoch order, for the hand-written loop.
torch::Tensor rank_order(int64_t n, uint64_t seed) {
  return torch::tensor(cohort::data::seeded_permutation(n, seed)).slice(0, rank(), n, world()).contiguous();
}

// ---------------------------------------------------------------- Cohort

/// As a config's "overlap": "auto" gives it on the CPU: buckets after backward,
/// over blocking MPI calls, unless overlap is asked for.
std::shared_ptr<strategies::Ddp> make_ddp(bool overlap = false, double bucket_cap_mb = 25.0) {
  return std::make_shared<strategies::Ddp>(
      strategies::DdpOptions()
          .device(torch::kCPU)
          .reducer(strategies::ddp::GradientReducerOptions().bucket_cap_mb(bucket_cap_mb).first_bucket_mb(1.0).overlap(
              overlap))
          .broadcast_buffers(true));
}

struct Pass {
  double samples_per_second;  // global
  double seconds;             // slowest rank
  int64_t samples;            // global
};

/// One pass (a whole epoch of this rank's shard, or `steps` steps) of Cohort's
/// Trainer with the ddp strategy, timed around fit() (after the strategy has
/// prepared the model: the parameter broadcast is not counted).
Pass cohort_pass(const std::string& model, const std::vector<int64_t>& hidden,
                 const std::shared_ptr<TensorDataset>& data, int64_t batch, int64_t steps, uint64_t seed,
                 std::shared_ptr<strategies::Ddp> ddp = nullptr) {
  auto job = make_job(model, hidden);
  const auto loader = rank_loader(data, batch, seed);
  cohort::trainer::Trainer trainer(job.model, job.optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(1)
                                       .max_steps_per_epoch(steps)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .strategy(ddp ? ddp : make_ddp()));
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = Clock::now();
  const auto result = trainer.fit(loader);
  const double seconds = max_over_ranks(seconds_since(start));
  const int64_t samples = result.back().train.samples;  // reduced over the ranks by the strategy
  return {double(samples) / seconds, seconds, samples};
}

// ---------------------------------------------------------------- hand-written

/// The loop everybody writes by hand for data-parallel training: in-memory
/// tensors, batches gathered with index_select from this rank's shard, after
/// backward all gradients copied into one flat buffer, one MPI_Allreduce per
/// step, divided by the world size, copied back, optimizer step, one loss read.
Pass hand_written_pass(const std::string& model, const TensorDataset& data, int64_t batch, int64_t steps,
                       uint64_t seed) {
  auto job = make_job(model);
  int64_t numel = 0;
  for (const auto& p : job.parameters) numel += p.numel();
  auto flat = torch::empty({numel}, torch::kFloat32);
  const auto order = rank_order(data.size(), seed);
  const int64_t n = order.size(0);
  const int64_t num_steps = steps > 0 ? std::min(steps, (n + batch - 1) / batch) : (n + batch - 1) / batch;
  job.model.ptr()->train();
  int64_t samples = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = Clock::now();
  for (int64_t step = 0; step < num_steps; ++step) {
    const auto indices = order.slice(0, step * batch, std::min((step + 1) * batch, n));
    const auto input = data.data().index_select(0, indices);
    const auto target = data.targets().index_select(0, indices);
    job.optimizer->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(job.model.forward(input), target);
    loss.backward();
    int64_t offset = 0;
    for (const auto& p : job.parameters) {
      flat.slice(0, offset, offset + p.numel()).copy_(p.grad().view(-1));
      offset += p.numel();
    }
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    flat.div_(world());
    offset = 0;
    for (const auto& p : job.parameters) {
      p.mutable_grad().view(-1).copy_(flat.slice(0, offset, offset + p.numel()));
      offset += p.numel();
    }
    job.optimizer->step();
    volatile double keep = loss.item<double>();
    (void)keep;
    samples += input.size(0);
  }
  const double seconds = max_over_ranks(seconds_since(start));
  double global = double(samples);
  MPI_Allreduce(MPI_IN_PLACE, &global, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return {global / seconds, seconds, int64_t(global)};
}

// ---------------------------------------------------------------- subcommands

struct Common {
  std::string model = "mlp";
  int64_t batch = 64;
  int64_t steps = 0;  // 0 = whole epochs
  int repeats = 6;
  int64_t warmup_steps = 30;
};

std::vector<double> rates(const std::vector<Pass>& passes) {
  std::vector<double> out;
  for (const auto& p : passes) out.push_back(p.samples_per_second);
  return out;
}

std::vector<double> rounded(std::vector<double> values, double unit = 1.0) {
  for (auto& v : values) v = std::round(v / unit) * unit;
  return values;
}

void run_trainer(const Common& c) {
  const auto data = train_data();
  cohort_pass(c.model, {}, data, c.batch, c.warmup_steps, 1000);
  std::vector<Pass> passes;
  for (int r = 0; r < c.repeats; ++r) passes.push_back(cohort_pass(c.model, {}, data, c.batch, c.steps, r));
  const double rate = median(rates(passes));
  emit({{"system", "cohort_ddp"}, {"model", c.model}, {"ranks", world()}, {"batch_per_rank", c.batch},
        {"threads_per_rank", torch::get_num_threads()}, {"steps_per_pass", c.steps}, {"repeats", c.repeats},
        {"samples_per_second", rate}, {"all_samples_per_second", rounded(rates(passes), 0.1)}},
       fmt::format("cohort ddp {}: {:.0f} samples/s (median of {})", c.model, rate, c.repeats));
}

/// Cohort's ddp strategy driven by hand, without the Trainer and its
/// DataLoader (train_step on batches gathered as the hand-written loop does):
/// tells the strategy's cost from the Trainer's.
Pass strategy_pass(const std::string& model, const TensorDataset& data, int64_t batch, int64_t steps, uint64_t seed) {
  auto job = make_job(model);
  auto ddp = make_ddp();
  ddp->prepare(job.model, job.optimizer);
  job.model.ptr()->train();
  const auto order = rank_order(data.size(), seed);
  const int64_t n = order.size(0);
  const int64_t num_steps = steps > 0 ? std::min(steps, (n + batch - 1) / batch) : (n + batch - 1) / batch;
  int64_t samples = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = Clock::now();
  for (int64_t step = 0; step < num_steps; ++step) {
    const auto indices = order.slice(0, step * batch, std::min((step + 1) * batch, n));
    samples += ddp->train_step({data.data().index_select(0, indices), data.targets().index_select(0, indices)},
                               cohort::trainer::cross_entropy)
                   .samples;
  }
  const double seconds = max_over_ranks(seconds_since(start));
  double global = double(samples);
  MPI_Allreduce(MPI_IN_PLACE, &global, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return {global / seconds, seconds, int64_t(global)};
}

void run_vs_loop(const Common& c) {
  const auto data = train_data();
  // A: the hand-written loop; B: Cohort's Trainer with ddp; C (diagnostic):
  // the ddp strategy without the Trainer.
  std::vector<std::function<Pass(int64_t, uint64_t)>> kinds = {
      [&](int64_t steps, uint64_t seed) { return hand_written_pass(c.model, *data, c.batch, steps, seed); },
      [&](int64_t steps, uint64_t seed) { return cohort_pass(c.model, {}, data, c.batch, steps, seed); },
      [&](int64_t steps, uint64_t seed) { return strategy_pass(c.model, *data, c.batch, steps, seed); }};
  const int count = int(kinds.size());
  for (auto& kind : kinds) kind(c.warmup_steps, 1000);
  std::vector<std::vector<Pass>> passes(kinds.size());
  for (int r = 0; r < c.repeats; ++r)
    for (int k = 0; k < count; ++k) {
      // ABBA-style: the order rotates and reverses from repeat to repeat, so
      // none always inherits another's warm caches.
      const int which = (r % 2 == 0 ? k + r / 2 : count - 1 - k + r / 2) % count;
      passes[which].push_back(kinds[which](c.steps, r));
    }
  const double h = median(rates(passes[0])), o = median(rates(passes[1])), s = median(rates(passes[2]));
  // The machine's speed drifts over seconds; the ratio of passes run next to
  // each other (the same repeat) cancels most of that drift.
  std::vector<double> paired, paired_strategy;
  for (int r = 0; r < c.repeats; ++r) {
    paired.push_back(passes[1][r].samples_per_second / passes[0][r].samples_per_second);
    paired_strategy.push_back(passes[2][r].samples_per_second / passes[0][r].samples_per_second);
  }
  emit({{"benchmark", "ddp_vs_hand_written"}, {"model", c.model}, {"ranks", world()}, {"batch_per_rank", c.batch},
        {"threads_per_rank", torch::get_num_threads()}, {"steps_per_pass", c.steps}, {"repeats", c.repeats},
        {"hand_written_samples_per_second", h}, {"cohort_samples_per_second", o}, {"cohort_over_hand_written", o / h},
        {"strategy_only_samples_per_second", s}, {"strategy_only_over_hand_written", s / h},
        {"cohort_over_hand_written_paired_median", median(paired)},
        {"strategy_only_over_hand_written_paired_median", median(paired_strategy)},
        {"all_hand_written", rounded(rates(passes[0]))}, {"all_cohort", rounded(rates(passes[1]))},
        {"all_strategy_only", rounded(rates(passes[2]))}},
       fmt::format("{} vs-loop: hand-written {:.0f}, Cohort ddp {:.0f} samples/s, Cohort/hand-written {:.3f} "
                   "(median of paired ratios {:.3f}; ddp strategy without the Trainer: {:.0f}, {:.3f})",
                   c.model, h, o, o / h, median(paired), s, s / h));
}

void run_buckets(int layers, int64_t width, int iterations) {
  // Parameters shaped like `layers` Linear(width, width) layers: many small tensors.
  torch::manual_seed(0);
  std::vector<torch::Tensor> params;
  for (int i = 0; i < layers; ++i) {
    params.push_back(torch::randn({width, width}).requires_grad_());
    params.push_back(torch::randn({width}).requires_grad_());
  }
  std::vector<torch::Tensor> seeds;  // the gradients "backward" delivers
  int64_t numel = 0;
  for (const auto& p : params) {
    seeds.push_back(torch::randn_like(p));
    numel += p.numel();
  }
  auto comm = dist::world(torch::kCPU);

  using strategies::ddp::GradientReducer;
  using strategies::ddp::GradientReducerOptions;
  // The reducer reduces at the end of the backward pass that makes its
  // gradients (overlap off: every bucket after backward), so each variant is
  // timed as a backward pass plus its reduction. The backward pass is the
  // cheapest there is: autograd::backward on the leaves themselves runs only
  // their gradient accumulators (whose post hooks drive the reducer). The
  // same backward alone is timed next to the variants in every iteration, and
  // a variant's reduction time is its time minus that baseline, iteration by
  // iteration (median over iterations).
  GradientReducer bucketed(params, comm, GradientReducerOptions().overlap(false));
  // Caps far below one parameter's bytes: each parameter is a bucket of its own.
  GradientReducer per_bucket(params, comm,
                             GradientReducerOptions().overlap(false).bucket_cap_mb(1e-9).first_bucket_mb(1e-9));
  const size_t bucketed_count = bucketed.bucket_layout().size(), per_count = per_bucket.bucket_layout().size();
  // Both reducers hook the same parameters; the one not measured is told not
  // to synchronise, and then its hooks return at once.
  auto backward_for = [&](GradientReducer* reducer) {
    bucketed.set_synchronize(reducer == &bucketed);
    per_bucket.set_synchronize(reducer == &per_bucket);
    torch::autograd::backward(params, seeds);
  };
  auto flat = torch::randn({numel});

  enum Variant { kBaseline, kBucketed, kPerBucket, kPerParameter, kFlat, kFlatMpi, kFlatCopies, kVariants };
  const char* names[] = {"backward_only",  "bucketed",           "one_bucket_per_parameter", "allreduce_per_parameter",
                         "flat_allreduce", "flat_mpi_allreduce", "flat_allreduce_with_copies"};
  std::vector<std::vector<double>> times(kVariants);
  auto run_variant = [&](int v) -> double {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = Clock::now();
    switch (v) {
      case kBaseline: backward_for(nullptr); break;
      case kBucketed: backward_for(&bucketed); break;
      case kPerBucket: backward_for(&per_bucket); break;
      case kPerParameter:
        backward_for(nullptr);
        for (auto& p : params) comm->allreduce(p.grad(), dist::ReduceOp::kAvg);
        break;
      case kFlat:
        backward_for(nullptr);
        comm->allreduce(flat, dist::ReduceOp::kAvg);
        break;
      case kFlatMpi:  // the same bytes through a blocking MPI_Allreduce, not the communicator
        backward_for(nullptr);
        MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        flat.div_(world());
        break;
      case kFlatCopies: {  // what the hand-written loop does: copy in, one MPI_Allreduce, scale, copy out
        backward_for(nullptr);
        int64_t offset = 0;
        for (const auto& p : params) {
          flat.slice(0, offset, offset + p.numel()).copy_(p.grad().view(-1));
          offset += p.numel();
        }
        MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        flat.div_(world());
        offset = 0;
        for (const auto& p : params) {
          p.mutable_grad().view(-1).copy_(flat.slice(0, offset, offset + p.numel()));
          offset += p.numel();
        }
        break;
      }
    }
    const double seconds = seconds_since(start);
    for (auto& p : params) p.mutable_grad().zero_();  // keep the values bounded; not timed
    return seconds;
  };
  for (int i = 0; i < 10; ++i)
    for (int v = 0; v < kVariants; ++v) run_variant(v);  // warm-up
  for (int i = 0; i < iterations; ++i)
    for (int k = 0; k < kVariants; ++k) {
      // Rotate the order, and reverse it every other iteration.
      const int v = (i % 2 == 0 ? k + i / 2 : kVariants - 1 - k + i / 2) % kVariants;
      times[v].push_back(run_variant(v));
    }
  // Each iteration's time is the slower rank's.
  for (auto& t : times) t = max_over_ranks(t);
  std::vector<double> total(kVariants), reduce(kVariants);
  for (int v = 0; v < kVariants; ++v) {
    total[v] = median(times[v]) * 1e6;
    std::vector<double> difference;
    for (int i = 0; i < iterations; ++i) difference.push_back(times[v][i] - times[kBaseline][i]);
    reduce[v] = median(difference) * 1e6;
  }
  nlohmann::json result = {{"benchmark", "ddp_buckets"},
                           {"ranks", world()},
                           {"parameters", params.size()},
                           {"elements", numel},
                           {"bytes", numel * 4},
                           {"iterations", iterations},
                           {"buckets_default_caps", bucketed_count},
                           {"buckets_per_parameter", per_count}};
  for (int v = 0; v < kVariants; ++v) {
    result[std::string(names[v]) + "_total_us"] = total[v];
    if (v != kBaseline) result[std::string(names[v]) + "_us"] = reduce[v];
  }
  result["per_parameter_over_bucketed"] = reduce[kPerParameter] / reduce[kBucketed];
  result["one_bucket_per_parameter_over_bucketed"] = reduce[kPerBucket] / reduce[kBucketed];
  result["bucketed_over_flat"] = reduce[kBucketed] / reduce[kFlat];
  result["bucketed_over_flat_mpi"] = reduce[kBucketed] / reduce[kFlatMpi];
  result["bucketed_over_flat_with_copies"] = reduce[kBucketed] / reduce[kFlatCopies];
  emit(result,
       fmt::format("buckets: {} tensors, {:.0f} KiB; reduction only (backward alone {:.0f} us subtracted): "
                   "bucketed ({} buckets) {:.0f} us, one bucket per parameter {:.0f} us, allreduce per parameter "
                   "{:.0f} us, flat allreduce {:.0f} us (blocking MPI_Allreduce {:.0f} us), flat with copies {:.0f} us; "
                   "per-parameter/bucketed "
                   "{:.2f}x, bucketed/flat {:.3f}",
                   params.size(), numel * 4 / 1024.0, total[kBaseline], bucketed_count, reduce[kBucketed],
                   reduce[kPerBucket], reduce[kPerParameter], reduce[kFlat], reduce[kFlatMpi], reduce[kFlatCopies],
                   reduce[kPerParameter] / reduce[kBucketed], reduce[kBucketed] / reduce[kFlat]));
}

void run_overlap(const Common& c, const std::vector<int64_t>& hidden, double bucket_cap_mb) {
  const auto data = train_data();
  const std::string model = c.model == "mlp" ? "wide" : c.model;
  auto pass = [&](bool overlap, uint64_t seed, int64_t steps) {
    return cohort_pass(model, hidden, data, c.batch, steps, seed, make_ddp(overlap, bucket_cap_mb));
  };
  pass(true, 1000, c.warmup_steps);
  pass(false, 1000, c.warmup_steps);
  std::vector<double> on, off;  // ms per step
  const int64_t steps = c.steps;
  for (int r = 0; r < c.repeats; ++r) {
    auto ms = [&](const Pass& p) { return p.seconds * 1e3 / double(steps); };
    if (r % 2 == 0) on.push_back(ms(pass(true, r, steps)));
    off.push_back(ms(pass(false, r, steps)));
    if (r % 2 == 1) on.push_back(ms(pass(true, r, steps)));
  }
  int64_t numel = 0;
  for (const auto& p : make_job(model, hidden).parameters) numel += p.numel();
  const double a = median(on), b = median(off);
  std::string shape = model == "cnn" ? "cnn" : "mlp 784";
  if (model != "cnn")
    for (auto h : hidden) shape += fmt::format("-{}", h);
  if (model != "cnn") shape += "-10";
  emit({{"benchmark", "ddp_overlap"}, {"model", shape}, {"gradient_bytes", numel * 4}, {"ranks", world()},
        {"batch_per_rank", c.batch}, {"bucket_cap_mb", bucket_cap_mb}, {"steps_per_pass", steps},
        {"repeats", c.repeats}, {"overlap_on_ms_per_step", a}, {"overlap_off_ms_per_step", b},
        {"off_over_on", b / a}, {"all_on", rounded(on, 0.01)}, {"all_off", rounded(off, 0.01)}},
       fmt::format("overlap ({}, {:.1f} MB of gradients, bucket cap {} MB): on {:.2f} ms/step, off {:.2f} ms/step, "
                   "off/on {:.3f}",
                   shape, numel * 4 / 1e6, bucket_cap_mb, a, b, b / a));
}

}  // namespace

int main(int argc, char** argv) {
  dist::initialize(&argc, &argv);
  CLI::App app{"Cohort's ddp strategy on the CPU: against a hand-written loop, bucket and overlap costs."};
  app.require_subcommand(1);
  int threads = 1;
  app.add_option("--threads", threads, "LibTorch threads per rank");
  app.add_flag("--mpi-blocking-collectives", blocking_collectives,
               "make the world communicator with CommunicatorOptions::mpi_blocking_collectives (off by default, "
               "the communicator's default)");

  auto add_common = [&](CLI::App* sub, Common& common) {
    sub->add_option("--model", common.model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}));
    sub->add_option("--batch", common.batch, "batch per rank");
    sub->add_option("--steps", common.steps, "steps per timed pass (0 = a whole epoch of this rank's shard)");
    sub->add_option("--repeats", common.repeats, "timed passes of each");
    sub->add_option("--warmup-steps", common.warmup_steps, "untimed steps first");
  };
  Common trainer_common, vs_common;
  trainer_common.repeats = 3;
  auto* trainer = app.add_subcommand("trainer", "Cohort's Trainer with the ddp strategy alone (vs PyTorch DDP)");
  add_common(trainer, trainer_common);
  auto* vs_loop = app.add_subcommand("vs-loop", "Cohort's ddp against a hand-written MPI_Allreduce loop, ABBA");
  add_common(vs_loop, vs_common);

  int layers = 200, iterations = 200;
  int64_t width = 32;
  auto* buckets = app.add_subcommand("buckets", "gradient averaging: buckets vs per-parameter vs one flat allreduce");
  buckets->add_option("--layers", layers, "Linear(width, width) layers' worth of parameters (2 tensors each)");
  buckets->add_option("--width", width, "width of each layer");
  buckets->add_option("--iterations", iterations, "timed reductions of each kind");

  std::vector<int64_t> hidden{1024, 1024, 1024, 1024};
  double bucket_cap_mb = 25.0;
  Common overlap_common;
  auto* overlap = app.add_subcommand("overlap", "step time with overlap on vs off, ABBA");
  overlap->add_option("--model", overlap_common.model, "mlp (with --hidden) or cnn")
      ->check(CLI::IsMember({"mlp", "cnn"}));
  overlap->add_option("--hidden", hidden, "hidden widths of the MLP");
  overlap->add_option("--bucket-cap-mb", bucket_cap_mb, "bucket cap");
  overlap_common.steps = 20;
  overlap_common.repeats = 6;
  overlap_common.warmup_steps = 5;
  overlap->add_option("--steps", overlap_common.steps, "steps per timed pass")->check(CLI::PositiveNumber);
  overlap->add_option("--repeats", overlap_common.repeats, "timed passes of each");
  overlap->add_option("--warmup-steps", overlap_common.warmup_steps, "untimed steps first");

  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  spdlog::set_level(spdlog::level::warn);
  // The first call to world() fixes the world communicator's options.
  dist::world(torch::kCPU, dist::CommunicatorOptions().mpi_blocking_collectives(blocking_collectives));

  if (trainer->parsed()) run_trainer(trainer_common);
  if (vs_loop->parsed()) run_vs_loop(vs_common);
  if (buckets->parsed()) run_buckets(layers, width, iterations);
  if (overlap->parsed()) run_overlap(overlap_common, hidden, bucket_cap_mb);
  return 0;
}
