#pragma once
// The two kinds of failure Cohort tells apart, and the exit status each one gets.

#include <stdexcept>
#include <string>

namespace cohort {

/// Exit statuses of every Cohort program.
enum ExitStatus : int { kExitSuccess = 0, kExitTrainingFailed = 1, kExitBadInput = 2 };

/// Bad input from the person running Cohort: a wrong path, a malformed or
/// invalid config, a corrupt data file or checkpoint. `what()` is one sentence
/// that names the file and the key or byte; programs print it and exit with
/// kExitBadInput.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace cohort
