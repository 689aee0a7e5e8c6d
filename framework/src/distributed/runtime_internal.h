#pragma once
// What the back-ends need from the runtime and what the public runtime.h does
// not show: the MPI thread level, the process's arrival board, and the exit
// hooks that free MPI and NCCL resources before MPI_Finalize.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

class ArrivalBoard;

/// The thread level MPI_Init_thread (or MPI_Query_thread) reported;
/// MPI_THREAD_MULTIPLE when MPI is not active.
int mpi_thread_level();

/// Whether MPI may no longer be called: MPI_Finalize has begun and is past
/// the runtime's shutdown callback (during which MPI still works, although
/// MPI_Finalized already says true).
bool mpi_finalized();

/// Whether the calling thread is the one that initialised the runtime (the
/// only one allowed to call MPI under MPI_THREAD_FUNNELED).
bool on_main_thread();

/// The node's arrival board (see arrival_board.h), or nullptr when MPI is not
/// active or the shared-memory window could not be made.
ArrivalBoard* arrival_board();

/// Runs `release` before MPI_Finalize (and before CUDA is torn down) unless
/// cancel_exit_hook(token) came first. Communicators register the freeing of
/// their MPI communicator or NCCL communicator here, so that one still held by
/// a static object at exit does not call MPI after MPI_Finalize.
uint64_t add_exit_hook(std::function<void()> release);
void cancel_exit_hook(uint64_t token);

/// Runs every registered exit hook now (idempotent per hook). Called at exit;
/// the NCCL back-end also registers it with std::atexit once CUDA is up, so
/// that it runs before CUDA's own teardown.
void run_exit_hooks();

/// The world MPI communicator made fresh (its own MPI_Comm_dup), e.g. to
/// bootstrap an NCCL communicator over it.
std::shared_ptr<Communicator> make_mpi_world(CommunicatorOptions options);
/// See make_mpi_group_communicator() in runtime.h.
std::shared_ptr<Communicator> make_mpi_group(const std::vector<int>& world_ranks, int tag,
                                             CommunicatorOptions options);

}  // namespace cohort::distributed::detail
