// Every collective against a reference computed locally: rank r's input is a
// known function of r, so each rank can work out what all ranks together must
// produce. The same checks run on the world CPU communicator (the local
// back-end in one process, MPI under mpirun) and, tagged [cuda], on an NCCL
// communicator where GPUs exist.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <mpi.h>

#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cohort/distributed/runtime.h"
#include "cohort/distributed/wait_policy.h"

namespace dist = cohort::distributed;
using dist::ReduceOp;

namespace {

const std::vector<ReduceOp> kOps{ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMin, ReduceOp::kMax};

/// Rank r's input: (r + 1) * (1, -2, 3, -4, 1, -2, ...), exact in every dtype
/// tested (sums stay far below 256, bfloat16's limit for exact integers);
/// negative values make truncating and flooring averages differ.
torch::Tensor input_of(int rank, torch::ScalarType type, int64_t count = 8,
                       torch::Device device = torch::kCPU) {
  const auto index = torch::arange(count, torch::kDouble);
  const auto sign = 1 - 2 * index.remainder(2);
  return ((rank + 1) * (index.remainder(4) + 1) * sign).to(torch::TensorOptions().dtype(type).device(device));
}

/// What `op` over every rank's input_of() gives, computed here in double.
torch::Tensor expected_reduction(ReduceOp op, torch::ScalarType type, int size, int64_t count = 8) {
  std::vector<torch::Tensor> inputs;
  for (int rank = 0; rank < size; ++rank) inputs.push_back(input_of(rank, torch::kDouble, count));
  const auto all = torch::stack(inputs);
  switch (op) {
    case ReduceOp::kSum: return all.sum(0).to(type);
    case ReduceOp::kMin: return std::get<0>(all.min(0)).to(type);
    case ReduceOp::kMax: return std::get<0>(all.max(0)).to(type);
    case ReduceOp::kAvg:
      if (c10::isFloatingType(type)) return (all.sum(0) / size).to(type);
      return all.sum(0).div(size, "trunc").to(type);
  }
  return {};
}

/// Exact, except for floating-point averages (a division, rounded once here
/// and once in the back-end, possibly through float32).
void check_result(const torch::Tensor& actual, const torch::Tensor& expected, ReduceOp op) {
  const auto result = actual.cpu();
  REQUIRE(result.scalar_type() == expected.scalar_type());
  if (op == ReduceOp::kAvg && c10::isFloatingType(expected.scalar_type())) {
    const double tolerance = expected.element_size() == 2 ? 1e-2 : 1e-6;
    CHECK(torch::allclose(result.to(torch::kDouble), expected.to(torch::kDouble), tolerance, tolerance));
  } else {
    CHECK(torch::equal(result, expected));
  }
}

// ---- the checks, on any communicator ---------------------------------------

void check_allreduce_types(dist::Communicator& comm, torch::Device device, const std::vector<torch::ScalarType>& types) {
  for (const auto type : types) {
    for (const auto op : kOps) {
      CAPTURE(c10::toString(type), dist::to_string(op));
      auto tensor = input_of(comm.rank(), type, 8, device);
      comm.allreduce(tensor, op);
      check_result(tensor, expected_reduction(op, type, comm.size()), op);
    }
  }
}

void check_allreduce_list(dist::Communicator& comm, torch::Device device) {
  std::vector<torch::Tensor> tensors{input_of(comm.rank(), torch::kFloat, 5, device),
                                     input_of(comm.rank(), torch::kLong, 11, device),
                                     input_of(comm.rank(), torch::kHalf, 3, device)};
  comm.allreduce(tensors, ReduceOp::kMax);
  check_result(tensors[0], expected_reduction(ReduceOp::kMax, torch::kFloat, comm.size(), 5), ReduceOp::kMax);
  check_result(tensors[1], expected_reduction(ReduceOp::kMax, torch::kLong, comm.size(), 11), ReduceOp::kMax);
  check_result(tensors[2], expected_reduction(ReduceOp::kMax, torch::kHalf, comm.size(), 3), ReduceOp::kMax);
}

void check_allreduce_bool(dist::Communicator& comm, torch::Device device) {
  // Rank 0 holds {1, 0, 0}, the others {1, 1, 0}: min is "and", max and sum "or".
  auto values = torch::tensor({1, comm.rank() == 0 ? 0 : 1, 0}, torch::kBool).to(device);
  auto low = values.clone(), high = values.clone(), any = values.clone();
  comm.allreduce(low, ReduceOp::kMin);
  comm.allreduce(high, ReduceOp::kMax);
  comm.allreduce(any, ReduceOp::kSum);
  const bool alone = comm.size() == 1;
  CHECK(torch::equal(low.cpu(), torch::tensor({1, 0, 0}, torch::kBool)));
  CHECK(torch::equal(high.cpu(), torch::tensor({1, alone ? 0 : 1, 0}, torch::kBool)));
  CHECK(torch::equal(any.cpu(), high.cpu()));
}

void check_broadcast(dist::Communicator& comm, torch::Device device) {
  for (const int root : {0, comm.size() - 1}) {
    CAPTURE(root);
    auto tensor = input_of(comm.rank(), torch::kBFloat16, 6, device);
    auto other = torch::full({2, 3}, comm.rank(), torch::TensorOptions().dtype(torch::kInt).device(device));
    comm.broadcast(std::vector<torch::Tensor>{tensor, other}, root);
    CHECK(torch::equal(tensor.cpu(), input_of(root, torch::kBFloat16, 6)));
    CHECK(torch::equal(other.cpu(), torch::full({2, 3}, root, torch::kInt)));
  }
}

void check_allgather(dist::Communicator& comm, torch::Device device) {
  const auto input = input_of(comm.rank(), torch::kDouble, 4, device).reshape({2, 2});
  const auto gathered = comm.allgather(input);
  REQUIRE(gathered.sizes().vec() == std::vector<int64_t>{comm.size(), 2, 2});
  for (int rank = 0; rank < comm.size(); ++rank)
    CHECK(torch::equal(gathered[rank].cpu(), input_of(rank, torch::kDouble, 4).reshape({2, 2})));
  // Any output shape with the right number of elements.
  auto flat = torch::empty({comm.size() * 4}, input.options());
  comm.allgather_async(input, flat)->wait();
  CHECK(torch::equal(flat.cpu(), gathered.cpu().flatten()));
}

void check_reduce_scatter(dist::Communicator& comm, torch::Device device, torch::ScalarType type) {
  // Every rank's input is input_of(rank, size * 4): slice s of the reduction
  // is the reference's elements [4s, 4s + 4).
  const int size = comm.size();
  for (const auto op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
    CAPTURE(c10::toString(type), dist::to_string(op));
    const auto input = input_of(comm.rank(), type, size * 4, device).reshape({size * 2, 2});
    const auto output = comm.reduce_scatter(input, op);
    REQUIRE(output.sizes().vec() == std::vector<int64_t>{2, 2});
    const auto expected = expected_reduction(op, type, size, size * 4).slice(0, comm.rank() * 4, comm.rank() * 4 + 4);
    check_result(output.flatten(), expected, op);
  }
}

void check_ring(dist::Communicator& comm, torch::Device device) {
  // Even ranks send first and odd ranks receive first: correct even where a
  // send waits for its receive (NCCL, large MPI messages), at any size.
  const int next = (comm.rank() + 1) % comm.size(), previous = (comm.rank() + comm.size() - 1) % comm.size();
  const auto outgoing = input_of(comm.rank(), torch::kFloat, 64, device);
  auto incoming = torch::zeros({64}, outgoing.options());
  if (comm.rank() % 2 == 0) {
    comm.send(outgoing, next);
    comm.recv(incoming, previous);
  } else {
    comm.recv(incoming, previous);
    comm.send(outgoing, next);
  }
  CHECK(torch::equal(incoming.cpu(), input_of(previous, torch::kFloat, 64)));
}

void check_split(dist::Communicator& comm, torch::Device device) {
  const int rank = comm.rank(), size = comm.size();
  // Even and odd ranks, ordered backwards by key.
  const auto part = comm.split(rank % 2, size - rank);
  const int members = rank % 2 == 0 ? (size + 1) / 2 : size / 2;
  REQUIRE(part->size() == members);
  CHECK(part->rank() == members - 1 - rank / 2);
  CHECK(part->backend() == comm.backend());
  auto value = torch::full({3}, rank, torch::TensorOptions().dtype(torch::kLong).device(device));
  part->allreduce(value);
  int64_t expected = 0;
  for (int r = rank % 2; r < size; r += 2) expected += r;
  CHECK(torch::equal(value.cpu(), torch::full({3}, expected, torch::kLong)));
  // A split of a split works too.
  const auto single = part->split(part->rank(), 0);
  CHECK(single->size() == 1);
  single->barrier();
}

void check_async(dist::Communicator& comm, torch::Device device) {
  std::vector<torch::Tensor> tensors;
  std::vector<dist::WorkHandle> works;
  for (int i = 0; i < 4; ++i) {
    tensors.push_back(input_of(comm.rank(), torch::kFloat, 1000 + i, device));
    works.push_back(comm.allreduce_async({tensors.back()}, ReduceOp::kSum));
  }
  auto root_values = torch::full({7}, comm.rank(), torch::TensorOptions().dtype(torch::kInt).device(device));
  works.push_back(comm.broadcast_async({root_values}, comm.size() - 1));
  works.push_back(comm.barrier_async());
  // Waited out of order, and twice.
  for (auto work = works.rbegin(); work != works.rend(); ++work) (*work)->wait();
  for (auto& work : works) {
    work->wait();
    CHECK(work->is_completed());
  }
  for (int i = 0; i < 4; ++i)
    check_result(tensors[i], expected_reduction(ReduceOp::kSum, torch::kFloat, comm.size(), 1000 + i), ReduceOp::kSum);
  CHECK(torch::equal(root_values.cpu(), torch::full({7}, comm.size() - 1, torch::kInt)));
}

/// The tensors of an operation in flight stay alive while the caller drops its own.
void check_keeps_tensors_alive(dist::Communicator& comm, torch::Device device) {
  auto tensor = input_of(comm.rank(), torch::kFloat, 1 << 16, device);
  const auto view = tensor.view({-1});  // a second handle to the same storage, to read the result
  auto work = comm.allreduce_async({tensor});
  tensor = torch::Tensor();
  work->wait();
  check_result(view, expected_reduction(ReduceOp::kSum, torch::kFloat, comm.size(), 1 << 16), ReduceOp::kSum);
}

void check_zero_elements(dist::Communicator& comm, torch::Device device) {
  auto empty = torch::empty({0}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  comm.allreduce(empty);
  comm.broadcast(empty);
  CHECK(comm.allgather(empty).numel() == 0);
}

// ---- the communicators ------------------------------------------------------

std::shared_ptr<dist::Communicator> cpu() { return dist::world(torch::kCPU); }

/// An NCCL communicator over the job, or nullptr (with a warning) where the
/// machine cannot have one. The same answer on every rank of a node, so the
/// collectives inside stay matched.
std::shared_ptr<dist::Communicator> nccl_or_skip() {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA GPU here: the NCCL test is skipped");
    return nullptr;
  }
  if (dist::local_size() > static_cast<int>(torch::cuda::device_count())) {
    WARN("fewer GPUs than ranks on this node: the NCCL test is skipped");
    return nullptr;
  }
  static const auto comm = dist::make_nccl_communicator(dist::CommunicatorOptions().timeout_s(60));
  return comm;
}

torch::Device cuda_device() { return torch::Device(torch::kCUDA, dist::local_rank() % torch::cuda::device_count()); }

}  // namespace

TEST_CASE("world(): one shared communicator per device type, of the job's size", "[collectives]") {
  const auto comm = cpu();
  CHECK(comm == dist::world(torch::kCPU));
  CHECK(comm->size() == dist::world_size());
  CHECK(comm->rank() == dist::world_rank());
  CHECK(comm->device_type() == torch::kCPU);
  CHECK(comm->backend() == (dist::mpi_active() ? "mpi" : "local"));
  CHECK(dist::local_rank() < dist::local_size());
  CHECK(dist::local_size() <= dist::world_size());
  CHECK(comm->options().timeout_s() == 30);  // main() asked first; later options do not count
  if (!dist::mpi_active()) CHECK_THROWS_AS(dist::make_mpi_communicator(), std::runtime_error);
}

TEST_CASE("allreduce: sum, avg, min and max of every dtype match the reference", "[collectives]") {
  check_allreduce_types(*cpu(), torch::kCPU,
                        {torch::kFloat, torch::kDouble, torch::kInt, torch::kLong, torch::kHalf, torch::kBFloat16,
                         torch::kShort, torch::kChar});
  // uint8, with non-negative values.
  auto tensor = torch::arange(6, torch::kByte) + cpu()->rank();
  cpu()->allreduce(tensor, ReduceOp::kSum);
  const int size = cpu()->size();
  CHECK(torch::equal(tensor, (torch::arange(6, torch::kLong) * size + size * (size - 1) / 2).to(torch::kByte)));
}

TEST_CASE("allreduce: a list of tensors of different dtypes in one call", "[collectives]") {
  check_allreduce_list(*cpu(), torch::kCPU);
}

TEST_CASE("allreduce: bool tensors reduce as and/or", "[collectives]") { check_allreduce_bool(*cpu(), torch::kCPU); }

TEST_CASE("allreduce: a 4 MiB tensor", "[collectives]") {
  auto tensor = torch::full({1 << 20}, cpu()->rank() + 1, torch::kFloat);
  cpu()->allreduce(tensor, ReduceOp::kAvg);
  const int size = cpu()->size();
  CHECK(torch::equal(tensor, torch::full({1 << 20}, (size + 1) / 2.0, torch::kFloat)));
}

TEST_CASE("broadcast: from the first and from the last rank", "[collectives]") {
  check_broadcast(*cpu(), torch::kCPU);
}

TEST_CASE("allgather: every rank's input, in rank order", "[collectives]") { check_allgather(*cpu(), torch::kCPU); }

TEST_CASE("reduce_scatter: each rank gets the reduction of its slice", "[collectives]") {
  for (const auto type : {torch::kFloat, torch::kInt, torch::kHalf, torch::kBFloat16})
    check_reduce_scatter(*cpu(), torch::kCPU, type);
}

TEST_CASE("send and recv: around a ring", "[collectives]") {
  check_ring(*cpu(), torch::kCPU);
}

TEST_CASE("send and recv: both posted before either is waited on, told apart by tags", "[collectives]") {
  auto comm = cpu();
  const int next = (comm->rank() + 1) % comm->size(), previous = (comm->rank() + comm->size() - 1) % comm->size();
  const auto first = torch::full({3}, comm->rank(), torch::kLong), second = first + 100;
  auto got_first = torch::zeros({3}, torch::kLong), got_second = torch::zeros({3}, torch::kLong);
  // Sent in one order, received in the other.
  const std::vector<dist::WorkHandle> sends{comm->send_async(first, next, 1), comm->send_async(second, next, 2)};
  auto receive_second = comm->recv_async(got_second, previous, 2);
  auto receive_first = comm->recv_async(got_first, previous, 1);
  receive_second->wait();
  receive_first->wait();
  for (const auto& send : sends) send->wait();
  CHECK(torch::equal(got_first, torch::full({3}, previous, torch::kLong)));
  CHECK(torch::equal(got_second, torch::full({3}, previous + 100, torch::kLong)));
}

TEST_CASE("barrier: every rank passes, again and again", "[collectives]") {
  for (int i = 0; i < 20; ++i) cpu()->barrier();
  CHECK(cpu()->barrier_async() != nullptr);
  cpu()->barrier();
}

TEST_CASE("split: even and odd ranks, and a collective on each part", "[collectives]") {
  check_split(*cpu(), torch::kCPU);
}

TEST_CASE("split: sub-communicators may be dropped by each rank at a different time", "[collectives]") {
  auto comm = cpu();
  auto part = comm->split(0, comm->rank());
  part->barrier();
  if (comm->rank() == 0) part.reset();  // nothing collective in dropping it
  comm->barrier();
  part.reset();
  comm->barrier();
}

TEST_CASE("communicators over a group: the group itself for the CPU, fresh MPI communicators over its ranks",
          "[collectives][mpi]") {
  if (!dist::mpi_active()) return;  // one process: no group
  const auto world = dist::world(torch::kCPU);
  const int rank = world->rank();
  // Rank 0 alone, the other ranks together: the shape of a sweep's groups.
  const auto group = world->split(rank == 0 ? 0 : 1, rank);
  CHECK(dist::communicator_for(torch::kCPU, nullptr) == world);
  {
    CHECK(dist::communicator_for(torch::kCPU, group) == group);
    CHECK(dist::world_size() == world->size());  // still names the whole job
    const auto fresh = dist::make_mpi_communicator({}, group);
    CHECK(fresh != group);
    CHECK(fresh->size() == group->size());
    CHECK(fresh->rank() == group->rank());
    auto ranks = torch::full({1}, double(rank), torch::kFloat64);
    fresh->allreduce({ranks});
    // The sum of the world ranks in this rank's group only.
    const double expected = rank == 0 ? 0.0 : double(world->size() * (world->size() - 1) / 2);
    CHECK(ranks.item<double>() == expected);
  }
  CHECK(dist::world(torch::kCPU) == world);
  world->barrier();
}

TEST_CASE("async: several operations in flight, waited out of order and twice", "[collectives]") {
  check_async(*cpu(), torch::kCPU);
}

// Under the sleep wait mode (distributed.np2_sleep, wait_oversubscribed) the small float sums and averages
// go through shared memory and the 20 MiB one through MPI, all in flight together.
TEST_CASE("allreduce: many in flight, small and large, waited newest first, the same bits on every rank",
          "[collectives]") {
  auto comm = cpu();
  const int size = comm->size();
  // Rank r's i-th input: sin((r + 1 + i) k) for k = 0, 1, ...: not exact, so only an agreed order of
  // summation gives every rank the same bits.
  auto input = [](int rank, int i, int64_t count, torch::ScalarType type) {
    return torch::sin(torch::arange(count, torch::kDouble) * (rank + 1 + i)).to(type);
  };
  std::vector<torch::Tensor> results;
  std::vector<dist::WorkHandle> works;
  for (int i = 0; i < 7; ++i) {
    const int64_t count = i == 3 ? (int64_t(5) << 20) : 1000 + 37 * i;
    const auto type = i % 2 ? torch::kDouble : torch::kFloat;
    results.push_back(input(comm->rank(), i, count, type));
    works.push_back(comm->allreduce_async({results.back()}, i % 3 == 0 ? ReduceOp::kAvg : ReduceOp::kSum));
  }
  for (auto work = works.rbegin(); work != works.rend(); ++work) (*work)->wait();
  for (int i = 0; i < 7; ++i) {
    INFO("allreduce " << i);
    auto expected = torch::zeros_like(results[i], torch::kDouble);
    for (int rank = 0; rank < size; ++rank) expected += input(rank, i, results[i].numel(), torch::kDouble);
    if (i % 3 == 0) expected /= size;
    CHECK(torch::allclose(results[i].to(torch::kDouble), expected, 1e-5, 1e-5));
    if (i == 3) continue;
    const auto everyone = comm->allgather(results[i]).view({size, -1});
    for (int rank = 1; rank < size; ++rank) CHECK(torch::equal(everyone[rank], everyone[0]));
  }
}

TEST_CASE("async: an operation keeps its tensors alive", "[collectives]") {
  check_keeps_tensors_alive(*cpu(), torch::kCPU);
}

TEST_CASE("zero-element tensors are carried without complaint", "[collectives]") {
  check_zero_elements(*cpu(), torch::kCPU);
}

TEST_CASE("wrong input is refused with std::invalid_argument, before anything is sent", "[collectives][errors]") {
  auto comm = cpu();
  const int size = comm->size();
  const auto matrix = torch::zeros({4, 4});
  CHECK_THROWS_AS(comm->allreduce(matrix.t()), std::invalid_argument);
  CHECK_THROWS_WITH(comm->allreduce(matrix.t()), Catch::Contains("not contiguous"));
  CHECK_THROWS_WITH(comm->allreduce(torch::Tensor()), Catch::Contains("undefined"));
  CHECK_THROWS_WITH(comm->allreduce(std::vector<torch::Tensor>{}), Catch::Contains("no tensors"));
  CHECK_THROWS_WITH(comm->allreduce(torch::zeros({2}, torch::kMeta)), Catch::Contains("meta"));
  CHECK_THROWS_WITH(comm->allreduce(torch::zeros({2}, torch::kBool), ReduceOp::kAvg), Catch::Contains("average"));
  CHECK_THROWS_WITH(comm->allreduce(torch::zeros({2}, torch::kComplexFloat)), Catch::Contains("cannot reduce"));
  CHECK_THROWS_WITH(comm->broadcast(matrix, size), Catch::Contains("root rank"));
  CHECK_THROWS_WITH(comm->broadcast(matrix, -1), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(comm->allgather_async(matrix, torch::zeros({size * 16 + 1})), Catch::Contains("elements"));
  CHECK_THROWS_WITH(comm->allgather_async(matrix, torch::zeros({size * 16}, torch::kDouble)),
                    Catch::Contains("type"));
  CHECK_THROWS_WITH(comm->reduce_scatter(torch::zeros({})), Catch::Contains("split evenly"));
  if (size > 1) CHECK_THROWS_WITH(comm->reduce_scatter(torch::zeros({size * 2 + 1})), Catch::Contains("split evenly"));
  CHECK_THROWS_WITH(comm->reduce_scatter_async(torch::zeros({size * 2}), torch::zeros({3})),
                    Catch::Contains("elements"));
  CHECK_THROWS_WITH(comm->send(matrix, size), Catch::Contains("destination rank"));
  CHECK_THROWS_WITH(comm->recv(matrix, -1), Catch::Contains("source rank"));
  CHECK_THROWS_WITH(comm->send(matrix, 0, -5), Catch::Contains("tag"));
  CHECK_THROWS_AS(comm->split(-1, 0), std::invalid_argument);
  // Still in step afterwards: nothing was started by the refused calls.
  auto check = torch::ones({1});
  comm->allreduce(check);
  CHECK(check.item<float>() == size);
}

TEST_CASE("the local back-end: send to self is received, recv with nothing sent is refused", "[collectives][local]") {
  auto local = dist::make_local_communicator();
  CHECK(local->backend() == "local");
  CHECK(local->size() == 1);
  local->send(torch::full({2}, 7.0), 0, 3);
  auto got = torch::zeros({2});
  CHECK_THROWS_WITH(local->recv(got, 0, 4), Catch::Contains("nothing was sent"));
  local->recv(got, 0, 3);
  CHECK(torch::equal(got, torch::full({2}, 7.0)));
  check_allreduce_types(*local, torch::kCPU, {torch::kFloat, torch::kInt, torch::kHalf});
  check_ring(*local, torch::kCPU);
  check_split(*local, torch::kCPU);
  check_async(*local, torch::kCPU);
}

TEST_CASE("threads: another thread may run collectives from MPI_THREAD_SERIALIZED up", "[collectives][mpi]") {
  if (!dist::mpi_active()) {
    WARN("not under mpirun: thread levels are not exercised");
    return;
  }
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  auto comm = cpu();
  auto tensor = torch::ones({4});
  bool refused = false;
  std::exception_ptr error;
  // What the DDP reducer does: a collective started on a thread of its own.
  std::thread other([&] {
    try {
      comm->allreduce(tensor);
    } catch (const std::logic_error&) {
      refused = true;
    } catch (...) {
      error = std::current_exception();
    }
  });
  other.join();
  REQUIRE(!error);
  if (level >= MPI_THREAD_SERIALIZED) {
    CHECK(!refused);
    CHECK(torch::equal(tensor, torch::full({4}, comm->size(), torch::kFloat)));
  } else {
    CHECK(refused);  // FUNNELED: refused before anything was sent, on every rank
  }
  comm->barrier();  // still in step
}

TEST_CASE("mpi_blocking_collectives: the same results through MPI's blocking calls", "[collectives][mpi]") {
  if (!dist::mpi_active()) {
    WARN("not under mpirun: the MPI back-end's blocking mode is not exercised");
    return;
  }
  // A communicator of its own (world() is shared and made once).
  auto comm = dist::make_mpi_communicator(dist::CommunicatorOptions().timeout_s(30).mpi_blocking_collectives(true));
  check_allreduce_types(*comm, torch::kCPU, {torch::kFloat, torch::kInt, torch::kLong, torch::kHalf, torch::kBFloat16});
  check_allreduce_list(*comm, torch::kCPU);
  check_broadcast(*comm, torch::kCPU);
  check_allgather(*comm, torch::kCPU);
  check_reduce_scatter(*comm, torch::kCPU, torch::kHalf);
  check_ring(*comm, torch::kCPU);
  check_split(*comm, torch::kCPU);
  check_async(*comm, torch::kCPU);
  // Finished when the call returns, where MPI_THREAD_MULTIPLE allows the mode
  // and the wait mode is not sleep (which polls non-blocking calls instead).
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  auto tensor = torch::ones({3});
  auto work = comm->allreduce_async({tensor});
  if (level == MPI_THREAD_MULTIPLE && dist::wait_mode() != dist::WaitMode::kSleep) CHECK(work->is_completed());
  work->wait();
  CHECK(tensor[0].item<float>() == comm->size());
}

TEST_CASE("async: a handle dropped before its operation finished waits for it", "[collectives]") {
  auto comm = cpu();
  auto tensor = torch::full({1 << 16}, comm->rank() + 1.0);
  comm->allreduce_async({tensor}).reset();  // no wait(): the result must still arrive, memory intact
  CHECK(torch::equal(tensor, torch::full({1 << 16}, comm->size() * (comm->size() + 1) / 2.0)));
}

// ---- NCCL -------------------------------------------------------------------

TEST_CASE("nccl: allreduce of every dtype NCCL reduces, and a list", "[cuda]") {
  auto comm = nccl_or_skip();
  if (!comm) return;
  CHECK(comm->backend() == "nccl");
  CHECK(comm->device_type() == torch::kCUDA);
  check_allreduce_types(*comm, cuda_device(),
                        {torch::kFloat, torch::kDouble, torch::kInt, torch::kLong, torch::kHalf, torch::kBFloat16,
                         torch::kChar});
  check_allreduce_list(*comm, cuda_device());
  check_allreduce_bool(*comm, cuda_device());
}

TEST_CASE("nccl: broadcast, allgather, reduce_scatter, barrier", "[cuda]") {
  auto comm = nccl_or_skip();
  if (!comm) return;
  check_broadcast(*comm, cuda_device());
  check_allgather(*comm, cuda_device());
  for (const auto type : {torch::kFloat, torch::kInt, torch::kHalf}) check_reduce_scatter(*comm, cuda_device(), type);
  comm->barrier();
  CHECK(comm->barrier_async() != nullptr);
}

TEST_CASE("nccl: async operations are ordered on the caller's stream", "[cuda]") {
  auto comm = nccl_or_skip();
  if (!comm) return;
  check_async(*comm, cuda_device());
  check_keeps_tensors_alive(*comm, cuda_device());
  check_zero_elements(*comm, cuda_device());
  // Produced, reduced and consumed on the current stream without a host wait.
  auto tensor = torch::ones({1 << 20}, torch::TensorOptions().device(cuda_device())) * (comm->rank() + 1);
  comm->allreduce(tensor);
  const auto total = tensor.sum().item<double>();
  CHECK(total == Approx((1 << 20) * comm->size() * (comm->size() + 1) / 2.0));
}

TEST_CASE("nccl: split, send and recv, and refused input", "[cuda]") {
  auto comm = nccl_or_skip();
  if (!comm) return;
  check_split(*comm, cuda_device());
  if (comm->size() > 1)
    check_ring(*comm, cuda_device());
  else
    WARN("one rank: NCCL cannot send to itself, so send/recv is not exercised");
  const auto on_gpu = torch::zeros({4}, torch::TensorOptions().device(cuda_device()));
  CHECK_THROWS_WITH(comm->allreduce(torch::zeros({4})), Catch::Contains("cpu"));
  CHECK_THROWS_WITH(comm->allreduce(torch::zeros({4}, torch::TensorOptions().dtype(torch::kShort).device(cuda_device()))),
                    Catch::Contains("cannot reduce"));
  CHECK_THROWS_WITH(comm->send(on_gpu, 0, 7), Catch::Contains("no tags"));
  CHECK_THROWS_WITH(comm->send(on_gpu, comm->rank()), Catch::Contains("its own rank"));
}
