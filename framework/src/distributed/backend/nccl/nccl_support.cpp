#include "nccl_support.h"

#include <stdexcept>

#include <c10/core/ScalarType.h>
#include <fmt/format.h>

#include "../../checks.h"

namespace cohort::distributed::detail {

void check_nccl(ncclResult_t result, const char* call) {
  if (result == ncclSuccess) return;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  const char* last = ncclGetLastError(nullptr);
#else
  const char* last = nullptr;
#endif
  throw std::runtime_error(fmt::format("{} failed: {}{}{}", call, ncclGetErrorString(result),
                                       last && *last ? ": " : "", last ? last : ""));
}

ncclDataType_t nccl_reduction_type(torch::ScalarType type, const char* operation) {
  switch (type) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
    case torch::kBFloat16: return ncclBfloat16;
#endif
    case torch::kChar: return ncclInt8;
    case torch::kByte: return ncclUint8;
    case torch::kBool: return ncclUint8;  // 0 or 1 per byte: max is "or", min is "and"
    case torch::kInt: return ncclInt32;
    case torch::kLong: return ncclInt64;
    default:
      throw std::invalid_argument(
          fmt::format("{}: the nccl back-end cannot reduce {} tensors.", operation, dtype_name(type)));
  }
}

ncclRedOp_t nccl_reduction_op(ReduceOp op, torch::ScalarType type, bool& divide_after) {
  divide_after = false;
  if (type == torch::kBool) return op == ReduceOp::kMin ? ncclMin : ncclMax;
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMin: return ncclMin;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kAvg:
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
      // ncclAvg on integers would not promise Cohort's truncating division.
      if (c10::isFloatingType(type)) return ncclAvg;
#endif
      divide_after = true;
      return ncclSum;
  }
  return ncclSum;
}

}  // namespace cohort::distributed::detail
