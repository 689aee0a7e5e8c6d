#pragma once
// One line for any exception, LibTorch's included: what a log line or an
// error message shows of a failure.

#include <exception>
#include <string>

namespace cohort {

/// `error.what()`, but for a LibTorch error (c10::Error) only the message:
/// its first line, without the C++ backtrace LibTorch appends.
std::string describe_exception(const std::exception& error);

}  // namespace cohort
