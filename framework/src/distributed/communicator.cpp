// The parts of the communicator layer that do not depend on a back-end: the
// blocking forms (the asynchronous call, then wait()), the names of reduction
// operations, and the input checks every back-end runs first (checks.h).
#include "cohort/distributed/communicator.h"

#include <stdexcept>

#include <c10/core/ScalarType.h>
#include <fmt/format.h>

#include "checks.h"

namespace cohort::distributed {

std::string to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMin: return "min";
    case ReduceOp::kMax: return "max";
  }
  return "unknown";
}

void Communicator::allreduce(std::vector<torch::Tensor> tensors, ReduceOp op) {
  allreduce_async(std::move(tensors), op)->wait();
}

void Communicator::allreduce(const torch::Tensor& tensor, ReduceOp op) {
  allreduce_async({tensor}, op)->wait();
}

void Communicator::broadcast(std::vector<torch::Tensor> tensors, int root) {
  broadcast_async(std::move(tensors), root)->wait();
}

void Communicator::broadcast(const torch::Tensor& tensor, int root) { broadcast_async({tensor}, root)->wait(); }

torch::Tensor Communicator::allgather(const torch::Tensor& input) {
  std::vector<int64_t> shape{size()};
  if (input.defined()) shape.insert(shape.end(), input.sizes().begin(), input.sizes().end());
  auto output = input.defined() ? torch::empty(shape, input.options()) : torch::Tensor();
  allgather_async(input, output)->wait();
  return output;
}

torch::Tensor Communicator::reduce_scatter(const torch::Tensor& input, ReduceOp op) {
  if (input.defined() && (input.dim() == 0 || input.size(0) % size() != 0))
    throw std::invalid_argument(fmt::format(
        "reduce_scatter: the input's first dimension ({}) must split evenly over the {} ranks.",
        input.dim() == 0 ? std::string("a scalar has none") : std::to_string(input.size(0)), size()));
  torch::Tensor output;
  if (input.defined()) {
    auto shape = input.sizes().vec();
    shape[0] /= size();
    output = torch::empty(shape, input.options());
  }
  reduce_scatter_async(input, output, op)->wait();
  return output;
}

void Communicator::send(const torch::Tensor& tensor, int destination, int tag) {
  send_async(tensor, destination, tag)->wait();
}

void Communicator::recv(torch::Tensor tensor, int source, int tag) {
  recv_async(std::move(tensor), source, tag)->wait();
}

void Communicator::barrier() { barrier_async()->wait(); }

namespace detail {

void check_tensor(const char* operation, const torch::Tensor& tensor, torch::DeviceType device) {
  if (!tensor.defined()) throw std::invalid_argument(fmt::format("{}: the tensor is undefined.", operation));
  if (tensor.device().type() != device)
    throw std::invalid_argument(fmt::format("{}: the tensor is on {}, but this communicator carries {} tensors.",
                                            operation, tensor.device().str(), c10::DeviceTypeName(device, true)));
  // Copying a strided tensor behind the caller's back would hide a cost and
  // break in-place semantics; the caller can call .contiguous() knowingly.
  if (!tensor.is_contiguous())
    throw std::invalid_argument(
        fmt::format("{}: the tensor is not contiguous (call .contiguous() on it first).", operation));
}

void check_tensors(const char* operation, const std::vector<torch::Tensor>& tensors, torch::DeviceType device) {
  if (tensors.empty()) throw std::invalid_argument(fmt::format("{}: no tensors given.", operation));
  for (const auto& tensor : tensors) check_tensor(operation, tensor, device);
}

void check_rank(const char* operation, const char* role, int rank, int size) {
  if (rank < 0 || rank >= size)
    throw std::invalid_argument(
        fmt::format("{}: {} rank {} is out of range (the communicator has ranks 0 to {}).", operation, role, rank,
                    size - 1));
}

void check_reducible(const char* operation, const torch::Tensor& tensor, ReduceOp op) {
  const auto type = tensor.scalar_type();
  if (type == torch::kBool) {
    if (op == ReduceOp::kAvg)
      throw std::invalid_argument(fmt::format("{}: a bool tensor has no average (use sum, min or max).", operation));
    return;
  }
  if (c10::isComplexType(type) || !(c10::isFloatingType(type) || c10::isIntegralType(type, false)))
    throw std::invalid_argument(fmt::format("{}: cannot reduce a {} tensor.", operation, dtype_name(type)));
}

namespace {

void check_same_type(const char* operation, const torch::Tensor& input, const torch::Tensor& output) {
  if (input.scalar_type() != output.scalar_type() || input.device() != output.device())
    throw std::invalid_argument(fmt::format("{}: the output ({} on {}) must have the input's type ({} on {}).",
                                            operation, dtype_name(output.scalar_type()), output.device().str(),
                                            dtype_name(input.scalar_type()), input.device().str()));
}

}  // namespace

void check_allgather(const torch::Tensor& input, const torch::Tensor& output, int size) {
  check_same_type("allgather", input, output);
  if (output.numel() != size * input.numel())
    throw std::invalid_argument(
        fmt::format("allgather: the output has {} elements, but {} ranks times {} input elements are {}.",
                    output.numel(), size, input.numel(), size * input.numel()));
}

void check_reduce_scatter(const torch::Tensor& input, const torch::Tensor& output, int size) {
  check_same_type("reduce_scatter", input, output);
  if (input.numel() != size * output.numel())
    throw std::invalid_argument(
        fmt::format("reduce_scatter: the input has {} elements, but {} ranks times {} output elements are {}.",
                    input.numel(), size, output.numel(), size * output.numel()));
}

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return "float32";
    case torch::kDouble: return "float64";
    case torch::kHalf: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kChar: return "int8";
    case torch::kShort: return "int16";
    case torch::kInt: return "int32";
    case torch::kLong: return "int64";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

bool is_half_precision(torch::ScalarType type) { return type == torch::kHalf || type == torch::kBFloat16; }

void divide_for_average(torch::Tensor& tensor, int size) {
  if (size == 1) return;
  if (c10::isFloatingType(tensor.scalar_type()))
    tensor.div_(size);
  else
    tensor.div_(size, "trunc");
}

const char* allreduce_name(ReduceOp op) {
  // Static strings: OperationInfo keeps a pointer, and the watchdog message
  // is made long after the call.
  static const char* const names[] = {"allreduce(sum)", "allreduce(avg)", "allreduce(min)", "allreduce(max)"};
  return names[static_cast<int>(op)];
}

const char* reduce_scatter_name(ReduceOp op) {
  static const char* const names[] = {"reduce_scatter(sum)", "reduce_scatter(avg)", "reduce_scatter(min)",
                                      "reduce_scatter(max)"};
  return names[static_cast<int>(op)];
}

}  // namespace detail
}  // namespace cohort::distributed
