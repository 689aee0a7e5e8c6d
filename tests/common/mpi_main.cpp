// Runner of the test suites that CTest starts under mpirun (ddp, pipeline,
// trial evaluation), at one or more ranks, and also without mpirun, where the
// local back-end makes them one-rank jobs.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"

int main(int argc, char** argv) {
  cohort::distributed::initialize(&argc, &argv);
  // One intra-op thread: ranks share two cores, and results compared with
  // `single` must not depend on how a product is split over threads.
  torch::set_num_threads(1);
  cohort::logging::setup(cohort::distributed::world_rank(), "warn");
  return Catch::Session().run(argc, argv);
}
