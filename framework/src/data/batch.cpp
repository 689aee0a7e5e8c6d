#include "cohort/data/batch.h"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

namespace cohort::data {

Batch::Batch(std::map<std::string, torch::Tensor> named) {
  for (auto& [name, tensor] : named) set(name, std::move(tensor));
}

Batch& Batch::set(const std::string& name, torch::Tensor tensor) {
  const auto current = size();
  if (tensor.defined() && (tensor.dim() == 0 || (current > 0 && tensor.size(0) != current)))
    throw std::invalid_argument(fmt::format(
        "batch tensor \"{}\" has shape {}, but every tensor of a batch needs the examples as its first dimension "
        "({} here)",
        name, c10::str(tensor.sizes()), current));
  if (name == kInput)
    data = std::move(tensor);
  else if (name == kTarget)
    target = std::move(tensor);
  else
    extra[name] = std::move(tensor);
  return *this;
}

int64_t Batch::size() const {
  if (data.defined()) return data.size(0);
  if (target.defined()) return target.size(0);
  for (const auto& [name, tensor] : extra)
    if (tensor.defined()) return tensor.size(0);
  return 0;
}

bool Batch::has(const std::string& name) const {
  if (name == kInput) return data.defined();
  if (name == kTarget) return target.defined();
  const auto found = extra.find(name);
  return found != extra.end() && found->second.defined();
}

const torch::Tensor& Batch::at(const std::string& name) const {
  if (!has(name))
    throw std::invalid_argument(fmt::format("the batch has no tensor \"{}\" (it has: {})", name,
                                            fmt::join(names(), ", ")));
  if (name == kInput) return data;
  if (name == kTarget) return target;
  return extra.at(name);
}

std::vector<std::string> Batch::names() const {
  std::vector<std::string> found;
  if (data.defined()) found.emplace_back(kInput);
  if (target.defined()) found.emplace_back(kTarget);
  for (const auto& [name, tensor] : extra)
    if (tensor.defined()) found.push_back(name);
  return found;
}

Batch Batch::slice(int64_t begin, int64_t end) const {
  return map([&](const torch::Tensor& tensor) { return tensor.slice(0, begin, end); });
}

Batch Batch::index_select(const torch::Tensor& indices) const {
  return map([&](const torch::Tensor& tensor) { return tensor.index_select(0, indices.to(tensor.device())); });
}

Batch Batch::to(torch::Device device, bool non_blocking) const {
  return map([&](const torch::Tensor& tensor) { return tensor.to(device, non_blocking); });
}

}  // namespace cohort::data
