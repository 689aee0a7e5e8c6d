#pragma once
// What a training job is given by whoever runs it, instead of looking it up
// in the process: the ranks it runs on and where it logs. cohort-train gives
// the world and the console; a sweep gives each trial its group of ranks and
// a logger that also writes the trial's train.log.

#include <memory>

#include <spdlog/logger.h>

#include "cohort/distributed/communicator.h"

namespace cohort::job {

struct JobContext {
  /// A CPU communicator over the job's ranks; null = one process alone. The
  /// strategies over ranks (ddp, pipeline) build their communicators over it,
  /// and the one-process strategies let only its rank 0 write.
  std::shared_ptr<distributed::Communicator> ranks;
  /// Where the job logs; null = spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;

  /// The context of a job over every rank of the process's launch (the MPI
  /// world under mpirun, nothing otherwise), logging to the default logger.
  static JobContext world();
};

}  // namespace cohort::job
