#include "cohort/strategies/pipeline/stage_link.h"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

namespace cohort::strategies::pipeline {
namespace {

// Header: [scalar type, number of dimensions, sizes...], padded to a fixed length.
constexpr int64_t kMaxDimensions = 8;
constexpr int64_t kHeaderLength = 2 + kMaxDimensions;

}  // namespace

StageLink::StageLink(std::shared_ptr<distributed::Communicator> pipeline, torch::Device device)
    : communicator_(std::move(pipeline)), device_(device) {}

StageLink::~StageLink() {
  try {
    flush();
  } catch (...) {
    // A destructor has nowhere to report to; the watchdog reports real hangs.
  }
}

void StageLink::send_activation(const torch::Tensor& activation, bool with_header) {
  if (with_header) {
    if (activation.dim() < 1 || activation.dim() > kMaxDimensions)
      throw std::invalid_argument(fmt::format(
          "pipeline: stage {} outputs a tensor of {} dimensions; a stage's output needs 1 to {} (the first one the "
          "micro-batch's).",
          stage(), activation.dim(), kMaxDimensions));
    auto header = torch::zeros({kHeaderLength}, torch::kInt64);
    header[0] = int64_t(activation.scalar_type());
    header[1] = activation.dim();
    for (int64_t d = 0; d < activation.dim(); ++d) header[2 + d] = activation.size(d);
    send(header.to(device_), stage() + 1);
  }
  send(activation.detach().contiguous(), stage() + 1);
}

torch::Tensor StageLink::recv_activation(int64_t rows, bool with_header) {
  if (with_header) {
    const auto header = recv(torch::empty({kHeaderLength}, torch::TensorOptions(torch::kInt64).device(device_)),
                             stage() - 1)
                            .cpu();
    received_type_ = torch::ScalarType(header[0].item<int64_t>());
    received_shape_.assign(header.data_ptr<int64_t>() + 2, header.data_ptr<int64_t>() + 2 + header[1].item<int64_t>());
  }
  auto shape = received_shape_;
  shape.at(0) = rows;
  return recv(torch::empty(shape, torch::TensorOptions(received_type_).device(device_)), stage() - 1);
}

void StageLink::send_gradient(const torch::Tensor& gradient) { send(gradient.contiguous(), stage() - 1); }

torch::Tensor StageLink::recv_gradient(const torch::Tensor& output) {
  return recv(torch::empty_like(output, torch::MemoryFormat::Contiguous), stage() + 1);
}

void StageLink::flush() {
  for (auto& work : sends_) wait(*work);
  sends_.clear();
}

void StageLink::send(const torch::Tensor& tensor, int destination) {
  sends_.push_back(communicator_->send_async(tensor, destination));
}

torch::Tensor StageLink::recv(torch::Tensor tensor, int source) {
  auto work = communicator_->recv_async(tensor, source);
  wait(*work);
  return tensor;
}

void StageLink::wait(distributed::Work& work) {
  const auto start = std::chrono::steady_clock::now();
  work.wait();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace cohort::strategies::pipeline
