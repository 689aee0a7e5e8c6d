#include "cohort/device/cuda_failure.h"

#include <initializer_list>

namespace cohort::device {
namespace {

struct Failure {
  std::initializer_list<const char*> phrases;
  const char* advice;
};

bool says_any(const std::string& message, std::initializer_list<const char*> phrases) {
  for (const char* phrase : phrases)
    if (message.find(phrase) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string cuda_failure_advice(const std::string& message) {
  static const Failure kFailures[] = {
      {{"device-side assert"},
       "a CUDA kernel found an index out of range, most often a label at or above the number of classes or an "
       "embedding index past its table; the CUDA context is now unusable: check the data's labels and indices, "
       "and rerun with CUDA_LAUNCH_BLOCKING=1 (or on the CPU) to be told which operation"},
      {{"illegal memory access", "misaligned address", "illegal instruction"},
       "a CUDA kernel read or wrote outside its memory and the CUDA context is now unusable: rerun with "
       "CUDA_LAUNCH_BLOCKING=1 to be told which operation; a custom kernel or extension is the usual cause"},
      {{"CUDNN_STATUS_NOT_INITIALIZED", "CUBLAS_STATUS_NOT_INITIALIZED", "CUDNN_STATUS_ARCH_MISMATCH",
        "CUBLAS_STATUS_ARCH_MISMATCH"},
       "cuDNN or cuBLAS could not start: the GPU was nearly full when they did (another process on it; see "
       "nvidia-smi), or the driver, CUDA and cuDNN versions do not match the build"},
      {{"unspecified launch failure", "fallen off the bus", "busy or unavailable", "no CUDA-capable device",
        "CUDA driver version is insufficient", "device not ready", "uncorrectable ECC"},
       "the GPU was lost or cannot be used (its driver, a hardware fault, or another process holding it): check "
       "nvidia-smi and the kernel log (Xid errors), then restart the job, from its last checkpoint"},
  };
  for (const auto& failure : kFailures)
    if (says_any(message, failure.phrases)) return failure.advice;
  return {};
}

}  // namespace cohort::device
