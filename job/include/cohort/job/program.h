#pragma once
// What every Cohort program does with errors, alone or under mpirun:
//  - bad input that every rank reads alike (a config) is agreed on by the
//    ranks with one collective, said once by the lowest failing rank, and
//    every rank exits with status 2, without the launcher's abort banner;
//  - bad input found later, or any other failure, ends the whole job (other
//    ranks may be waiting in a collective for this one) with the message in
//    the log: status 2 for bad input, 1 otherwise.

#include <functional>
#include <optional>
#include <string>

#include "cohort/core/error.h"

namespace cohort::job {

/// A failure every rank of the job has agreed on: each ends normally with
/// `status`, and only the rank that holds `message` prints it.
struct AgreedFailure {
  std::string message;  // empty on the ranks that only agreed
  int status;
};

/// Agrees on `error` (empty on ranks that succeeded) over every rank of the
/// job. Throws AgreedFailure on every rank when any rank failed, and
/// cohort::InputError in a job of one process. Collective.
void agree_on_input(const std::string& error);

/// Runs `load` (reading input every rank reads alike) and agrees on its
/// cohort::InputError, if any, as agree_on_input() does. Collective.
template <typename Load>
auto load_agreed(Load&& load) -> decltype(load()) {
  std::optional<decltype(load())> value;
  std::string error;
  try {
    value.emplace(load());
  } catch (const InputError& failure) {
    error = failure.what();
  }
  agree_on_input(error);
  return std::move(*value);
}

/// main() of a program named `program`: brings up the distributed runtime
/// and rank-aware logging, runs `body` and returns its status, or the status
/// of what it threw (AgreedFailure: its own; cohort::InputError: 2; anything
/// else: 1, the message starting with `failure_prefix`, e.g. "training failed").
int run_program(const std::string& program, const std::string& failure_prefix, int* argc, char*** argv,
                const std::function<int()>& body);

}  // namespace cohort::job
