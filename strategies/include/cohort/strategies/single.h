#pragma once
// The `single` strategy: the whole model on one device, CPU or cuda:N, in one
// process.

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/strategies/local_model.h"

namespace cohort::strategies {

struct SingleOptions {
  TORCH_ARG(torch::Device, device) = torch::Device(torch::kCPU);
  /// Whether this process writes logs, metrics and checkpoints. Under mpirun
  /// every rank runs a one-process job alone, so only one of them (rank 0 of
  /// the job's communicator) should: job::make_strategy() sets it so.
  TORCH_ARG(bool, writer) = true;
};

class Single final : public LocalModel {
 public:
  explicit Single(SingleOptions options = {}) : LocalModel(options.device(), options.writer()) {}

  std::string name() const override { return "single"; }
};

}  // namespace cohort::strategies
