#pragma once
// The input checks every back-end runs before it communicates, so that wrong
// input fails the same way everywhere: std::invalid_argument with one sentence
// that names the operation. They run before any rank talks to another, so a
// refused call never leaves the other ranks waiting in half a collective.
// Implemented in communicator.cpp.

#include <string>
#include <vector>

#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

/// Defined, contiguous and on `device` type.
void check_tensor(const char* operation, const torch::Tensor& tensor, torch::DeviceType device);
/// check_tensor() for each, and at least one tensor.
void check_tensors(const char* operation, const std::vector<torch::Tensor>& tensors, torch::DeviceType device);
/// `rank` (a root, a source or a destination, named by `role`) lies in [0, size).
void check_rank(const char* operation, const char* role, int rank, int size);
/// `tensor` can be reduced with `op`: numbers, and bool only for sum/min/max.
void check_reducible(const char* operation, const torch::Tensor& tensor, ReduceOp op);
/// Same dtype and device, and output.numel() == size * input.numel().
void check_allgather(const torch::Tensor& input, const torch::Tensor& output, int size);
/// Same dtype and device, and input.numel() == size * output.numel().
void check_reduce_scatter(const torch::Tensor& input, const torch::Tensor& output, int size);

/// "float32", "bfloat16", "int64", ...: the names people know from PyTorch.
std::string dtype_name(torch::ScalarType type);

/// float16 or bfloat16: reduced through a float32 copy where a back-end has no
/// native 16-bit reduction.
bool is_half_precision(torch::ScalarType type);

/// After a kSum that stands for kAvg: divides in place by `size`, truncating
/// for integer tensors.
void divide_for_average(torch::Tensor& tensor, int size);

/// "allreduce(sum)", "reduce_scatter(avg)", ...: static strings, for OperationInfo.
const char* allreduce_name(ReduceOp op);
const char* reduce_scatter_name(ReduceOp op);

}  // namespace cohort::distributed::detail
