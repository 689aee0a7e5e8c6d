#pragma once
// Datasets by name, for configs: `"data": {"name": "fashion_mnist", ...}`.

#include <cstdint>
#include <memory>

#include "cohort/core/registry.h"
#include "cohort/data/dataset.h"

namespace cohort::data {

/// The three parts of a dataset a training job uses; validation may be null.
struct DataSplits {
  std::shared_ptr<TensorDataset> train;
  std::shared_ptr<TensorDataset> validation;
  std::shared_ptr<TensorDataset> test;
};

/// Factories receive the job's seed (for the validation split and synthetic data).
using DatasetRegistry = Registry<DataSplits, uint64_t>;

/// The registry with `fashion_mnist`, `synthetic` and `text_csv`.
DatasetRegistry& dataset_registry();

}  // namespace cohort::data
