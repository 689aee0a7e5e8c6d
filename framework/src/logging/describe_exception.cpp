#include "cohort/logging/describe_exception.h"

#include <c10/util/Exception.h>

#include "cohort/device/cuda_failure.h"

namespace cohort {

std::string describe_exception(const std::exception& error) {
  // c10::Error::what() appends a C++ backtrace; users get the message alone.
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    std::string message = c10_error->what_without_backtrace();
    const auto newline = message.find('\n');
    if (newline != std::string::npos) message.resize(newline);
    // A CUDA failure no retry helps says what to do, in the same sentence.
    const auto advice = device::cuda_failure_advice(message);
    return advice.empty() ? message : message + ": " + advice + ".";
  }
  return error.what();
}

}  // namespace cohort
