#include "local_communicator.h"

#include <stdexcept>

#include <fmt/format.h>

#include "../../checks.h"

namespace cohort::distributed {
namespace detail {
namespace {

/// The handle of an operation that finished before its call returned.
class CompletedWork final : public Work {
 public:
  void wait() override {}
  bool is_completed() override { return true; }
};

/// One shared instance: handing it out costs a reference count, not an allocation.
WorkHandle completed() {
  static const WorkHandle work = std::make_shared<CompletedWork>();
  return work;
}

void check_tag(const char* operation, int tag) {
  if (tag < 0) throw std::invalid_argument(fmt::format("{}: tag {} is negative.", operation, tag));
}

}  // namespace

LocalCommunicator::LocalCommunicator(CommunicatorOptions options, torch::DeviceType device)
    : Communicator(std::move(options)), device_(device) {}

WorkHandle LocalCommunicator::allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) {
  check_tensors("allreduce", tensors, device_);
  for (const auto& tensor : tensors) check_reducible("allreduce", tensor, op);
  return completed();  // the reduction of one value is itself (an average divides by 1)
}

WorkHandle LocalCommunicator::broadcast_async(std::vector<torch::Tensor> tensors, int root) {
  check_tensors("broadcast", tensors, device_);
  check_rank("broadcast", "root", root, 1);
  return completed();
}

WorkHandle LocalCommunicator::allgather_async(const torch::Tensor& input, torch::Tensor output) {
  check_tensor("allgather", input, device_);
  check_tensor("allgather", output, device_);
  check_allgather(input, output, 1);
  output.view(input.sizes()).copy_(input);
  return completed();
}

WorkHandle LocalCommunicator::reduce_scatter_async(const torch::Tensor& input, torch::Tensor output,
                                                   ReduceOp op) {
  check_tensor("reduce_scatter", input, device_);
  check_tensor("reduce_scatter", output, device_);
  check_reducible("reduce_scatter", input, op);
  check_reduce_scatter(input, output, 1);
  output.copy_(input.view(output.sizes()));
  return completed();
}

WorkHandle LocalCommunicator::send_async(const torch::Tensor& tensor, int destination, int tag) {
  check_tensor("send", tensor, device_);
  check_rank("send", "destination", destination, 1);
  check_tag("send", tag);
  std::lock_guard<std::mutex> lock(mutex_);
  mailbox_[tag].push_back(tensor.clone());
  return completed();
}

WorkHandle LocalCommunicator::recv_async(torch::Tensor tensor, int source, int tag) {
  check_tensor("recv", tensor, device_);
  check_rank("recv", "source", source, 1);
  check_tag("recv", tag);
  std::lock_guard<std::mutex> lock(mutex_);
  auto queue = mailbox_.find(tag);
  // Nothing else can ever send: waiting would hang for sure.
  if (queue == mailbox_.end() || queue->second.empty())
    throw std::invalid_argument(fmt::format(
        "recv: nothing was sent to this rank with tag {} (a communicator of one rank receives only what it sent "
        "itself before).",
        tag));
  const auto message = std::move(queue->second.front());
  queue->second.pop_front();
  if (message.numel() != tensor.numel() || message.scalar_type() != tensor.scalar_type())
    throw std::invalid_argument(fmt::format("recv: the message with tag {} holds {} {} elements, but the tensor "
                                            "receiving it has {} {} elements.",
                                            tag, message.numel(), dtype_name(message.scalar_type()),
                                            tensor.numel(), dtype_name(tensor.scalar_type())));
  tensor.copy_(message.view(tensor.sizes()));
  return completed();
}

WorkHandle LocalCommunicator::barrier_async() { return completed(); }

std::shared_ptr<Communicator> LocalCommunicator::split(int color, int key) {
  if (color < 0) throw std::invalid_argument(fmt::format("split: color {} is negative.", color));
  return std::make_shared<LocalCommunicator>(options_, device_);
}

}  // namespace detail

std::shared_ptr<Communicator> make_local_communicator(CommunicatorOptions options, torch::DeviceType device) {
  return std::make_shared<detail::LocalCommunicator>(std::move(options), device);
}

}  // namespace cohort::distributed
