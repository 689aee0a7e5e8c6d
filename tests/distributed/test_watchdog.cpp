// The watchdog's parts, in one process: the message, the polling wait, the
// background thread, and (under mpirun) the arrival board. That a real hang
// ends the job with the message is checked by cohort-watchdog-check under
// mpirun (CTest: distributed.watchdog*).
#include <catch2/catch.hpp>
#include <mpi.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "cohort/distributed/runtime.h"
#include "distributed/backend/mpi/arrival_board.h"
#include "distributed/runtime_internal.h"
#include "distributed/watchdog.h"

namespace dist = cohort::distributed;
namespace cd = cohort::distributed::detail;
using namespace std::chrono_literals;

namespace {

struct Expired : std::runtime_error {
  Expired() : std::runtime_error("expired") {}
};

/// A watched operation that finishes when told, and counts its expiries.
class FakeOperation : public cd::Watchable {
 public:
  explicit FakeOperation(std::chrono::milliseconds timeout) : deadline_(cd::Clock::now() + timeout) {}
  bool finished() override { return done; }
  cd::Clock::time_point deadline() const override { return deadline_; }
  void expire() override { ++expiries; }
  std::atomic<bool> done{false};
  std::atomic<int> expiries{0};

 private:
  cd::Clock::time_point deadline_;
};

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 5000ms) {
  const auto end = cd::Clock::now() + limit;
  while (cd::Clock::now() < end) {
    if (predicate()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return predicate();
}

}  // namespace

TEST_CASE("watchdog: the message names the operation, its size and the communicator", "[watchdog]") {
  auto operation = cd::describe_tensor("allreduce(sum)", torch::zeros({1024}));
  operation.sequence = 3;
  CHECK(cd::describe(operation) == "allreduce(sum) #3 of 1024 float32 elements (4.0 KiB)");
  const auto message = cd::timeout_message(operation, {"mpi", 0, 2, 2.5}, "not arrived: rank 1 (still at #2)");
  CHECK(message ==
        "watchdog: allreduce(sum) #3 of 1024 float32 elements (4.0 KiB) on the mpi communicator (rank 0 of 2) did "
        "not finish within 2.5 s; not arrived: rank 1 (still at #2). Aborting the job.");

  auto list = cd::describe_tensors("broadcast", {torch::zeros({10}, torch::kHalf), torch::zeros({6}, torch::kHalf)});
  CHECK(cd::describe(list) == "broadcast of 16 float16 elements in 2 tensors (32 B)");

  auto receive = cd::describe_tensor("recv", torch::zeros({3 << 20}, torch::kBFloat16));
  receive.peer = 4;
  CHECK(cd::describe(receive) == "recv with rank 4 of 3145728 bfloat16 elements (6.0 MiB)");
  CHECK(cd::point_to_point_arrivals(receive) ==
        "rank 4 has not posted the matching send (point-to-point operations are not tracked further)");

  cd::OperationInfo barrier;
  barrier.name = "barrier";
  barrier.sequence = 9;
  CHECK(cd::describe(barrier) == "barrier #9");
}

TEST_CASE("watchdog: a polling wait returns once done and expires past its deadline", "[watchdog]") {
  int polls = 0;
  cd::poll_until([&] { return ++polls == 1000; }, cd::Clock::now() + 10s, [] { throw Expired(); });
  CHECK(polls == 1000);

  const auto start = cd::Clock::now();
  CHECK_THROWS_AS(cd::poll_until([] { return false; }, start + 30ms, [] { throw Expired(); }), Expired);
  const auto waited = cd::Clock::now() - start;
  CHECK(waited >= 30ms);
  CHECK(waited < 2s);
}

TEST_CASE("watchdog: the background thread drops finished operations and expires late ones", "[watchdog]") {
  cd::WatchdogThread watchdog(5ms);
  auto quick = std::make_shared<FakeOperation>(10s);
  auto late = std::make_shared<FakeOperation>(20ms);
  watchdog.watch(quick);
  watchdog.watch(late);
  CHECK(watchdog.in_flight() == 2);
  quick->done = true;
  REQUIRE(eventually([&] { return watchdog.in_flight() == 0; }));
  CHECK(quick->expiries == 0);
  CHECK(late->expiries == 1);  // once, then no longer watched
  // The watchdog holds what it watches until it ends.
  auto held = std::make_shared<FakeOperation>(10s);
  std::weak_ptr<FakeOperation> observer = held;
  FakeOperation& operation = *held;  // alive: the watchdog holds it until it is done
  watchdog.watch(std::move(held));
  CHECK(!observer.expired());
  operation.done = true;
  CHECK(eventually([&] { return observer.expired(); }));
  watchdog.stop();
  watchdog.stop();  // idempotent
}

TEST_CASE("watchdog: health checks run on every round", "[watchdog]") {
  std::atomic<int> rounds{0};
  cd::WatchdogThread watchdog(2ms, [&] { ++rounds; });
  CHECK(eventually([&] { return rounds >= 3; }));
}

TEST_CASE("arrival board: names the ranks on this node that are behind", "[watchdog][mpi]") {
  if (!dist::mpi_active()) {
    WARN("not under mpirun: the arrival board is not exercised");
    return;
  }
  auto* board = cd::arrival_board();
  REQUIRE(board != nullptr);
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  const auto record = board->record(comm);
  const int rank = dist::world_rank(), size = dist::world_size();
  // Rank r has started collective r + 1: for collective 2 only rank 0 is behind.
  record.arrive(static_cast<uint64_t>(rank + 1));
  record.arrive(1);  // never goes backwards
  MPI_Barrier(comm);
  const auto missing = record.missing(2);
  if (rank == 0 || size == 1)
    CHECK(missing == "every rank has arrived and is running (the operation is slow or stuck inside MPI or the device)");
  else
    CHECK(missing == "not arrived: rank 0 (still at #1)");
  if (size > 2) CHECK(record.missing(static_cast<uint64_t>(size + 1)).find("not arrived: ranks ") == 0);
  MPI_Barrier(comm);
  MPI_Comm_free(&comm);
}

TEST_CASE("arrival board: a record without a board says why it cannot tell", "[watchdog]") {
  const cd::ArrivalBoard::Record record("no MPI");
  record.arrive(5);
  CHECK(record.missing(5) == "which ranks have not arrived is unknown (no MPI)");
}
