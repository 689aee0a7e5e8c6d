#pragma once
// Internal: the first example whose values leave a range. Serves the label
// check at load (data::check_class_targets) and the search for the example
// behind a failed step (task::find_invalid_example).

#include <cstdint>
#include <optional>
#include <utility>

#include <torch/types.h>

namespace cohort::data::detail {

/// The first example (along dim 0) of `values` holding an entry outside
/// [low, high], with that entry; nothing when all are inside (or there are none).
std::optional<std::pair<int64_t, int64_t>> first_outside(const torch::Tensor& values, int64_t low, int64_t high);

}  // namespace cohort::data::detail
