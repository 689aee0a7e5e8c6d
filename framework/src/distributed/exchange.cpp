#include "cohort/distributed/exchange.h"

#include <cstring>

#include <torch/torch.h>

namespace cohort::distributed {
namespace {

torch::Tensor bytes_tensor(const std::string& bytes, torch::Device device) {
  auto buffer = torch::empty({int64_t(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
  return buffer.to(device);
}

std::string string_of(const torch::Tensor& buffer) {
  const auto host = buffer.cpu();
  const auto* data = static_cast<const char*>(host.data_ptr());
  return std::string(data, data + host.numel());
}

}  // namespace

bool any_rank(Communicator& comm, bool local, torch::Device device) {
  auto flag = torch::tensor({local ? 1 : 0}, torch::kInt32).to(device);
  comm.allreduce(flag, ReduceOp::kMax);
  return flag.item<int32_t>() != 0;
}

void send_bytes(Communicator& comm, const std::string& bytes, int destination, torch::Device device) {
  comm.send(torch::tensor({int64_t(bytes.size())}, torch::kInt64).to(device), destination);
  comm.send(bytes_tensor(bytes, device), destination);
}

std::string recv_bytes(Communicator& comm, int source, torch::Device device) {
  auto size = torch::empty({1}, torch::TensorOptions(torch::kInt64).device(device));
  comm.recv(size, source);
  auto buffer = torch::empty({size.cpu().item<int64_t>()}, torch::TensorOptions(torch::kUInt8).device(device));
  comm.recv(buffer, source);
  return string_of(buffer);
}

std::string broadcast_bytes(Communicator& comm, const std::string& bytes, int root, torch::Device device) {
  const bool sender = comm.rank() == root;
  auto size = torch::tensor({int64_t(sender ? bytes.size() : 0)}, torch::kInt64).to(device);
  comm.broadcast(size, root);
  auto buffer = sender ? bytes_tensor(bytes, device)
                       : torch::empty({size.cpu().item<int64_t>()}, torch::TensorOptions(torch::kUInt8).device(device));
  comm.broadcast(buffer, root);
  return string_of(buffer);
}

}  // namespace cohort::distributed
