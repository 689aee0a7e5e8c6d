// cohort-watchdog-check OPERATION LATE_RANK...: a job that hangs on purpose.
// Every rank except the LATE_RANKs starts OPERATION (allreduce, barrier or
// recv) on the world CPU communicator with a 2 s timeout; the late ranks skip
// it and sleep. The watchdog must end the whole job with one message that
// names the operation and the late ranks (checked by expect_abort.sh).
// "blocking-allreduce" is an allreduce with mpi_blocking_collectives, where
// the monitor thread must end the job while the caller is inside MPI_Allreduce.
//
// cohort-watchdog-check stop-before|stop-after|stop-random[:N] LATE_RANK: the
// late rank stops itself (SIGSTOP) before it starts an allreduce of 16 MiB,
// just after it started one, or (stop-random) from another thread N*37 % 400
// ms into a loop of such allreduces. Stopped, it cannot take part however far
// it got: the watchdog must name it in every case.
//
// cohort-watchdog-check nccl-stall: one process, an NCCL allreduce (timeout
// 1 s) queued behind a GPU kernel that spins for seconds; the NCCL
// communicator's watchdog thread must end the process while the host waits.
// Exits 77 (skipped) without a GPU.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include <torch/torch.h>
#ifdef COHORT_WITH_CUDA
#include <ATen/cuda/Sleep.h>
#endif

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"

namespace dist = cohort::distributed;

namespace {

int stall_nccl() {
#if defined(COHORT_WITH_NCCL) && defined(COHORT_WITH_CUDA)
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "no CUDA GPU: skipped\n");
    return 77;
  }
  auto comm = dist::make_nccl_communicator(dist::CommunicatorOptions().timeout_s(1));
  auto tensor = torch::ones({1024}, torch::TensorOptions().device(torch::kCUDA, 0));
  at::cuda::sleep(int64_t{8} * 1000 * 1000 * 1000);  // several seconds at GPU clock rates
  comm->allreduce(tensor);    // queued behind the kernel; returns at once
  torch::cuda::synchronize();  // the host waits; the watchdog thread must end the process
  std::fprintf(stderr, "the stalled allreduce was not caught by the watchdog\n");
  return 4;
#else
  std::fprintf(stderr, "no NCCL in this build: skipped\n");
  return 77;
#endif
}

/// The stop-* modes: every rank but `late` loops allreduces until the
/// watchdog ends the job; `late` stops itself where `mode` says.
int stop_rank(dist::Communicator& comm, int late, const std::string& mode) {
  auto tensor = torch::ones({4 << 20});  // 16 MiB: large enough that MPI needs both ranks to progress
  std::thread stopper;
  if (comm.rank() == late && mode.rfind("stop-random", 0) == 0) {
    const auto colon = mode.find(':');
    const int n = colon == std::string::npos ? 0 : std::atoi(mode.c_str() + colon + 1);
    stopper = std::thread([n] {
      std::this_thread::sleep_for(std::chrono::milliseconds(n * 37 % 400));
      std::raise(SIGSTOP);
    });
  }
  for (int i = 0; i < 100000; ++i) {
    if (comm.rank() == late && mode == "stop-before") std::raise(SIGSTOP);
    auto work = comm.allreduce_async({tensor});
    if (comm.rank() == late && mode == "stop-after") std::raise(SIGSTOP);
    work->wait();
  }
  if (stopper.joinable()) stopper.join();
  std::fprintf(stderr, "the allreduces finished although rank %d was stopped\n", late);
  return 4;
}

}  // namespace

int main(int argc, char** argv) {
  dist::initialize(&argc, &argv);
  cohort::logging::setup(dist::world_rank(), "info");
  if (argc == 2 && std::string(argv[1]) == "nccl-stall") return stall_nccl();
  if (argc < 3) {
    std::fprintf(stderr, "usage: cohort-watchdog-check allreduce|blocking-allreduce|barrier|recv|stop-before|stop-after|"
                 "stop-random[:N] LATE_RANK... | nccl-stall\n");
    return 2;
  }
  const std::string operation = argv[1];
  std::set<int> late;
  for (int i = 2; i < argc; ++i) late.insert(std::atoi(argv[i]));
  auto comm = dist::world(torch::kCPU, dist::CommunicatorOptions().timeout_s(2).mpi_blocking_collectives(
                                           operation == "blocking-allreduce"));

  comm->barrier();  // everyone is up: the hang below is the only one
  if (operation.rfind("stop-", 0) == 0) return stop_rank(*comm, *late.begin(), operation);
  if (late.count(comm->rank())) {
    // Skips the operation; MPI_Abort from the waiting rank ends this process.
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return 3;
  }
  if (operation == "allreduce" || operation == "blocking-allreduce") {
    comm->allreduce(torch::ones({1024}));
  } else if (operation == "barrier") {
    comm->barrier();
  } else if (operation == "recv") {
    auto tensor = torch::zeros({16}, torch::kDouble);
    comm->recv(tensor, *late.begin());
  } else {
    std::fprintf(stderr, "unknown operation %s\n", operation.c_str());
    return 2;
  }
  std::fprintf(stderr, "the %s finished although ranks were missing\n", operation.c_str());
  return 4;
}
