#include "cohort/job/program.h"

#include <iostream>

#include <torch/types.h>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"
#include "cohort/logging/describe_exception.h"

namespace cohort::job {
namespace {

/// Prints `message` and returns `status` for main() to end with. In a job of
/// several ranks the others may be waiting in a collective for this one, so
/// the whole job is ended (the message goes to the log, naming the rank)
/// instead of leaving them to the watchdog.
int fail(const std::string& program, const std::string& message, int status) {
  if (distributed::world_size() > 1) distributed::abort_job(program + ": " + message, status);
  std::cerr << program << ": " << message << std::endl;
  return status;
}

}  // namespace

void agree_on_input(const std::string& error) {
  const int rank = distributed::world_rank(), size = distributed::world_size();
  if (size == 1) {
    if (!error.empty()) throw InputError(error);
    return;
  }
  auto first_failing = torch::tensor({error.empty() ? size : rank}, torch::kInt32);
  distributed::world()->allreduce(first_failing, distributed::ReduceOp::kMin);
  const int failing = first_failing.item<int32_t>();
  if (failing < size) throw AgreedFailure{rank == failing ? error : "", kExitBadInput};
}

int run_program(const std::string& program, const std::string& failure_prefix, int* argc, char*** argv,
                const std::function<int()>& body) {
  try {
    distributed::initialize(argc, argv);
    logging::setup(distributed::world_rank(), "info");
    return body();
  } catch (const AgreedFailure& failure) {
    if (!failure.message.empty()) std::cerr << program << ": " << failure.message << std::endl;
    return failure.status;
  } catch (const InputError& error) {
    return fail(program, error.what(), kExitBadInput);
  } catch (const std::exception& error) {
    return fail(program, failure_prefix + ": " + describe_exception(error), kExitTrainingFailed);
  }
}

}  // namespace cohort::job
