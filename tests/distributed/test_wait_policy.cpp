// The wait policy (cohort/distributed/wait_policy.h): the automatic choice as
// a pure function, and, under an oversubscribed mpirun, that the mode chosen
// is the one in force: in the runtime, in a communicator's kind of
// collectives, and in Open MPI's own waits (read back through MPI_T).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <mpi.h>
#include <sched.h>

#include <cstdlib>
#include <optional>

#include "distributed/backend/mpi/mpi_communicator.h"
#include "cohort/distributed/runtime.h"
#include "cohort/distributed/wait_policy.h"
#include "distributed/runtime_internal.h"
#include "distributed/wait_startup.h"

namespace dist = cohort::distributed;
using dist::WaitMode;
using Catch::Matchers::Contains;

namespace {

/// Open MPI's mpi_yield_when_idle as this process's MPI runs with it; nullopt
/// where MPI_T cannot say (another MPI).
std::optional<bool> open_mpi_yields() {
  int provided = 0, index = 0, count = 0, value = 0;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return std::nullopt;
  std::optional<bool> yields;
  MPI_T_cvar_handle handle;
  if (MPI_T_cvar_get_index("mpi_yield_when_idle", &index) == MPI_SUCCESS &&
      MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
    if (MPI_T_cvar_read(handle, &value) == MPI_SUCCESS) yields = value != 0;
    MPI_T_cvar_handle_free(&handle);
  }
  MPI_T_finalize();
  return yields;
}

}  // namespace

TEST_CASE("the automatic wait mode sleeps where the node is oversubscribed or busy", "[wait]") {
  // ranks on the node, cores, runnable tasks (this rank included)
  CHECK(dist::choose_wait_mode(2, 2, 1) == WaitMode::kSpin);   // a core per rank, nothing else
  CHECK(dist::choose_wait_mode(3, 2, 1) == WaitMode::kSleep);  // oversubscribed
  CHECK(dist::choose_wait_mode(2, 2, 2) == WaitMode::kSleep);  // one busy process beside
  CHECK(dist::choose_wait_mode(2, 2, 3) == WaitMode::kSleep);  // one per core
  CHECK(dist::choose_wait_mode(2, 4, 3) == WaitMode::kSpin);   // spare cores for the others
  CHECK(dist::choose_wait_mode(2, 4, 4) == WaitMode::kSleep);
  CHECK(dist::choose_wait_mode(1, 1, 1) == WaitMode::kSpin);
}

TEST_CASE("wait modes by name", "[wait]") {
  CHECK_FALSE(dist::parse_wait_mode("auto"));
  for (const auto mode : {WaitMode::kSpin, WaitMode::kYield, WaitMode::kSleep})
    CHECK(dist::parse_wait_mode(dist::to_string(mode)) == mode);
  CHECK_THROWS_WITH(dist::parse_wait_mode("busy"), Contains("auto, spin, yield or sleep") && Contains("\"busy\""));
}

TEST_CASE("the sleep mode leaves no spinning or yielding phase of note", "[wait]") {
  const auto sleep = dist::BackoffOptions::for_communication(WaitMode::kSleep);
  CHECK(sleep.yield_until <= std::chrono::microseconds(10));
  CHECK(sleep.sleep_up_to <= std::chrono::microseconds(1000));
  const auto spin = dist::BackoffOptions::for_communication(WaitMode::kSpin);
  CHECK(spin.spin == std::chrono::microseconds(50));
  CHECK(spin.yield_until == std::chrono::seconds(1));
  const auto events = dist::BackoffOptions::for_events(WaitMode::kSleep, std::chrono::microseconds(200),
                                                       std::chrono::microseconds(20), std::chrono::microseconds(250));
  CHECK(events.spin.count() == 0);
  CHECK(events.yield_until.count() == 0);
  CHECK(dist::BackoffOptions::for_events(WaitMode::kSpin, std::chrono::microseconds(200),
                                         std::chrono::microseconds(20), std::chrono::microseconds(250))
            .yield_until == std::chrono::microseconds(200));
}

TEST_CASE("a thread pinned to one core is let run on every core the process may use", "[wait]") {
  cpu_set_t original;
  REQUIRE(sched_getaffinity(0, sizeof original, &original) == 0);
  if (CPU_COUNT(&original) < 2) {
    WARN("this process may use one core only: nothing to release");
    return;
  }
  int first = 0;
  while (!CPU_ISSET(first, &original)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  CHECK(dist::detail::release_core_binding());
  cpu_set_t after;
  REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK(CPU_COUNT(&after) >= CPU_COUNT(&original));
  CHECK_FALSE(dist::detail::release_core_binding());  // nothing more to release
  sched_setaffinity(0, sizeof original, &original);
}

// Run by distributed.wait_oversubscribed: 3 ranks, COHORT_NODE_CORES=2, COHORT_EXPECT_WAIT=sleep.
TEST_CASE("the wait mode chosen is the one in force", "[.][wait_expected]") {
  const char* expected_name = std::getenv("COHORT_EXPECT_WAIT");
  REQUIRE(expected_name);
  REQUIRE(dist::mpi_active());
  const auto expected = dist::parse_wait_mode(expected_name);
  REQUIRE(expected);
  INFO("rank " << dist::world_rank() << ": " << dist::to_string(dist::wait_mode()) << " ("
               << dist::wait_mode_reason() << ")");
  CHECK(dist::wait_mode() == *expected);
  CHECK_THAT(dist::wait_mode_reason(), Contains("auto: 3 rank(s) on this node, 2 cores"));

  // Collectives: blocking ones were asked for, and the sleep mode polls instead.
  auto comm = dist::make_mpi_communicator(dist::CommunicatorOptions().timeout_s(30).mpi_blocking_collectives(true));
  const auto mpi = std::dynamic_pointer_cast<dist::detail::MpiCommunicator>(comm);
  REQUIRE(mpi);
  const bool can_block = dist::detail::mpi_thread_level() >= MPI_THREAD_MULTIPLE;
  CHECK(mpi->blocking_collectives() == (can_block && *expected != WaitMode::kSleep));
  auto ones = torch::ones({1000});
  comm->allreduce(ones);
  CHECK(ones.eq(comm->size()).all().item<bool>());
  // On one node, the sleep mode's float sums go through shared memory: no rank waits for MPI's rounds.
  CHECK(mpi->reduces_in_shared_memory() == (*expected == WaitMode::kSleep));
  if (*expected == WaitMode::kSleep) {
    // Ranks that pass different sizes are refused, never summed past the shorter deposit. (A communicator of
    // its own: after the refusal its allreduces would wait for this one.)
    auto other = dist::make_mpi_communicator(dist::CommunicatorOptions().timeout_s(30));
    auto uneven = torch::ones({100 + other->rank()});
    CHECK_THROWS_WITH(other->allreduce(uneven),
                      Contains("every rank must pass the same number of elements of the same dtype") &&
                          Contains("float32"));
  }

  // Open MPI's own waits (MPI_Comm_dup, MPI_Init's exchanges) yield unless spinning.
  if (const auto yields = open_mpi_yields()) {
    CHECK(*yields == (*expected != WaitMode::kSpin));
  } else {
    WARN("MPI_T cannot read mpi_yield_when_idle here (not Open MPI?)");
  }
}
