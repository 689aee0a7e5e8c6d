#pragma once
// What the NCCL back-end needs around NCCL calls: error checks and the NCCL
// types and operations of tensors.

#include <nccl.h>
#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

/// Throws std::runtime_error naming `call`, NCCL's error text and its last
/// error message unless `result` is ncclSuccess.
void check_nccl(ncclResult_t result, const char* call);

/// The NCCL type that reduces `type` (float16/32/64, bfloat16, int8/32/64,
/// uint8, bool as uint8); std::invalid_argument for others (NCCL has no int16).
ncclDataType_t nccl_reduction_type(torch::ScalarType type, const char* operation);

/// NCCL's operation for `op` on `type`. Sets `divide_after` when kAvg must be
/// a sum followed by divide_for_average() (integers, or an NCCL without ncclAvg).
ncclRedOp_t nccl_reduction_op(ReduceOp op, torch::ScalarType type, bool& divide_after);

}  // namespace cohort::distributed::detail
