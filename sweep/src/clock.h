#pragma once
// The wall clock of a sweep: seconds since the epoch, the unit of the study's
// time stamps and of TrialContext::deadline.

#include <chrono>

namespace cohort::sweep::detail {

inline double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace cohort::sweep::detail
