#pragma once
// Losses of an output against the batch's "target", reduced to the mean over
// the batch, with the checks that turn a silent wrong result into a sentence.

#include <functional>

#include <torch/types.h>

namespace cohort::task {

/// Cross entropy of logits {N, C} against class indices {N} (int64), or
/// against class probabilities of the logits' shape. Float targets of another
/// shape (a regression's {N, 1}) are refused with std::invalid_argument: cross
/// entropy over them is 0 and nothing would be learned.
torch::Tensor cross_entropy(const torch::Tensor& output, const torch::Tensor& target);

/// Mean squared error, mean absolute error, and the Huber loss (squared
/// below `delta`, linear above), each over every element. The target must
/// have the output's shape; an {N} target against an {N, 1} output is taken
/// as that one column (LibTorch would broadcast it to {N, N}). Any other
/// shape is refused with std::invalid_argument naming both shapes.
torch::Tensor mse_loss(const torch::Tensor& output, const torch::Tensor& target);
torch::Tensor l1_loss(const torch::Tensor& output, const torch::Tensor& target);
torch::Tensor huber_loss(const torch::Tensor& output, const torch::Tensor& target);

/// The Huber loss with another `delta` (huber_loss above has 1), as a loss
/// function for a Task: Task(huber_loss_with_delta(0.5)). A plain function of
/// (output, target) each, so that Task(huber_loss) compiles as written.
std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> huber_loss_with_delta(double delta);

}  // namespace cohort::task
