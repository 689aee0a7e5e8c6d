// The search for the largest micro-batch that fits.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "cohort/memory/batch_size_finder.h"
#include "memory_helpers.h"
#include "cohort/memory/memory_report.h"

using namespace cohort;

namespace {


/// A job whose activations grow by about 64 KiB per example (a 4096-wide hidden layer).
job::TrainingJob wide_job() {
  return job::TrainingJob(cohort::testing::synthetic_config({{"model", {{"name", "mlp"}, {"hidden", {4096}}}},
                                                              {"data", {{"sample_shape", {64}}}}}),
                          "test config");
}

memory::BatchSizeSearchResult search_within(job::TrainingJob& job, double extra_mb) {
  const double rss = double(memory::proc_status_bytes("VmRSS")) / memory::kMiB;
  return memory::find_batch_size(job.trainer().strategy(), job.trainer().options().task(), *job.data().train,
                                 memory::BatchSizeSearchOptions().cpu_budget_mb(int64_t(rss + extra_mb)));
}

}  // namespace

TEST_CASE("on the CPU the search finds a micro-batch within the budget, larger for a larger budget", "[memory][batch_size]") {
  auto job = wide_job();
  const auto small = search_within(job, 48);
  const auto large = search_within(job, 192);
  INFO(small.to_json().dump() << "\n" << large.to_json().dump());
  CHECK(small.method == "measured");
  CHECK(small.micro_batch_size > 16);
  CHECK(small.peak_bytes <= small.budget_bytes);
  CHECK(large.peak_bytes <= large.budget_bytes);
  CHECK(large.micro_batch_size > 2 * small.micro_batch_size);
  CHECK_FALSE(large.reached_max);
  // Never far over the budget, even while searching.
  for (const auto& trial : large.trials) CHECK(trial.peak_bytes < large.budget_bytes + 16 * memory::kMiB);
  const auto json = large.to_json();
  CHECK(json.at("event") == "find_batch_size");
  CHECK(json.at("micro_batch_size") == large.micro_batch_size);
}

TEST_CASE("a small model reaches the search's upper end and says so", "[memory][batch_size]") {
  job::TrainingJob job(cohort::testing::synthetic_config(), "test config");
  const auto result = memory::find_batch_size(job.trainer().strategy(), job.trainer().options().task(), *job.data().train,
                                              memory::BatchSizeSearchOptions().max_batch_size(4096));
  CHECK(result.reached_max);
  CHECK(result.micro_batch_size == 4096);
}
