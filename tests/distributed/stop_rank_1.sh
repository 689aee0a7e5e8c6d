#!/usr/bin/env bash
# stop_rank_1.sh COMMAND...: runs COMMAND as this rank of an mpirun job, except
# that rank 1 (by the launcher's environment) first stops itself with SIGSTOP:
# a rank that never reaches MPI_Init, as one stopped or frozen while starting.
if [ "${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${PMI_RANK:-0}}}" = 1 ]; then kill -STOP $$; fi
exec "$@"
