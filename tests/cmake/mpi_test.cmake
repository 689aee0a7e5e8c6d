# cohort_mpi_test(NAME <name> RANKS <n> COMMAND <program> [<arg>...]
#                 [LAUNCHER <command> [<arg>...]] [TIMEOUT <seconds>]
#                 [ENVIRONMENT <NAME=VALUE>...] [PROPERTIES <property> <value>...])
#
# Registers a CTest test that runs COMMAND under `mpirun -np <n>`, the way
# FindMPI says to launch (MPIEXEC_EXECUTABLE, MPIEXEC_NUMPROC_FLAG,
# MPIEXEC_PREFLAGS, MPIEXEC_POSTFLAGS), plus what a test machine needs:
#   - COHORT_MPIEXEC_TEST_FLAGS (for Open MPI: --oversubscribe, so more ranks
#     than cores start, and --bind-to none, so ranks of tests running side by
#     side are not pinned to the same cores);
#   - COHORT_MPIEXEC_TEST_ENVIRONMENT (for Open MPI: running as root allowed,
#     as in containers). Add MCA settings there, e.g.
#     OMPI_MCA_btl_vader_single_copy_mechanism=none where CMA is not permitted.
# LAUNCHER goes in front of the mpirun line: a script that checks the job's
# output or exit status (see tests/distributed/expect_abort.sh). ENVIRONMENT
# adds to COHORT_MPIEXEC_TEST_ENVIRONMENT (setting the ENVIRONMENT property in
# PROPERTIES would replace it). Tests run with COHORT_WAIT=spin unless
# ENVIRONMENT says otherwise (see wait_policy.h). The test asks
# CTest for <n> processors, so `ctest -j` does not stack multi-rank tests on
# few cores. TIMEOUT defaults to 120 s.
#
#   cohort_mpi_test(NAME ddp.np2 RANKS 2 COMMAND $<TARGET_FILE:cohort-ddp-tests>)
include_guard(GLOBAL)

if(NOT MPIEXEC_EXECUTABLE)
  find_package(MPI REQUIRED COMPONENTS CXX)
endif()

execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _cohort_mpiexec_version
                ERROR_QUIET RESULT_VARIABLE _cohort_mpiexec_status)
if(_cohort_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(_cohort_flags --oversubscribe --bind-to none)
  set(_cohort_environment OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
else()
  set(_cohort_flags "")
  set(_cohort_environment "")
endif()
set(COHORT_MPIEXEC_TEST_FLAGS "${_cohort_flags}" CACHE STRING "mpirun flags for multi-rank tests")
set(COHORT_MPIEXEC_TEST_ENVIRONMENT "${_cohort_environment}" CACHE STRING
    "Environment (NAME=VALUE list) of multi-rank tests")

function(cohort_mpi_test)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "NAME;RANKS;TIMEOUT" "COMMAND;LAUNCHER;ENVIRONMENT;PROPERTIES")
  if(NOT ARG_NAME OR NOT ARG_RANKS OR NOT ARG_COMMAND)
    message(FATAL_ERROR "cohort_mpi_test: NAME, RANKS and COMMAND are required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${ARG_NAME}
           COMMAND ${ARG_LAUNCHER} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ARG_RANKS}
                   ${COHORT_MPIEXEC_TEST_FLAGS} ${MPIEXEC_PREFLAGS} ${ARG_COMMAND} ${MPIEXEC_POSTFLAGS})
  set_tests_properties(${ARG_NAME} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT}
    PROCESSORS ${ARG_RANKS}
    # A fixed wait mode, so that a test takes the same path however busy the
    # machine is; tests of the other modes set COHORT_WAIT in ENVIRONMENT.
    ENVIRONMENT "COHORT_WAIT=spin;${COHORT_MPIEXEC_TEST_ENVIRONMENT};${ARG_ENVIRONMENT}"
    ${ARG_PROPERTIES})
endfunction()
