#include "mpi_support.h"

#include <limits>
#include <stdexcept>
#include <string>

#include <c10/core/ScalarType.h>
#include <fmt/format.h>

#include "../../checks.h"

#include "../../runtime_internal.h"

namespace cohort::distributed::detail {

std::string mpi_error(int status, const char* call) {
  if (status == MPI_SUCCESS) return "";
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  return fmt::format("{} failed: {}", call, std::string(text, size_t(length)));
}

void check_mpi(int status, const char* call) {
  if (status != MPI_SUCCESS) throw std::runtime_error(mpi_error(status, call));
}

void check_count(const char* operation, const torch::Tensor& tensor) {
  if (tensor.numel() > std::numeric_limits<int>::max())
    throw std::invalid_argument(fmt::format("{}: the tensor has {} elements, more than one MPI call can carry ({}).",
                                            operation, tensor.numel(), std::numeric_limits<int>::max()));
}

MpiBuffer reduction_buffer(const torch::Tensor& tensor, const char* operation) {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  switch (tensor.scalar_type()) {
    case torch::kFloat: type = MPI_FLOAT; break;
    case torch::kDouble: type = MPI_DOUBLE; break;
    case torch::kChar: type = MPI_INT8_T; break;
    case torch::kShort: type = MPI_INT16_T; break;
    case torch::kInt: type = MPI_INT32_T; break;
    case torch::kLong: type = MPI_INT64_T; break;
    case torch::kByte: type = MPI_UINT8_T; break;
    case torch::kBool: type = MPI_C_BOOL; break;
    default:
      throw std::invalid_argument(
          fmt::format("{}: the mpi back-end cannot reduce {} tensors.", operation, dtype_name(tensor.scalar_type())));
  }
  return {tensor.data_ptr(), static_cast<int>(tensor.numel()), type};
}

MpiBuffer copy_buffer(const torch::Tensor& tensor, const char* operation) {
  // Whole elements, so the count limit is in elements, not bytes.
  const auto element = tensor.element_size();
  int64_t count = tensor.numel();
  MPI_Datatype type = MPI_BYTE;
  switch (element) {
    case 1: type = MPI_UINT8_T; break;
    case 2: type = MPI_UINT16_T; break;
    case 4: type = MPI_UINT32_T; break;
    case 8: type = MPI_UINT64_T; break;
    default:  // complex128 and wider: several 64-bit words per element
      type = MPI_UINT64_T;
      count *= static_cast<int64_t>(element / 8);
  }
  if (count > std::numeric_limits<int>::max()) check_count(operation, tensor);
  return {tensor.data_ptr(), static_cast<int>(count), type};
}

MPI_Op reduction_op(ReduceOp op, torch::ScalarType type) {
  if (type == torch::kBool) return op == ReduceOp::kMin ? MPI_LAND : MPI_LOR;
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg: return MPI_SUM;
    case ReduceOp::kMin: return MPI_MIN;
    case ReduceOp::kMax: return MPI_MAX;
  }
  return MPI_SUM;
}

namespace {

std::mutex& serialized_mutex() {
  static std::mutex mutex;
  return mutex;
}

const char* level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    default: return "MPI_THREAD_MULTIPLE";
  }
}

}  // namespace

void check_mpi_thread() {
  const int level = mpi_thread_level();
  if (level >= MPI_THREAD_SERIALIZED || on_main_thread()) return;
  throw std::logic_error(fmt::format(
      "MPI gave only {}: MPI operations must be started and waited on from the thread that initialised Cohort's "
      "runtime.",
      level_name(level)));
}

MpiCallGuard::MpiCallGuard() {
  const int level = mpi_thread_level();
  if (level >= MPI_THREAD_MULTIPLE) return;
  if (level == MPI_THREAD_SERIALIZED)
    lock_ = std::unique_lock<std::mutex>(serialized_mutex());
  else
    check_mpi_thread();
}

}  // namespace cohort::distributed::detail
