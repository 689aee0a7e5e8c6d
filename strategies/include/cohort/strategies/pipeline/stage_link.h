#pragma once
// The messages of one pipeline stage with its two neighbours: activations go
// forward to the next stage, their gradients come back to the previous one.
//
// No tags: between two neighbours, activations only flow one way and
// gradients the other, and both ends post them in micro-batch order (see
// schedule.h), so messages match in the order they are posted (MPI's
// non-overtaking rule, NCCL's ordering). Shapes: a gradient has the shape of
// the activation it belongs to, which the receiving stage produced itself.
// An activation's shape and type travel in a small header before the first
// micro-batch of every step (they may change with autocast or the model); the
// later micro-batches only differ in their first dimension, the micro-batch's
// size, which the receiver knows because every stage sees the same batch.

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::strategies::pipeline {

class StageLink {
 public:
  /// `pipeline`: the communicator of one pipeline, where rank s holds stage s.
  /// `device`: where received tensors are put (the stage's device).
  StageLink(std::shared_ptr<distributed::Communicator> pipeline, torch::Device device);
  ~StageLink();
  StageLink(const StageLink&) = delete;
  StageLink& operator=(const StageLink&) = delete;

  int stage() const { return communicator_->rank(); }
  int stages() const { return communicator_->size(); }
  bool first() const { return stage() == 0; }
  bool last() const { return stage() == stages() - 1; }

  /// Sends this stage's output for one micro-batch to the next stage without
  /// waiting; `with_header` for the step's first micro-batch. The first
  /// dimension must be the micro-batch's.
  void send_activation(const torch::Tensor& activation, bool with_header);
  /// Receives the previous stage's output for a micro-batch of `rows`
  /// examples; `with_header` as the sender had it.
  torch::Tensor recv_activation(int64_t rows, bool with_header);
  /// Sends the gradient of the loss for this stage's input back to the previous stage.
  void send_gradient(const torch::Tensor& gradient);
  /// Receives the gradient for `output`, this stage's output of a micro-batch.
  torch::Tensor recv_gradient(const torch::Tensor& output);

  /// Waits until every send has left, so its tensors may be freed. Call it at
  /// the end of a step.
  void flush();

  /// Seconds spent waiting for neighbours (receives, and sends not yet taken),
  /// since construction: the stage's idle time in the pipeline's bubble.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void send(const torch::Tensor& tensor, int destination);
  torch::Tensor recv(torch::Tensor tensor, int source);
  /// Waits for `work`, adding the time to wait_seconds_.
  void wait(distributed::Work& work);

  std::shared_ptr<distributed::Communicator> communicator_;
  torch::Device device_;
  std::vector<distributed::WorkHandle> sends_;  // in flight, with their tensors
  torch::ScalarType received_type_ = torch::kFloat;
  std::vector<int64_t> received_shape_;  // of the last header; [0] is replaced per micro-batch
  double wait_seconds_ = 0.0;
};

}  // namespace cohort::strategies::pipeline
