#pragma once
// CUDA failures that are not out-of-memory: a device-side assert, an illegal
// memory access, cuDNN or cuBLAS that cannot start, a lost device. No retry
// helps any of them (after the first two the CUDA context is unusable), so
// they are never taken for an out-of-memory error; each gets what to do.

#include <string>

namespace cohort::device {

/// What to do about the CUDA failure LibTorch's `message` reports, as the end
/// of a sentence ("a kernel found an index out of range ..."); empty when the
/// message is no such failure (out-of-memory included).
std::string cuda_failure_advice(const std::string& message);

}  // namespace cohort::device
