#!/bin/sh
# The trainer of an isolated sweep under test (objective.trainer): the real
# cohort-train ($COHORT_TEST_TRAINER) on every rank, except that rank 1 of
# trial 0's job kills itself with SIGKILL as it starts, as a rank that crashes
# dies: no exit handler, no message, no MPI_Finalize.
case "$*" in
  */trials/0/config.json*)
    if [ "${OMPI_COMM_WORLD_RANK:-}" = 1 ]; then kill -KILL $$; fi ;;
esac
exec "$COHORT_TEST_TRAINER" "$@"
