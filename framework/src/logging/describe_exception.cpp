#include "cohort/logging/describe_exception.h"

#include <c10/util/Exception.h>

namespace cohort {

std::string describe_exception(const std::exception& error) {
  // c10::Error::what() appends a C++ backtrace; users get the message alone.
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    std::string message = c10_error->what_without_backtrace();
    const auto newline = message.find('\n');
    return newline == std::string::npos ? message : message.substr(0, newline);
  }
  return error.what();
}

}  // namespace cohort
