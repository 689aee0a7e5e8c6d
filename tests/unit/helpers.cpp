#include "helpers.h"

#include "cohort/job/training_job.h"

namespace cohort::testing {

config::Json synthetic_config(const config::Json& overrides) {
  config::Json base = {
      {"seed", 7},
      {"output_dir", ""},
      {"data",
       {{"name", "synthetic"}, {"train_samples", 320}, {"test_samples", 64}, {"sample_shape", {12}},
        {"num_classes", 3}, {"noise", 0.8}, {"validation_fraction", 0.2}}},
      {"loader", {{"batch_size", 16}, {"eval_batch_size", 64}, {"num_workers", 0}}},
      {"model", {{"name", "mlp"}, {"hidden", {24}}, {"dropout", 0.2}}},
      {"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}}},
      {"trainer", {{"epochs", 2}, {"progress", "none"}}},
      {"runtime", {{"threads", 1}}}};
  for (const auto& item : overrides.items()) {
    // A section that names its variant replaces the default section whole:
    // the keys of one model or optimizer mean nothing to another.
    if (item.value().is_object() && item.value().contains("name")) {
      base[item.key()] = item.value();
    } else {
      base[item.key()].merge_patch(item.value());
    }
  }
  return job::training_schema().validate(base, "test config");
}

}  // namespace cohort::testing
