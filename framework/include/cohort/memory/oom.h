#pragma once
// Out-of-memory errors: telling them from other failures, and giving memory
// back after one.

#include <exception>
#include <string>

#include <torch/types.h>

namespace cohort::memory {

/// What a training step does when it runs out of memory.
enum class OomPolicy {
  kShrink,  // halve the micro-batch, double the accumulation, retry the step
  kFail,    // stop with the error
};

/// Whether `error` says an allocation failed: c10::OutOfMemoryError (CUDA's
/// caching allocator, and the CPU allocator), std::bad_alloc (operator new),
/// or a c10::Error whose message says the memory ran out (the CPU allocator,
/// cuBLAS/cuDNN workspaces).
bool is_out_of_memory(const std::exception& error);
/// The same for the exception being handled (call inside a catch block).
bool is_out_of_memory(const std::exception_ptr& error);

/// Gives memory freed after a failed step back: CUDA's cached blocks on every
/// device in use (emptyCache), and the C library's free heap pages on the CPU.
void release_memory();

/// The first line of an error's message, without LibTorch's stack trace.
std::string first_line(const std::exception_ptr& error);

}  // namespace cohort::memory
