// cohort-oom-probe: a real allocation failure on the CPU, in a process of its
// own so the limit it sets cannot touch the test runner.
//
//   cohort-oom-probe train --out DIR [--strategy single|ddp] [--accumulation A] [--limit] [--limit-rank R]
//   cohort-oom-probe compare A.pt B.pt
//
// `train` builds a job on synthetic data whose activations at the configured
// micro-batch (1024) need about four times what a quarter of it needs. With
// --limit it first measures, in a throwaway copy of the job, how much address
// space one step at a quarter of the batch takes (VmPeak - VmSize), then lowers
// RLIMIT_AS to what the job holds plus 1.5 times that, so the full micro-batch
// and its half fail and the quarter fits. It trains a few steps and writes
// DIR/params-rank<r>.pt (the final parameters) and DIR/summary-rank<r>.json
// (micro-batch, accumulation, shrinks, the figures it measured). Large blocks
// are mmapped (a fixed M_MMAP_THRESHOLD) so they fail cleanly under the limit
// and go back to the system when freed; one malloc arena and one torch thread
// keep the address space small and steady.
//
// `compare` exits 0 when two parameter files agree within 1e-5.

#include <malloc.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/job/training_job.h"
#include "cohort/logging/logging.h"
#include "cohort/memory/memory_report.h"
#include "cohort/device/device.h"
#include "cohort/logging/describe_exception.h"
#include "unit/helpers.h"

namespace {

namespace fs = std::filesystem;
using cohort::config::Json;
using cohort::testing::flat_parameters;

struct Arguments {
  std::string out;
  std::string strategy = "single";
  int64_t accumulation = 1;
  bool limit = false;
  int limit_rank = -1;  // -1: every rank
};

Json probe_config(const Arguments& args, int64_t accumulation, const std::string& output_dir, int64_t steps = 3) {
  Json strategy = {{"name", args.strategy}, {"device", "cpu"}};
  Json config = {
      {"seed", 11},
      {"output_dir", output_dir},
      {"data",
       {{"name", "synthetic"}, {"train_samples", 4096}, {"test_samples", 64}, {"sample_shape", {32}},
        {"num_classes", 4}, {"noise", 0.5}, {"validation_fraction", 0.0}}},
      {"loader", {{"batch_size", 1024}, {"num_workers", 0}}},
      {"model", {{"name", "mlp"}, {"hidden", {8192}}}},
      {"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}}},
      {"trainer",
       {{"epochs", 1}, {"max_steps_per_epoch", steps}, {"progress", "none"}, {"accumulation_steps", accumulation},
        {"checkpoint_every", 0}}},
      {"memory", {{"leak_check_steps", 0}}},
      {"runtime", {{"threads", 1}}},
      {"strategy", strategy}};
  return cohort::job::training_schema().validate(config, "probe config");
}

int64_t vm(const char* field) { return cohort::memory::proc_status_bytes(field); }

/// Address space one training step at a quarter of the batch takes, measured in a throwaway job.
int64_t quarter_step_need(const Arguments& args) {
  cohort::job::TrainingJob warmup(probe_config(args, 4, "", /*steps=*/1), "probe warm-up");
  const int64_t before = vm("VmSize");
  warmup.fit();
  const int64_t need = vm("VmPeak") - before;
  spdlog::info("probe: one step at micro-batch 256 took {} of address space (VmSize before {}, VmPeak after {})",
               cohort::memory::format_bytes(double(need)), cohort::memory::format_bytes(double(before)),
               cohort::memory::format_bytes(double(vm("VmPeak"))));
  return need;
}

void lower_address_space_limit(int64_t bytes) {
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = rlim_t(bytes);
  if (setrlimit(RLIMIT_AS, &limit) != 0) throw std::runtime_error("setrlimit(RLIMIT_AS) failed");
}

void lift_address_space_limit() {
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_AS, &limit);
}

int train(const Arguments& args) {
  const int rank = cohort::device::launcher_rank();
  cohort::logging::setup(rank, "info");
  fs::create_directories(args.out);
  const bool limited = args.limit && (args.limit_rank < 0 || args.limit_rank == rank);
  // Every rank measures, so collectives under ddp stay matched.
  const int64_t need = args.limit ? quarter_step_need(args) : 0;
  cohort::job::TrainingJob job(probe_config(args, args.accumulation, (fs::path(args.out) / "run").string()), "probe");
  const int64_t held = vm("VmSize");
  const int64_t limit = held + need * 3 / 2;
  if (limited) {
    spdlog::info("probe: limiting the address space to {} ({} held + 1.5 x {})",
                 cohort::memory::format_bytes(double(limit)), cohort::memory::format_bytes(double(held)),
                 cohort::memory::format_bytes(double(need)));
    lower_address_space_limit(limit);
  }
  job.fit();
  lift_address_space_limit();
  const auto& runner = job.trainer().step_runner();
  torch::save(flat_parameters(job), (fs::path(args.out) / fmt::format("params-rank{}.pt", rank)).string());
  const Json summary = {{"rank", rank},
                        {"limited", limited},
                        {"micro_batch_size", runner.micro_batch_size(1024)},
                        {"accumulation_steps", runner.accumulation_steps()},
                        {"shrinks", runner.shrinks()},
                        {"steps", job.trainer().steps_done()},
                        {"quarter_step_need_bytes", need},
                        {"held_bytes", held},
                        {"limit_bytes", limited ? limit : 0}};
  std::ofstream(fs::path(args.out) / fmt::format("summary-rank{}.json", rank)) << summary.dump() << "\n";
  std::cout << summary.dump() << std::endl;
  return 0;
}

int compare(const std::string& a, const std::string& b) {
  torch::Tensor first, second;
  torch::load(first, a);
  torch::load(second, b);
  const double difference = (first - second).abs().max().item<double>();
  std::cout << "largest difference " << difference << " over " << first.numel() << " parameters" << std::endl;
  return first.sizes() == second.sizes() && difference <= 1e-5 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything allocates much: one arena, large blocks in mmaps of their own.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  torch::set_num_threads(1);
  const std::vector<std::string> words(argv + 1, argv + argc);
  try {
    if (words.size() == 3 && words[0] == "compare") return compare(words[1], words[2]);
    if (words.empty() || words[0] != "train") throw std::invalid_argument("usage: cohort-oom-probe train|compare ...");
    Arguments args;
    for (size_t i = 1; i < words.size(); ++i) {
      const auto next = [&] { return i + 1 < words.size() ? words[++i] : throw std::invalid_argument(words[i]); };
      if (words[i] == "--out") args.out = next();
      else if (words[i] == "--strategy") args.strategy = next();
      else if (words[i] == "--accumulation") args.accumulation = std::stoll(next());
      else if (words[i] == "--limit") args.limit = true;
      else if (words[i] == "--limit-rank") args.limit_rank = std::stoi(next());
      else throw std::invalid_argument("unknown argument " + words[i]);
    }
    if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
    return train(args);
  } catch (const std::exception& error) {
    lift_address_space_limit();
    std::cerr << "cohort-oom-probe: " << cohort::describe_exception(error) << std::endl;
    return 1;
  }
}
