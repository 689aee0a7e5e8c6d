// Benchmark: allreduce through Cohort's communicator, in the style of
// nccl-tests: for each message size, the time of one allreduce, the algorithm
// bandwidth (bytes / time) and the bus bandwidth (algbw * 2(n-1)/n, what each
// rank's link carries in a ring, comparable across rank counts).
//
// With --compare-mpi (CPU), the same buffer is also reduced by a communicator
// with mpi_blocking_collectives (MPI_Allreduce under a monitor thread), by a
// plain blocking MPI_Allreduce and by MPI_Iallreduce + MPI_Wait, side by side
// in alternating rounds. The table then shows Cohort's own overhead (each
// mode against the MPI call it is built on) apart from the cost of MPI's
// non-blocking path itself.
//
//   mpirun -np 2 build/bin/cohort-bench-allreduce [--device cpu|cuda] [--compare-mpi]
//       [--min-bytes 4096] [--max-bytes 268435456] [--factor 4] [--iters 0] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mpi.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/device/device.h"
#include "statistics.h"

namespace {

namespace dist = cohort::distributed;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string device = "cpu";
  std::string op = "sum";
  int64_t min_bytes = 4 << 10;
  int64_t max_bytes = 256 << 20;
  int factor = 4;
  int iters = 0;  // 0: enough for about --seconds per measurement
  int warmup = 5;
  int rounds = 3;
  double seconds = 0.2;
  double timeout_s = 300;
  bool compare_mpi = false;
  std::string json;
};

/// The largest of every rank's value (the slowest rank sets the pace).
double max_over_ranks(double value) {
  auto tensor = torch::tensor({value}, torch::kDouble);
  dist::world(torch::kCPU)->allreduce(tensor, dist::ReduceOp::kMax);
  return tensor.item<double>();
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

/// Seconds per call of `run` over `iters` calls, started together on every
/// rank after a barrier; the slowest rank's.
double time_per_call(const std::function<void()>& run, int iters, const torch::Device& device) {
  synchronize(device);
  dist::world(torch::kCPU)->barrier();
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i) run();
  synchronize(device);
  return max_over_ranks(std::chrono::duration<double>(Clock::now() - start).count() / iters);
}

/// Iterations for one measurement: --iters, or enough for --seconds judging
/// by the warm-up; the same on every rank.
int iterations(const Options& options, const std::function<void()>& run, const torch::Device& device) {
  const double warm = time_per_call(run, options.warmup, device);
  if (options.iters > 0) return options.iters;
  const double wanted = options.seconds / std::max(warm, 1e-7);
  return static_cast<int>(max_over_ranks(std::clamp(wanted, 5.0, 20000.0)));
}

dist::ReduceOp parse_op(const std::string& name) {
  static const std::map<std::string, dist::ReduceOp> ops{
      {"sum", dist::ReduceOp::kSum}, {"avg", dist::ReduceOp::kAvg}, {"min", dist::ReduceOp::kMin},
      {"max", dist::ReduceOp::kMax}};
  return ops.at(name);
}

struct Row {
  int64_t bytes, count;
  double seconds;
  double blocking_seconds = 0, mpi_seconds = 0, impi_seconds = 0;  // --compare-mpi only
};

Row measure(const Options& options, dist::Communicator& comm, dist::Communicator* blocking,
            const torch::Device& device, int64_t bytes, MPI_Comm raw) {
  const int64_t count = bytes / static_cast<int64_t>(sizeof(float));
  // Zeros: a sum of zeros stays zero, so repeated reductions never reach
  // infinities or denormals that would time differently.
  auto tensor = torch::zeros({count}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  const auto op = parse_op(options.op);
  std::vector<std::pair<std::function<void()>, std::vector<double>>> variants;
  variants.push_back({[&] { comm.allreduce(tensor, op); }, {}});
  if (raw != MPI_COMM_NULL) {
    variants.push_back({[&] { blocking->allreduce(tensor, op); }, {}});
    float* data = tensor.data_ptr<float>();
    const int n = static_cast<int>(count);
    variants.push_back({[=] { MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, raw); }, {}});
    variants.push_back({[=] {
                          MPI_Request request;
                          MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, raw, &request);
                          MPI_Wait(&request, MPI_STATUS_IGNORE);
                        },
                        {}});
  }
  const int iters = iterations(options, variants.front().first, device);
  // Alternating rounds: a slow spell of a shared machine hits every variant.
  for (int round = 0; round < options.rounds; ++round)
    for (auto& [run, times] : variants) times.push_back(time_per_call(run, iters, device));
  Row row{bytes, count, cohort::bench::median(variants[0].second)};
  if (variants.size() == 4) {
    row.blocking_seconds = cohort::bench::median(variants[1].second);
    row.mpi_seconds = cohort::bench::median(variants[2].second);
    row.impi_seconds = cohort::bench::median(variants[3].second);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  dist::initialize(&argc, &argv);
  Options options;
  CLI::App app{"Allreduce through Cohort's communicator, nccl-tests style. Run it under mpirun."};
  app.add_option("--device", options.device, "cpu (MPI) or cuda (NCCL)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--op", options.op, "reduction")->check(CLI::IsMember({"sum", "avg", "min", "max"}));
  app.add_option("--min-bytes", options.min_bytes, "smallest message");
  app.add_option("--max-bytes", options.max_bytes, "largest message");
  app.add_option("--factor", options.factor, "size step (2 or 4)")->check(CLI::Range(2, 16));
  app.add_option("--iters", options.iters, "iterations per measurement (0: about --seconds' worth)");
  app.add_option("--seconds", options.seconds, "time per measurement when --iters is 0");
  app.add_option("--warmup", options.warmup, "warm-up iterations per size")->check(CLI::Range(1, 1000));
  app.add_option("--rounds", options.rounds, "alternating rounds per size (the median is shown)")
      ->check(CLI::Range(1, 100));
  app.add_option("--timeout", options.timeout_s, "watchdog timeout of each allreduce, seconds");
  app.add_flag("--compare-mpi", options.compare_mpi, "also time MPI_Allreduce and MPI_Iallreduce (cpu)");
  app.add_option("--json", options.json, "also write the results to this JSON file");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);

  const auto device = cohort::device::parse_device(options.device == "cuda" ? "auto" : "cpu");
  if (options.device == "cuda" && !device.is_cuda()) {
    std::fprintf(stderr, "--device cuda: this machine has no CUDA GPU.\n");
    return 2;
  }
  auto comm = dist::world(device.type(), dist::CommunicatorOptions().timeout_s(options.timeout_s));
  const int size = comm->size();
  const bool compare = options.compare_mpi && dist::mpi_active() && device.is_cpu();
  MPI_Comm raw = MPI_COMM_NULL;
  std::shared_ptr<dist::Communicator> blocking;
  if (compare) {
    MPI_Comm_dup(MPI_COMM_WORLD, &raw);
    blocking = dist::make_mpi_communicator(
        dist::CommunicatorOptions().timeout_s(options.timeout_s).mpi_blocking_collectives(true));
  }
  const bool lead = comm->rank() == 0;

  if (lead) {
    std::printf("# cohort-bench-allreduce: %d ranks, %s back-end, device %s, op %s, float32, median of %d rounds\n",
                size, comm->backend().c_str(), device.str().c_str(), options.op.c_str(), options.rounds);
    if (compare)
      std::printf("# time: the default mode (MPI_Iallreduce + polling wait); blocking: mpi_blocking_collectives;\n"
                  "# vs(%%): blocking against MPI_Allreduce, time against MPI_Iallreduce + MPI_Wait\n");
    std::printf("# %12s %12s %10s %12s %12s", "size(B)", "count", "time(us)", "algbw(GB/s)", "busbw(GB/s)");
    if (compare)
      std::printf(" | %13s %14s %7s | %15s %7s", "blocking(us)", "MPI_Allred(us)", "vs(%)", "MPI_Iallred(us)",
                  "vs(%)");
    std::printf("\n");
  }
  nlohmann::json results = nlohmann::json::array();
  for (int64_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= options.factor) {
    const auto row = measure(options, *comm, blocking.get(), device, bytes, raw);
    const double algbw = static_cast<double>(row.bytes) / row.seconds / 1e9;
    const double busbw = algbw * 2.0 * (size - 1) / size;
    nlohmann::json entry{{"bytes", row.bytes},     {"count", row.count},      {"time_us", row.seconds * 1e6},
                         {"algbw_GBps", algbw}, {"busbw_GBps", busbw}};
    if (lead) {
      std::printf("  %12lld %12lld %10.2f %12.3f %12.3f", static_cast<long long>(row.bytes),
                  static_cast<long long>(row.count), row.seconds * 1e6, algbw, busbw);
      // Each Cohort mode against the MPI call it is made of.
      if (compare)
        std::printf(" | %13.2f %14.2f %+7.1f | %15.2f %+7.1f", row.blocking_seconds * 1e6, row.mpi_seconds * 1e6,
                    100 * (row.blocking_seconds / row.mpi_seconds - 1), row.impi_seconds * 1e6,
                    100 * (row.seconds / row.impi_seconds - 1));
      std::printf("\n");
      std::fflush(stdout);
    }
    if (compare) {
      entry["blocking_mode_time_us"] = row.blocking_seconds * 1e6;
      entry["mpi_allreduce_us"] = row.mpi_seconds * 1e6;
      entry["mpi_iallreduce_wait_us"] = row.impi_seconds * 1e6;
    }
    results.push_back(entry);
  }
  if (lead && !options.json.empty()) {
    std::ofstream(options.json) << nlohmann::json{{"benchmark", "allreduce"},   {"ranks", size},
                                                  {"backend", comm->backend()}, {"device", device.str()},
                                                  {"op", options.op},           {"dtype", "float32"},
                                                  {"results", results}}
                                       .dump(2)
                                << "\n";
  }
  if (raw != MPI_COMM_NULL) MPI_Comm_free(&raw);
  return 0;
}
