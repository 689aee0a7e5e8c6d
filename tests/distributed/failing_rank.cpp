// cohort-failing-rank: research code's own training under ddp, run through
// cohort::job::run_program, whose data throws on rank 1 in the middle of an
// epoch while rank 0 waits for its gradients. run_program must end every
// rank within seconds (not at the 300 s watchdog), saying which rank failed
// and why; expect_abort.sh checks the time from the failure to the end.
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/job/program.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/trainer/trainer.h"

namespace {

namespace data = cohort::data;

/// Random examples; on rank 1, the fourth batch is "unreadable".
class FailingData : public data::Dataset {
 public:
  int64_t size() const override { return 256; }
  data::Batch get_batch(const torch::Tensor& indices) const override {
    if (cohort::distributed::world_rank() == 1 && ++batches_ == 4) {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch());
      std::fprintf(stderr, "failing at unix ms: %lld\n", static_cast<long long>(now.count()));
      throw std::runtime_error("the examples file went away");
    }
    return {torch::randn({indices.size(0), 8}), torch::randint(0, 2, {indices.size(0)})};
  }

 private:
  mutable int batches_ = 0;
};

int train() {
  torch::set_num_threads(1);
  torch::nn::Linear model(8, 2);
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  cohort::trainer::Trainer trainer(
      torch::nn::AnyModule(model), optimizer,
      cohort::trainer::TrainerOptions()
          .epochs(2)
          .strategy(std::make_shared<cohort::strategies::Ddp>(cohort::strategies::DdpOptions().device(torch::kCPU)))
          .progress(cohort::trainer::ProgressStyle::kNone));
  trainer.fit(data::DataLoader(std::make_shared<FailingData>(), data::DataLoaderOptions().batch_size(8)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cohort::job::run_program("cohort-failing-rank", "training failed", &argc, &argv, train);
}
