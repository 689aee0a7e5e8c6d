#pragma once
// The back-end of a job of one process: every collective is a copy or nothing.

#include <deque>
#include <map>
#include <mutex>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

/// A communicator of one rank. Operations finish before they return; their
/// handles are already complete. It checks its input like the other back-ends,
/// so code that is wrong at eight ranks is refused at one too.
class LocalCommunicator final : public Communicator {
 public:
  /// `device`: the device type it reports (it copies tensors of that type).
  LocalCommunicator(CommunicatorOptions options, torch::DeviceType device);

  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  torch::DeviceType device_type() const override { return device_; }

  WorkHandle allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) override;
  WorkHandle broadcast_async(std::vector<torch::Tensor> tensors, int root) override;
  WorkHandle allgather_async(const torch::Tensor& input, torch::Tensor output) override;
  WorkHandle reduce_scatter_async(const torch::Tensor& input, torch::Tensor output, ReduceOp op) override;
  /// Sends to self: the tensor's values are kept (copied) until a recv with the same tag takes them.
  WorkHandle send_async(const torch::Tensor& tensor, int destination, int tag) override;
  /// Takes the oldest message sent to self with `tag`; refuses when none was sent.
  WorkHandle recv_async(torch::Tensor tensor, int source, int tag) override;
  WorkHandle barrier_async() override;
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  torch::DeviceType device_;
  std::mutex mutex_;
  std::map<int, std::deque<torch::Tensor>> mailbox_;  // by tag: sent to self, not yet received
};

}  // namespace cohort::distributed::detail
