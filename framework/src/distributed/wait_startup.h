#pragma once
// How the runtime decides the wait policy (see cohort/distributed/wait_policy.h)
// when MPI starts: a first guess before MPI_Init, so that Open MPI's own waits
// yield where the node is crowded, and the decision after it, agreed by every
// rank. Called only by runtime.cpp's start-up.

namespace cohort::distributed::detail {

/// Before MPI_Init: reads COHORT_WAIT and the ranks on this node from the
/// launcher's environment, samples the runnable tasks, and sets
/// OMPI_MCA_mpi_yield_when_idle=1 when the guess is not kSpin (unless the
/// user set that variable).
void prepare_wait_mode_before_mpi();

/// After MPI_Init: decides the mode from `ranks_on_node`, the node's cores
/// and the tasks runnable while this job's other ranks on the node sleep (the
/// node's rank `local_rank` 0 samples), and makes every rank take the politest
/// mode any rank chose. Collective over MPI_COMM_WORLD.
void decide_wait_mode(int local_rank, int ranks_on_node);

/// Lets the calling thread (and the threads it starts later) run on every
/// core the process may use, undoing a launcher's binding to one core: what
/// decide_wait_mode() does in the sleep mode unless COHORT_KEEP_BINDING is
/// set. Returns whether the thread may now use more cores than before.
bool release_core_binding();

}  // namespace cohort::distributed::detail
