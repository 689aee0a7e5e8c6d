// Benchmark: what reading a step's statistics costs, alone. Cohort's
// task::Task::measure (loss and the task's metric sums; default task: cross
// entropy with accuracy) against the read-back a hand-written loop does (the
// loss and the arg-max accuracy, one item() each), on logits of one batch.
// The two alternate; the median over repeats of microseconds per call is
// printed. A step of the Fashion-MNIST MLP takes about 1 ms on one thread, so
// 10 µs here is 1% of it.
//
//   build/bin/cohort-bench-step-statistics [--repeats 5] [--calls 20000] [--batch 64] [--classes 10]
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cohort/task/task.h"
#include "statistics.h"

namespace {

using Clock = std::chrono::steady_clock;

/// Microseconds per call of `call`, over `calls` calls.
template <typename Call>
double microseconds_per_call(int64_t calls, Call&& call) {
  const auto start = Clock::now();
  double sink = 0.0;
  for (int64_t i = 0; i < calls; ++i) sink += call();
  const auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  static volatile double kept;  // the results are used, so the calls stay
  kept = sink;
  return elapsed / double(calls);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("cost of a step's statistics: Task::measure against a hand-written read-back");
  int64_t repeats = 5, calls = 20000, batch = 64, classes = 10;
  app.add_option("--repeats", repeats);
  app.add_option("--calls", calls);
  app.add_option("--batch", batch);
  app.add_option("--classes", classes);
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const auto logits = torch::randn({batch, classes});
  const auto labels = torch::randint(0, classes, {batch});
  const cohort::data::Batch examples(torch::randn({batch, 1}), labels);
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  const cohort::task::Task task;
  std::vector<double> cohort, hand_written;
  for (int64_t repeat = 0; repeat < repeats; ++repeat) {
    cohort.push_back(microseconds_per_call(calls, [&] { return task.measure(logits, examples, loss).loss_sum; }));
    hand_written.push_back(microseconds_per_call(calls, [&] {
      return loss.item<double>() * double(batch) + double(logits.argmax(1).eq(labels).sum().item<int64_t>());
    }));
  }
  std::cout << nlohmann::json{{"benchmark", "step_statistics"},
                              {"batch", batch},
                              {"classes", classes},
                              {"calls", calls},
                              {"cohort_us", cohort::bench::median(cohort)},
                              {"hand_written_us", cohort::bench::median(hand_written)}}
                   .dump()
            << std::endl;
}
