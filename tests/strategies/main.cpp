// Runner of the one-process strategy tests (data_parallel, model_parallel,
// stage splitting).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "cohort/logging/logging.h"

int main(int argc, char** argv) {
  // One intra-op thread: results compared with `single` must not depend on
  // how a product is split over threads, and the suite shares two cores.
  torch::set_num_threads(1);
  cohort::logging::setup(0, "warn");
  return Catch::Session().run(argc, argv);
}
