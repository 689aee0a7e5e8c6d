#include "cohort/task/invalid_example.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "../data/first_outside.h"

namespace cohort::task {
namespace {

/// The largest table of the model's embeddings: an id at or past it is out of
/// range for every one of them. 0 when the model has none.
int64_t largest_embedding(const torch::nn::Module& model) {
  int64_t largest = 0;
  for (const auto& module : model.modules(/*include_self=*/true)) {
    if (const auto* embedding = dynamic_cast<const torch::nn::EmbeddingImpl*>(module.get()))
      largest = std::max(largest, embedding->options.num_embeddings());
    else if (const auto* bag = dynamic_cast<const torch::nn::EmbeddingBagImpl*>(module.get()))
      largest = std::max(largest, bag->options.num_embeddings());
  }
  return largest;
}

std::string check_labels(const data::Batch& batch, const Task& task, int64_t classes) {
  if (!task.classifies() || classes <= 0 || !batch.has(data::Batch::kTarget)) return "";
  const auto& target = batch.at(data::Batch::kTarget);
  if (target.is_floating_point() || target.dim() == 0) return "";
  const auto found = data::detail::first_outside(target, 0, classes - 1);
  if (!found) return "";
  return fmt::format("example {} of the batch has label {}, outside the classes 0..{} of the model's {} outputs",
                     found->first, found->second, classes - 1, classes);
}

std::string check_ids(const torch::nn::Module& model, const data::Batch& batch, const Task& task) {
  const auto table = largest_embedding(model);
  if (table == 0) return "";
  for (const auto& name : task.inputs()) {
    if (!batch.has(name)) continue;
    const auto& ids = batch.at(name);
    if (ids.is_floating_point() || ids.dim() == 0) continue;
    if (name != task.inputs().front() && ids.dim() < 2) continue;
    if (const auto found = data::detail::first_outside(ids, 0, table - 1))
      return fmt::format("example {} of the batch has id {} in \"{}\", outside the 0..{} an embedding of the model holds",
                         found->first, found->second, name, table - 1);
  }
  return "";
}

}  // namespace

std::string find_invalid_example(const torch::nn::Module& model, const data::Batch& batch, const Task& task,
                                 int64_t classes) {
  try {
    auto found = check_ids(model, batch, task);
    return found.empty() ? check_labels(batch, task, classes) : found;
  } catch (const c10::Error&) {
    return "";  // a device that cannot be read any more (a lost GPU): nothing to add
  }
}

}  // namespace cohort::task
