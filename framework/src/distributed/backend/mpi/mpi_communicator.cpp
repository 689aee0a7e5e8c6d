#include "mpi_communicator.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "../../checks.h"
#include "../../runtime_internal.h"
#include "cohort/distributed/wait_policy.h"
#include "mpi_support.h"
#include "shared_memory_allreduce.h"

namespace cohort::distributed::detail {

MpiCommunicator::MpiCommunicator(MPI_Comm comm, CommunicatorOptions options) : Communicator(std::move(options)) {
  if (!(options_.timeout_s() > 0))
    throw std::invalid_argument(fmt::format("timeout_s must be positive, not {}.", options_.timeout_s()));
  context_ = std::make_shared<MpiContext>();
  context_->comm = comm;
  {
    MpiCallGuard guard;
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_Comm_rank(comm, &context_->where.rank);
    MPI_Comm_size(comm, &context_->where.size);
    void* bound = nullptr;
    int found = 0;
    MPI_Comm_get_attr(comm, MPI_TAG_UB, &bound, &found);
    if (found) context_->tag_upper_bound = *static_cast<int*>(bound);
    if (ArrivalBoard* board = arrival_board()) context_->arrivals = board->record(comm);
  }
  context_->where.backend = "mpi";
  context_->where.timeout_s = options_.timeout_s();
  polite_ = any_rank_sleeps();
  if (options_.mpi_blocking_collectives()) start_monitor();
  exit_hook_ = add_exit_hook([this] { release(); });
}

void MpiCommunicator::start_monitor() {
  // The monitor aborts the job while another thread is inside an MPI call.
  if (mpi_thread_level() < MPI_THREAD_MULTIPLE) {
    if (rank() == 0)
      spdlog::warn("mpi_blocking_collectives is ignored: it needs MPI_THREAD_MULTIPLE, which MPI did not give.");
    return;
  }
  // The sleep wait mode polls non-blocking collectives instead: a blocking one spins inside MPI.
  if (polite_) return;
  blocking_ = true;
  const auto period = std::clamp<int64_t>(static_cast<int64_t>(options_.timeout_s() * 1000 / 4), 1, 100);
  monitor_ = std::make_unique<WatchdogThread>(std::chrono::milliseconds(period));
}

bool MpiCommunicator::any_rank_sleeps() {
  // Agreed, because one rank's MPI_Allreduce does not match another's MPI_Iallreduce, nor its shared-memory
  // deposit.
  int sleeps = wait_mode() == WaitMode::kSleep, any = sleeps;
  MpiCallGuard guard;
  check_mpi(MPI_Allreduce(&sleeps, &any, 1, MPI_INT, MPI_MAX, context_->comm), "MPI_Allreduce");
  return any != 0;
}

SharedMemoryAllreduce* MpiCommunicator::shared_memory() {
  if (!shared_memory_tried_) {
    shared_memory_tried_ = true;
    MpiCallGuard guard;
    shared_memory_ = SharedMemoryAllreduce::create(context_->comm);
  }
  return shared_memory_.get();
}

MpiCommunicator::~MpiCommunicator() {
  cancel_exit_hook(exit_hook_);
  release();
}

void MpiCommunicator::release() noexcept {
  if (released_.exchange(true)) return;
  if (monitor_) monitor_->stop();
  try {
    if (mpi_finalized()) return;
    MpiCallGuard guard;
    // Operations still in flight keep their requests; MPI frees the
    // communicator once they are done.
    MPI_Comm_free(&context_->comm);
  } catch (...) {
    // A destructor on a thread that may not call MPI (FUNNELED): leave it to MPI_Finalize.
  }
}

uint64_t MpiCommunicator::begin_collective() {
  const uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  context_->arrivals.arrive(sequence);
  return sequence;
}

std::shared_ptr<MpiWork> MpiCommunicator::start(OperationInfo operation, bool collective) {
  if (released_.load(std::memory_order_acquire))
    throw std::logic_error("an mpi communicator was used after MPI was finalised.");
  check_mpi_thread();  // a refused call must leave no trace, not even a sequence number
  if (collective) operation.sequence = begin_collective();
  auto work = std::make_shared<MpiWork>(context_, operation);
  if (blocking_ && collective) monitor_->watch(work);
  if (shared_memory_) work->also_poll([shared = shared_memory_] { shared->progress_pending(); });
  return work;
}

WorkHandle MpiCommunicator::started(std::shared_ptr<MpiWork> work) {
  if (blocking_) work->complete();
  return work;
}

torch::Tensor MpiCommunicator::reduction_target(MpiWork& work, const torch::Tensor& tensor, ReduceOp op) {
  torch::Tensor target = tensor;
  // MPI has no 16-bit float type: reduce a float32 copy, then round once.
  if (is_half_precision(tensor.scalar_type())) {
    target = tensor.to(torch::kFloat);
    work.copy_after(target, tensor);
  }
  if (op == ReduceOp::kAvg) work.average_after(target);
  return target;
}

void MpiCommunicator::check_tag(const char* operation, int tag) const {
  if (tag < 0 || tag > context_->tag_upper_bound)
    throw std::invalid_argument(
        fmt::format("{}: tag {} is out of range (MPI allows 0 to {}).", operation, tag, context_->tag_upper_bound));
}

WorkHandle MpiCommunicator::allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) {
  check_tensors("allreduce", tensors, torch::kCPU);
  for (const auto& tensor : tensors) {
    check_reducible("allreduce", tensor, op);
    check_count("allreduce", tensor);
  }
  auto work = start(describe_tensors(allreduce_name(op), tensors), true);
  if (polite_ && SharedMemoryAllreduce::accepts(tensors, op) && shared_memory()) {
    if (op == ReduceOp::kAvg) work->average_after(tensors.front());
    auto reduction = shared_memory_->start(tensors.front());
    // progress() advances everything pending, so the also_poll that start() set would only repeat it.
    work->also_poll(nullptr);
    work->poll_with([shared = shared_memory_, reduction] { return shared->progress(*reduction); });
    work->keep(std::move(tensors));
    return work;
  }
  MpiCallGuard guard;
  for (const auto& tensor : tensors) {
    const auto target = reduction_target(*work, tensor, op);
    const auto buffer = reduction_buffer(target, "allreduce");
    const auto reduction = reduction_op(op, target.scalar_type());
    if (blocking_)
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer.data, buffer.count, buffer.type, reduction, context_->comm),
                "MPI_Allreduce");
    else
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer.data, buffer.count, buffer.type, reduction, context_->comm,
                               work->add_request()),
                "MPI_Iallreduce");
  }
  work->keep(std::move(tensors));
  return started(std::move(work));
}

WorkHandle MpiCommunicator::broadcast_async(std::vector<torch::Tensor> tensors, int root) {
  check_tensors("broadcast", tensors, torch::kCPU);
  check_rank("broadcast", "root", root, size());
  for (const auto& tensor : tensors) copy_buffer(tensor, "broadcast");  // counts fit, before anything starts
  auto work = start(describe_tensors("broadcast", tensors), true);
  MpiCallGuard guard;
  for (const auto& tensor : tensors) {
    const auto buffer = copy_buffer(tensor, "broadcast");
    if (blocking_)
      check_mpi(MPI_Bcast(buffer.data, buffer.count, buffer.type, root, context_->comm), "MPI_Bcast");
    else
      check_mpi(MPI_Ibcast(buffer.data, buffer.count, buffer.type, root, context_->comm, work->add_request()),
                "MPI_Ibcast");
  }
  work->keep(std::move(tensors));
  return started(std::move(work));
}

WorkHandle MpiCommunicator::allgather_async(const torch::Tensor& input, torch::Tensor output) {
  check_tensor("allgather", input, torch::kCPU);
  check_tensor("allgather", output, torch::kCPU);
  check_allgather(input, output, size());
  const auto sent = copy_buffer(input, "allgather");
  const auto received = copy_buffer(output, "allgather");
  auto work = start(describe_tensor("allgather", input), true);
  MpiCallGuard guard;
  if (blocking_)
    check_mpi(MPI_Allgather(sent.data, sent.count, sent.type, received.data, sent.count, received.type,
                            context_->comm),
              "MPI_Allgather");
  else
    check_mpi(MPI_Iallgather(sent.data, sent.count, sent.type, received.data, sent.count, received.type,
                             context_->comm, work->add_request()),
              "MPI_Iallgather");
  work->keep({input, std::move(output)});
  return started(std::move(work));
}

WorkHandle MpiCommunicator::reduce_scatter_async(const torch::Tensor& input, torch::Tensor output, ReduceOp op) {
  check_tensor("reduce_scatter", input, torch::kCPU);
  check_tensor("reduce_scatter", output, torch::kCPU);
  check_reducible("reduce_scatter", input, op);
  check_reduce_scatter(input, output, size());
  check_count("reduce_scatter", input);
  auto work = start(describe_tensor(reduce_scatter_name(op), input), true);
  torch::Tensor sent = input;
  if (is_half_precision(input.scalar_type())) sent = input.to(torch::kFloat);
  // reduction_target() makes the float32 stand-in of a 16-bit output.
  const auto received = reduction_target(*work, output, op);
  const auto send_buffer = reduction_buffer(sent, "reduce_scatter");
  const auto receive_buffer = reduction_buffer(received, "reduce_scatter");
  const auto reduction = reduction_op(op, sent.scalar_type());
  MpiCallGuard guard;
  if (blocking_)
    check_mpi(MPI_Reduce_scatter_block(send_buffer.data, receive_buffer.data, receive_buffer.count,
                                       receive_buffer.type, reduction, context_->comm),
              "MPI_Reduce_scatter_block");
  else
    check_mpi(MPI_Ireduce_scatter_block(send_buffer.data, receive_buffer.data, receive_buffer.count,
                                        receive_buffer.type, reduction, context_->comm, work->add_request()),
              "MPI_Ireduce_scatter_block");
  work->keep({input, std::move(output), std::move(sent)});
  return started(std::move(work));
}

WorkHandle MpiCommunicator::send_async(const torch::Tensor& tensor, int destination, int tag) {
  check_tensor("send", tensor, torch::kCPU);
  check_rank("send", "destination", destination, size());
  check_tag("send", tag);
  const auto buffer = copy_buffer(tensor, "send");
  auto operation = describe_tensor("send", tensor);
  operation.peer = destination;
  auto work = start(operation, false);
  MpiCallGuard guard;
  check_mpi(MPI_Isend(buffer.data, buffer.count, buffer.type, destination, tag, context_->comm, work->add_request()),
            "MPI_Isend");
  work->keep({tensor});
  return work;
}

WorkHandle MpiCommunicator::recv_async(torch::Tensor tensor, int source, int tag) {
  check_tensor("recv", tensor, torch::kCPU);
  check_rank("recv", "source", source, size());
  check_tag("recv", tag);
  const auto buffer = copy_buffer(tensor, "recv");
  auto operation = describe_tensor("recv", tensor);
  operation.peer = source;
  auto work = start(operation, false);
  MpiCallGuard guard;
  check_mpi(MPI_Irecv(buffer.data, buffer.count, buffer.type, source, tag, context_->comm, work->add_request()),
            "MPI_Irecv");
  work->keep({std::move(tensor)});
  return work;
}

WorkHandle MpiCommunicator::barrier_async() {
  OperationInfo operation;
  operation.name = "barrier";
  auto work = start(operation, true);
  MpiCallGuard guard;
  if (blocking_)
    check_mpi(MPI_Barrier(context_->comm), "MPI_Barrier");
  else
    check_mpi(MPI_Ibarrier(context_->comm, work->add_request()), "MPI_Ibarrier");
  return started(std::move(work));
}

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  if (color < 0) throw std::invalid_argument(fmt::format("split: color {} is negative.", color));
  barrier();
  MPI_Comm part = MPI_COMM_NULL;
  {
    MpiCallGuard guard;
    check_mpi(MPI_Comm_split(context_->comm, color, key, &part), "MPI_Comm_split");
  }
  return std::make_shared<MpiCommunicator>(part, options_);
}

std::shared_ptr<MpiCommunicator> MpiCommunicator::duplicate(CommunicatorOptions options) {
  MPI_Comm copy = MPI_COMM_NULL;
  {
    MpiCallGuard guard;
    check_mpi(MPI_Comm_dup(context_->comm, &copy), "MPI_Comm_dup");
  }
  return std::make_shared<MpiCommunicator>(copy, std::move(options));
}

}  // namespace cohort::distributed::detail
