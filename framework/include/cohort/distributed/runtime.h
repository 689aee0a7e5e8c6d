#pragma once
// The process's place in the job: MPI brought up once, rank, world size, local
// rank on the node, and the world communicator for a device type.

#include <memory>

#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed {

/// Brings up MPI (MPI_Init_thread asking for MPI_THREAD_MULTIPLE) when this
/// process was started by an MPI launcher, or when `force` is true; otherwise
/// the job is one process and nothing is initialised. Idempotent; MPI is
/// finalised at exit. Call it first thing in main(); every function below
/// calls it (without argc/argv) if main() did not.
/// Environment: COHORT_MPI=1 forces MPI and COHORT_MPI=0 keeps it off;
/// COHORT_MPI_THREAD_LEVEL=single|funneled|serialized asks for a lower thread
/// level (to try them, or to measure what MULTIPLE costs). Below MULTIPLE the
/// MPI back-end serialises its calls behind a lock (SERIALIZED) or refuses
/// calls from other threads than this one (FUNNELED), and warns once.
void initialize(int* argc = nullptr, char*** argv = nullptr, bool force = false);

/// Whether MPI is up (initialize() found a launcher or was forced).
bool mpi_active();

/// Whether initialize() has run. Unlike the functions below, it never runs it,
/// so code that must work before MPI is up can ask without bringing it up.
bool is_initialized();

int world_rank();
int world_size();
/// Rank among the processes on this node (from MPI_Comm_split_type on shared
/// memory), and how many there are.
int local_rank();
int local_size();

/// The world communicator that carries tensors of `device` type: MPI for the
/// CPU, NCCL for CUDA (when compiled in), the local back-end for a single
/// process. Built once per device type and shared; `options` count on the
/// first call only.
std::shared_ptr<Communicator> world(torch::DeviceType device = torch::kCPU, CommunicatorOptions options = {});

/// A fresh MPI communicator over every rank of the job (its own duplicate of
/// MPI_COMM_WORLD), e.g. with other options than world()'s. Collective.
/// Throws std::runtime_error when MPI is not active.
std::shared_ptr<Communicator> make_mpi_communicator(CommunicatorOptions options = {});

/// An NCCL communicator over every rank of the job, on cuda:<local rank modulo
/// the GPU count>: bootstrapped over MPI when MPI is active, of one rank
/// otherwise. world(torch::kCUDA) is this under MPI; a single process gets the
/// local back-end there, and this is how to get NCCL anyway (e.g. to test it).
/// Collective. Throws std::runtime_error when this build has no NCCL or the
/// machine no CUDA GPU.
std::shared_ptr<Communicator> make_nccl_communicator(CommunicatorOptions options = {});

/// Makes `group` the world of the code that runs while the scope lives: how a
/// sweep runs each trial on its own group of ranks with unchanged training
/// code. `group` must be an MPI communicator over some ranks of the job (e.g.
/// from world()->split()). Inside the scope world(kCPU) returns `group`,
/// world(kCUDA) an NCCL communicator over the same ranks (built on first use,
/// over `group`, and freed with the scope), and make_mpi_communicator() /
/// make_nccl_communicator() build over those ranks. world_rank()/world_size()
/// keep naming the whole job. The scope is process-wide (a trial's helper
/// threads see it too); scopes nest. Create and destroy it on every rank of
/// `group` together, with no collective of the scope's communicators running.
class WorldScope {
 public:
  explicit WorldScope(std::shared_ptr<Communicator> group);
  ~WorldScope();
  WorldScope(const WorldScope&) = delete;
  WorldScope& operator=(const WorldScope&) = delete;
};

/// Ends the job on every rank with exit status `status` after logging
/// `message` (MPI_Abort under MPI; otherwise std::_Exit, because the caller
/// may be a watchdog thread while another thread is stuck in the operation).
[[noreturn]] void abort_job(const std::string& message, int status = 1);

}  // namespace cohort::distributed
