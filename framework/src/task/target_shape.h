#pragma once
// The one rule losses and metrics share for comparing an output with its
// target element by element (internal to the task library).

#include <string>

#include <torch/types.h>

namespace cohort::task::detail {

/// `target` in the shape of `output`: as it is when the shapes match, as one
/// column when the target is {N} and the output {N, 1}. Any other pair is
/// refused with std::invalid_argument naming `what` and both shapes: LibTorch
/// would broadcast it (an {N} target against {N, 1} outputs to {N, N}) and
/// pair every output with every target.
torch::Tensor target_like_output(const std::string& what, const torch::Tensor& output, const torch::Tensor& target);

}  // namespace cohort::task::detail
