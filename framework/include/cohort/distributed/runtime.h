#pragma once
// The process's place in the job: MPI brought up once, rank, world size, local
// rank on the node, and the world communicator for a device type.

#include <memory>
#include <vector>

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
/// MPI start-up is watched: when MPI_Init and the job-wide set-up after it
/// have not finished within set_startup_timeout()'s seconds (a rank stopped,
/// crashed or never started holds every other rank inside MPI_Init), the
/// process says so in one line on stderr and exits with status 1.
void initialize(int* argc = nullptr, char*** argv = nullptr, bool force = false);

/// Seconds MPI start-up may take before initialize() gives up (default
/// kDefaultTimeoutSeconds, the collectives' own default; a program sets its
/// config's timeout_s). Only a call before initialize() has an effect.
void set_startup_timeout(double seconds);

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

/// A fresh MPI communicator over the world ranks `world_ranks` (ascending;
/// this rank among them), made from MPI_COMM_WORLD by those ranks alone
/// (MPI_Comm_create_group; `tag` tells apart the ones a rank makes at once):
/// collective over them only, and independent of every other communicator,
/// so a trial group whose old communicator was left with collectives that
/// will never finish gets a clean one. Throws as make_mpi_communicator().
std::shared_ptr<Communicator> make_mpi_group_communicator(const std::vector<int>& world_ranks, int tag,
                                                         CommunicatorOptions options = {});

/// A fresh MPI communicator over the ranks of `ranks` (its own duplicate of
/// that MPI communicator; null = every rank of the job, a duplicate of
/// MPI_COMM_WORLD), e.g. with other options than world()'s. Collective over
/// those ranks. Throws std::runtime_error when MPI is not active, or when
/// `ranks` is not an MPI communicator.
std::shared_ptr<Communicator> make_mpi_communicator(CommunicatorOptions options = {},
                                                   const std::shared_ptr<Communicator>& ranks = nullptr);

/// An NCCL communicator over every rank of the job, on cuda:<local rank modulo
/// the GPU count>: bootstrapped over MPI when MPI is active, of one rank
/// otherwise. world(torch::kCUDA) is this under MPI; a single process gets the
/// local back-end there, and this is how to get NCCL anyway (e.g. to test it).
/// Collective. Throws std::runtime_error when this build has no NCCL or the
/// machine no CUDA GPU.
std::shared_ptr<Communicator> make_nccl_communicator(CommunicatorOptions options = {});

/// The communicator that carries tensors of `device` type over the same ranks
/// as `ranks` (a CPU communicator over the job's ranks, e.g. a sweep trial's
/// group from world()->split(); null = every rank of the job): `ranks` itself
/// for the CPU, for CUDA the local back-end on one rank or an NCCL
/// communicator bootstrapped over `ranks`. `options` apply to a communicator
/// built here. Collective over `ranks` when it builds an NCCL communicator.
/// Throws std::runtime_error where no communicator carries `device`'s tensors.
std::shared_ptr<Communicator> communicator_for(torch::DeviceType device, const std::shared_ptr<Communicator>& ranks,
                                               CommunicatorOptions options = {});

/// Ends the job on every rank with exit status `status` after logging
/// `message` (MPI_Abort under MPI; otherwise std::_Exit, because the caller
/// may be a watchdog thread while another thread is stuck in the operation).
[[noreturn]] void abort_job(const std::string& message, int status = 1);

}  // namespace cohort::distributed
