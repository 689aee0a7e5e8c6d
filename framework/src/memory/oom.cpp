#include "cohort/memory/oom.h"

#include <malloc.h>

#include <new>

#include <c10/util/Exception.h>

#include "cohort/core/error.h"
#include "cohort/device/cuda_failure.h"
#include "cohort/memory/memory_report.h"
#include "cohort/logging/describe_exception.h"

#ifdef COHORT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace cohort::memory {
namespace {

bool says_out_of_memory(const std::string& message) {
  for (const char* phrase : {"out of memory", "not enough memory", "can't allocate memory", "Out of Memory", "ALLOC_FAILED",
                             "Cannot allocate memory"})
    if (message.find(phrase) != std::string::npos) return true;
  return false;
}

}  // namespace

bool is_out_of_memory(const std::exception& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) return true;
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) return true;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    const std::string message = c10_error->what_without_backtrace();
    // A device-side assert or a lost device is never retried as out-of-memory,
    // whatever else its message says.
    return device::cuda_failure_advice(message).empty() && says_out_of_memory(message);
  }
  return false;
}

bool is_out_of_memory(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& caught) {
    return is_out_of_memory(caught);
  } catch (...) {
    return false;
  }
}

std::string first_line(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& caught) {
    return describe_exception(caught);
  } catch (...) {
    return "unknown error";
  }
}

void release_memory() {
#ifdef COHORT_WITH_CUDA
  if (cuda_in_use()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  ::malloc_trim(0);
}

}  // namespace cohort::memory
