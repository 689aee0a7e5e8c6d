// cohort-failing-group-rank OUTPUT_DIR: a sweep under mpirun -np 3 (a
// coordinator and one group of two ranks) whose trials run collectives over
// their group, and where trial 1 throws on the group's rank 1 alone, in the
// middle, while rank 0 waits in an allreduce for it (a failure no collective
// agrees on). Trial 1 must fail, with rank 1's reason, and the sweep must go
// on to run every other trial on the same group: before, rank 0 waited until
// the watchdog ended the whole sweep. Rank 0 checks the study and prints
// "ok: ..." (the test's pass expression).
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/job/program.h"
#include "cohort/sweep/executor.h"
#include "cohort/sweep/sweep_config.h"

namespace {

using cohort::tuner::Json;
using cohort::tuner::Result;
using cohort::tuner::Trial;
using cohort::tuner::TrialState;
namespace dist = cohort::distributed;

constexpr int64_t kFailingTrial = 1;

/// Ten allreduces over the trial's group, on a communicator of the trial's
/// own (as a ddp job makes one); the value is the trial's id.
class GroupWork : public cohort::sweep::Evaluator {
 public:
  Result evaluate(const Trial& trial, const cohort::sweep::TrialContext& context) override {
    auto comm = dist::make_mpi_communicator(dist::CommunicatorOptions().timeout_s(60), context.group);
    auto tensor = torch::ones({1024});
    for (int i = 0; i < 10; ++i) {
      if (trial.id == kFailingTrial && comm->rank() == 1 && i == 3)
        throw std::runtime_error("planted failure in the middle of trial 1");
      comm->allreduce(tensor);
    }
    return Result::completed(double(trial.id));
  }
};

/// Rank 0's verdict on the finished study; 0 when it is as expected.
int check(const cohort::tuner::Study& study) {
  int failed = 0, completed = 0;
  for (const auto& [id, record] : study.trials()) {
    if (record.state == TrialState::kCompleted) ++completed;
    if (record.state != TrialState::kFailed) continue;
    ++failed;
    if (id != kFailingTrial || record.error.find("planted failure in the middle of trial 1") == std::string::npos) {
      std::fprintf(stderr, "trial %lld failed: %s\n", static_cast<long long>(id), record.error.c_str());
      return 1;
    }
  }
  if (failed != 1 || completed < 5 || size_t(completed + failed) != study.trials().size()) {
    std::fprintf(stderr, "%d failed and %d completed trials of %zu, expected 1 failed and the rest completed\n",
                 failed, completed, study.trials().size());
    return 1;
  }
  std::printf("ok: trial 1 failed alone (%s), and the sweep went on to %d completed trials\n",
              study.trials().at(kFailingTrial).error.c_str(), completed);
  return 0;
}

int run(const std::string& output_dir) {
  if (dist::world_size() != 3) throw cohort::InputError("start it with mpirun -np 3");
  // A fresh sweep each run: the journal of the last one goes (unlink, not
  // std::filesystem::remove, which LibTorch's bundled copy shadows here).
  if (dist::world_rank() == 0) ::unlink((output_dir + "/journal.jsonl").c_str());
  const Json raw = {{"space", {{"x1", {{"type", "uniform"}, {"low", -5}, {"high", 10}}},
                               {"x2", {{"type", "uniform"}, {"low", 0}, {"high", 15}}}}},
                    {"objective", {{"function", "branin"}}},
                    {"sampler", {{"name", "random"}}},
                    {"scheduler", {{"name", "fifo"}}},
                    {"max_trials", 6},
                    {"ranks_per_trial", 2},
                    {"seed", 3},
                    {"sync_journal", false},
                    {"output_dir", output_dir}};
  const auto sweep = cohort::sweep::parse_sweep_config(raw, "failing_group_rank", ".");
  cohort::sweep::MpiExecutor executor(cohort::sweep::ExecutorOptions().ranks_per_trial(2).output_dir(output_dir));
  GroupWork evaluator;
  std::unique_ptr<cohort::tuner::Study> study;
  if (executor.coordinates())
    study = std::make_unique<cohort::tuner::Study>(sweep.make_sampler(), sweep.make_scheduler(), sweep.study_options());
  executor.run(study.get(), &evaluator);
  return executor.coordinates() ? check(*study) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string output_dir = argc > 1 ? argv[1] : "failing-group-rank";
  return cohort::job::run_program("cohort-failing-group-rank", "sweep failed", &argc, &argv,
                                  [&] { return run(output_dir); });
}
