// cohort-watchdog-check OPERATION LATE_RANK...: a job that hangs on purpose.
// Every rank except the LATE_RANKs starts OPERATION (allreduce, barrier or
// recv) on the world CPU communicator with a 2 s timeout; the late ranks skip
// it and sleep. The watchdog must end the whole job with one message that
// names the operation and the late ranks (checked by expect_abort.sh).
// "blocking-allreduce" is an allreduce with mpi_blocking_collectives, where
// the monitor thread must end the job while the caller is inside MPI_Allreduce.
//
// cohort-watchdog-check nccl-stall: one process, an NCCL allreduce (timeout
// 1 s) queued behind a GPU kernel that spins for seconds; the NCCL
// communicator's watchdog thread must end the process while the host waits.
// Exits 77 (skipped) without a GPU.
#include <chrono>
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

}  // namespace

int main(int argc, char** argv) {
  dist::initialize(&argc, &argv);
  cohort::logging::setup(dist::world_rank(), "info");
  if (argc == 2 && std::string(argv[1]) == "nccl-stall") return stall_nccl();
  if (argc < 3) {
    std::fprintf(stderr, "usage: cohort-watchdog-check allreduce|blocking-allreduce|barrier|recv LATE_RANK... | nccl-stall\n");
    return 2;
  }
  const std::string operation = argv[1];
  std::set<int> late;
  for (int i = 2; i < argc; ++i) late.insert(std::atoi(argv[i]));
  auto comm = dist::world(torch::kCPU, dist::CommunicatorOptions().timeout_s(2).mpi_blocking_collectives(
                                           operation == "blocking-allreduce"));

  comm->barrier();  // everyone is up: the hang below is the only one
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
