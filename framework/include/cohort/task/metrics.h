#pragma once
// The built-in metrics: accuracy and top-k accuracy for classification, mean
// squared and absolute error and R² for regression.

#include <cstdint>
#include <memory>
#include <string>

#include "cohort/task/metric.h"

namespace cohort::task {

/// The share of examples whose target class is among the `k` highest
/// outputs: "accuracy" for k = 1, "top<k>_accuracy" otherwise. Needs outputs
/// {N, C} and class indices {N}; anything else is refused in one sentence.
std::shared_ptr<Metric> accuracy(int64_t k = 1);

/// Mean squared error "mse" and mean absolute error "mae" of output against
/// target, over every element.
std::shared_ptr<Metric> mean_squared_error();
std::shared_ptr<Metric> mean_absolute_error();

/// The coefficient of determination "r2": 1 - SSE / SST over every target
/// element, SST taken about the mean of all targets (scikit-learn's
/// r2_score for one output; for several, their elements pooled).
std::shared_ptr<Metric> r2_score();

/// A built-in metric by its record name: "accuracy", "top5_accuracy" (any
/// k >= 1), "mse", "mae", "r2"; std::invalid_argument listing them otherwise.
std::shared_ptr<Metric> metric_by_name(const std::string& name);

}  // namespace cohort::task
