// Runner of the DDP tests: CTest starts it under mpirun at 1, 2 and 3 ranks
// (and without mpirun, where the local back-end makes it a one-rank job).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"

int main(int argc, char** argv) {
  cohort::distributed::initialize(&argc, &argv);
  torch::set_num_threads(1);
  cohort::logging::setup(cohort::distributed::world_rank(), "warn");
  return Catch::Session().run(argc, argv);
}
