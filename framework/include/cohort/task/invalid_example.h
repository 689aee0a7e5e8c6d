#pragma once
// The example behind an index error. A label outside the model's outputs or a
// token id outside an embedding's table fails deep inside LibTorch: on the CPU
// as "Target 10 is out of bounds" or "index out of range in self", on a GPU as
// a device-side assert that names no example at all. When a step fails so,
// the batch is searched on the CPU for the example that caused it.

#include <cstdint>
#include <string>

#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include "cohort/core/error.h"
#include "cohort/data/batch.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/task/task.h"

namespace cohort::task {

/// A sentence naming the first example of `batch` that cannot be right for
/// `model` under `task`, or "" when none is found:
/// - a label outside 0..classes-1 when the task classifies (`classes` is the
///   model's output width; -1 when unknown skips this check);
/// - a negative id, or one past the largest Embedding/EmbeddingBag table of
///   `model`, in the first input or any integer input of one sequence or more
///   per example (so lengths and counts are not taken for ids).
/// The batch may live on any device; it is read on the CPU.
std::string find_invalid_example(const torch::nn::Module& model, const data::Batch& batch, const Task& task,
                                 int64_t classes);

/// The class count an output of a classifier shows: its width for
/// [examples, classes], -1 for any other shape.
inline int64_t output_classes(const torch::Tensor& output) { return output.dim() == 2 ? output.size(1) : -1; }

/// Runs `step`; when it fails with a LibTorch error other than running out of
/// memory and find_invalid_example finds the cause in `batch`, throws
/// cohort::InputError with that sentence followed by LibTorch's message (and,
/// for a CUDA failure, what to do). Otherwise the error passes unchanged.
/// `classes` is read only on failure, so `step` may set it once the model's
/// output exists. Free on the path without an error.
template <typename Step>
auto explain_invalid_examples(const torch::nn::Module& model, const data::Batch& batch, const Task& task,
                              const int64_t& classes, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const c10::OutOfMemoryError&) {
    throw;
  } catch (const c10::Error& error) {
    const auto found = find_invalid_example(model, batch, task, classes);
    if (found.empty()) throw;
    throw InputError(found + " (LibTorch: " + describe_exception(error) + ")");
  }
}

}  // namespace cohort::task
