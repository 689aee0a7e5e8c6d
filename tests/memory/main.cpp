#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "cohort/logging/logging.h"

int main(int argc, char** argv) {
  // One thread: results compared bit for bit must not depend on the thread count.
  torch::set_num_threads(1);
  cohort::logging::setup(0, "warn");
  return Catch::Session().run(argc, argv);
}
