#include "nccl_communicator.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <fmt/format.h>

#include "../../checks.h"
#include "../../runtime_internal.h"
#include "nccl_support.h"

namespace cohort::distributed::detail {
namespace {

/// How often the watchdog thread looks at the operations in flight: often
/// enough to keep to the timeout, rarely enough to cost nothing.
std::chrono::milliseconds watchdog_period(double timeout_s) {
  const auto quarter = static_cast<int64_t>(timeout_s * 1000 / 4);
  return std::chrono::milliseconds(std::clamp<int64_t>(quarter, 1, 100));
}

/// Runs the exit hooks from an atexit handler registered now, after CUDA is
/// up, so that it runs before CUDA's own teardown.
void run_exit_hooks_before_cuda_teardown() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit([] { run_exit_hooks(); }); });
}

}  // namespace

NcclCommunicator::NcclCommunicator(std::shared_ptr<MpiCommunicator> bootstrap, c10::DeviceIndex device,
                                   CommunicatorOptions options)
    : Communicator(std::move(options)), stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device)) {
  if (!(options_.timeout_s() > 0))
    throw std::invalid_argument(fmt::format("timeout_s must be positive, not {}.", options_.timeout_s()));
  context_ = std::make_shared<NcclContext>();
  context_->device = device;
  context_->where = {"nccl", bootstrap ? bootstrap->rank() : 0, bootstrap ? bootstrap->size() : 1,
                     options_.timeout_s()};
  context_->bootstrap = std::move(bootstrap);

  ncclUniqueId id{};
  if (rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  if (context_->bootstrap)
    context_->bootstrap->broadcast(torch::from_blob(&id, {static_cast<int64_t>(sizeof id)}, torch::kUInt8), 0);
  {
    c10::cuda::CUDAGuard guard(device);
    check_nccl(ncclCommInitRank(&context_->comm, size(), id, rank()), "ncclCommInitRank");
  }
  watchdog_ = std::make_unique<WatchdogThread>(watchdog_period(options_.timeout_s()), [this] { check_async_error(); });
  exit_hook_ = add_exit_hook([this] { release(); });
  run_exit_hooks_before_cuda_teardown();
}

NcclCommunicator::~NcclCommunicator() {
  cancel_exit_hook(exit_hook_);
  release();
}

void NcclCommunicator::release() noexcept {
  if (released_.exchange(true)) return;
  watchdog_->stop();
  if (context_->comm && !context_->aborting) {
    c10::cuda::CUDAGuard guard(context_->device);
    ncclCommDestroy(context_->comm);  // at exit: nothing useful to do with an error
  }
  context_->comm = nullptr;
}

void NcclCommunicator::check_async_error() {
  ncclResult_t state = ncclSuccess;
  if (ncclCommGetAsyncError(context_->comm, &state) != ncclSuccess) return;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0)
  if (state == ncclInProgress) return;
#endif
  if (state != ncclSuccess)
    context_->abort(fmt::format("the nccl communicator (rank {} of {}) failed: {}.", rank(), size(),
                                ncclGetErrorString(state)));
}

uint64_t NcclCommunicator::next_sequence() {
  // Numbered with the bootstrap communicator's counter, so its arrival board
  // slot tells the NCCL collectives apart as well as the MPI ones.
  if (context_->bootstrap) return context_->bootstrap->begin_collective();
  return sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
}

void NcclCommunicator::check_on_device(const char* operation, const torch::Tensor& tensor) const {
  check_tensor(operation, tensor, torch::kCUDA);
  if (tensor.device().index() != context_->device)
    throw std::invalid_argument(fmt::format("{}: the tensor is on {}, but this communicator works on cuda:{}.",
                                            operation, tensor.device().str(), context_->device));
}

void NcclCommunicator::check_point_to_point(const char* operation, const torch::Tensor& tensor, int peer,
                                            int tag) const {
  check_on_device(operation, tensor);
  check_rank(operation, std::string(operation) == "send" ? "destination" : "source", peer, size());
  if (tag != 0)
    throw std::invalid_argument(fmt::format(
        "{}: tag {} given, but NCCL has no tags (sends and receives match in the order they are posted); use 0.",
        operation, tag));
  // Both ends would queue on the same stream, the receive behind the send.
  if (peer == rank())
    throw std::invalid_argument(fmt::format("{}: the nccl back-end cannot send to its own rank.", operation));
}

template <typename Enqueue>
WorkHandle NcclCommunicator::launch(OperationInfo operation, bool collective, std::vector<torch::Tensor> tensors,
                                    Enqueue&& enqueue, bool host_waits) {
  if (released_.load(std::memory_order_acquire))
    throw std::logic_error("an nccl communicator was used after the runtime shut down.");
  c10::cuda::CUDAGuard guard(context_->device);
  if (collective) operation.sequence = next_sequence();
  auto work = std::make_shared<NcclWork>(context_, operation, host_waits);

  // The NCCL stream starts once the work queued so far on the caller's stream
  // (which produced the inputs) is done.
  const auto current = c10::cuda::getCurrentCUDAStream(context_->device);
  c10::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(stream_);
  // The caller may drop a tensor right after wait(), which does not wait for
  // the GPU: its memory must not be handed out again before NCCL is done.
  for (const auto& tensor : tensors)
    c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), stream_);
  {
    c10::cuda::CUDAStreamGuard on_nccl_stream(stream_);  // torch operations in `enqueue` go there too
    enqueue(stream_.stream());
  }
  work->record_end(stream_);
  work->keep(std::move(tensors));
  watchdog_->watch(work);
  return work;
}

WorkHandle NcclCommunicator::allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) {
  check_tensors("allreduce", tensors, torch::kCUDA);
  for (const auto& tensor : tensors) {
    check_on_device("allreduce", tensor);
    check_reducible("allreduce", tensor, op);
    nccl_reduction_type(tensor.scalar_type(), "allreduce");  // refuses what NCCL cannot reduce, before anything starts
  }
  auto operation = describe_tensors(allreduce_name(op), tensors);
  const auto enqueue = [&](cudaStream_t stream) {
    std::vector<torch::Tensor> to_divide;
    check_nccl(ncclGroupStart(), "ncclGroupStart");
    for (auto& tensor : tensors) {
      if (tensor.numel() == 0) continue;  // nothing to carry, and an empty tensor may have no address
      bool divide = false;
      const auto reduction = nccl_reduction_op(op, tensor.scalar_type(), divide);
      check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                               nccl_reduction_type(tensor.scalar_type(), "allreduce"), reduction, context_->comm,
                               stream),
                 "ncclAllReduce");
      if (divide) to_divide.push_back(tensor);
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd");
    for (auto& tensor : to_divide) divide_for_average(tensor, size());
  };
  return launch(operation, true, tensors, enqueue);
}

WorkHandle NcclCommunicator::broadcast_async(std::vector<torch::Tensor> tensors, int root) {
  check_tensors("broadcast", tensors, torch::kCUDA);
  for (const auto& tensor : tensors) check_on_device("broadcast", tensor);
  check_rank("broadcast", "root", root, size());
  auto operation = describe_tensors("broadcast", tensors);
  const auto enqueue = [&](cudaStream_t stream) {
    check_nccl(ncclGroupStart(), "ncclGroupStart");
    for (auto& tensor : tensors) {
      if (tensor.numel() == 0) continue;
      check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.nbytes(), ncclUint8, root, context_->comm,
                               stream),
                 "ncclBroadcast");
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  };
  return launch(operation, true, tensors, enqueue);
}

WorkHandle NcclCommunicator::allgather_async(const torch::Tensor& input, torch::Tensor output) {
  check_on_device("allgather", input);
  check_on_device("allgather", output);
  check_allgather(input, output, size());
  const auto enqueue = [&](cudaStream_t stream) {
    if (input.numel() == 0) return;
    check_nccl(ncclAllGather(input.data_ptr(), output.data_ptr(), input.nbytes(), ncclUint8, context_->comm, stream),
               "ncclAllGather");
  };
  return launch(describe_tensor("allgather", input), true, {input, output}, enqueue);
}

WorkHandle NcclCommunicator::reduce_scatter_async(const torch::Tensor& input, torch::Tensor output, ReduceOp op) {
  check_on_device("reduce_scatter", input);
  check_on_device("reduce_scatter", output);
  check_reducible("reduce_scatter", input, op);
  check_reduce_scatter(input, output, size());
  const auto type = nccl_reduction_type(input.scalar_type(), "reduce_scatter");
  const auto enqueue = [&](cudaStream_t stream) {
    if (output.numel() == 0) return;
    bool divide = false;
    const auto reduction = nccl_reduction_op(op, input.scalar_type(), divide);
    check_nccl(ncclReduceScatter(input.data_ptr(), output.data_ptr(), output.numel(), type, reduction,
                                 context_->comm, stream),
               "ncclReduceScatter");
    if (divide) divide_for_average(output, size());
  };
  return launch(describe_tensor(reduce_scatter_name(op), input), true, {input, output}, enqueue);
}

WorkHandle NcclCommunicator::send_async(const torch::Tensor& tensor, int destination, int tag) {
  check_point_to_point("send", tensor, destination, tag);
  auto operation = describe_tensor("send", tensor);
  operation.peer = destination;
  const auto enqueue = [&](cudaStream_t stream) {
    if (tensor.numel() == 0) return;  // both ends skip it alike
    check_nccl(ncclSend(tensor.data_ptr(), tensor.nbytes(), ncclUint8, destination, context_->comm, stream),
               "ncclSend");
  };
  return launch(operation, false, {tensor}, enqueue);
}

WorkHandle NcclCommunicator::recv_async(torch::Tensor tensor, int source, int tag) {
  check_point_to_point("recv", tensor, source, tag);
  auto operation = describe_tensor("recv", tensor);
  operation.peer = source;
  const auto enqueue = [&](cudaStream_t stream) {
    if (tensor.numel() == 0) return;
    check_nccl(ncclRecv(tensor.data_ptr(), tensor.nbytes(), ncclUint8, source, context_->comm, stream), "ncclRecv");
  };
  return launch(operation, false, {tensor}, enqueue);
}

WorkHandle NcclCommunicator::barrier_async() {
  // NCCL has no barrier: a one-element allreduce that the host waits for.
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(torch::kCUDA, context_->device));
  OperationInfo operation;
  operation.name = "barrier";
  const auto enqueue = [&](cudaStream_t stream) {
    check_nccl(ncclAllReduce(token.data_ptr(), token.data_ptr(), 1, ncclFloat32, ncclSum, context_->comm, stream),
               "ncclAllReduce");
  };
  return launch(operation, true, {token}, enqueue, /*host_waits=*/true);
}

std::shared_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  if (color < 0) throw std::invalid_argument(fmt::format("split: color {} is negative.", color));
  std::shared_ptr<MpiCommunicator> part;
  if (context_->bootstrap)
    part = std::static_pointer_cast<MpiCommunicator>(context_->bootstrap->split(color, key));
  return std::make_shared<NcclCommunicator>(std::move(part), context_->device, options_);
}

}  // namespace cohort::distributed::detail
