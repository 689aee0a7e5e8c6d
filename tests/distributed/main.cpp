// The runner of the communicator tests. The same binary runs as one process
// (the local back-end) and under mpirun (the MPI back-end, and NCCL where
// there are GPUs): every rank runs every test in the same order, so the
// collectives in them match up.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"

int main(int argc, char** argv) {
  cohort::distributed::initialize(&argc, &argv);
  // One thread: ranks share two cores with each other and with other tests.
  torch::set_num_threads(1);
  cohort::logging::setup(cohort::distributed::world_rank(), "warn");
  // A test that fails on one rank leaves the others waiting in its next
  // collective: a short timeout turns that into a named abort, not a CTest timeout.
  cohort::distributed::world(torch::kCPU, cohort::distributed::CommunicatorOptions().timeout_s(30));
  return Catch::Session().run(argc, argv);
}
