// A hyperparameter sweep, from C++, over your own training on several ranks.
//
//   mpirun -np 3 ./sweep_own_training runs/sweep    (or ./sweep_own_training alone: one process)
//
// What it shows:
//  - a search space of your own parameters (learning rate, width, depth) and
//    a Study that searches it: BOHB's sampler, Hyperband's budgets in epochs,
//    a journal that a killed sweep resumes from;
//  - an Evaluator of your own: it trains your module on your data with the
//    Trainer and the ddp strategy over the trial's group of ranks, and returns
//    your metric (the validation R², maximised);
//  - a promoted trial continuing from its parent's checkpoint, on the same
//    learning-rate schedule, so it ends where training straight there would;
//  - MpiExecutor: world rank 0 coordinates (it owns the Study), the other
//    ranks form groups of kRanksPerTrial that each train one trial at a time.
//    With mpirun -np 3: one group of two ranks; -np 5: two groups side by side.
//
// It leaves journal.jsonl, results.csv, best.json, report.html and
// trials/<id>/{metrics.jsonl,checkpoints/} in the output directory, prints
// the best trial and exits with status 1 unless its R² is above 0.9.

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include <torch/torch.h>

#include <cohort/data/data_loader.h>
#include <cohort/data/dataset.h>
#include <cohort/distributed/runtime.h>
#include <cohort/job/program.h>
#include <cohort/logging/logging.h>
#include <cohort/strategies/ddp/ddp.h>
#include <cohort/sweep/evaluator.h>
#include <cohort/sweep/executor.h>
#include <cohort/task/losses.h>
#include <cohort/task/metrics.h>
#include <cohort/trainer/trainer.h>
#include <cohort/tuner/report/report.h>
#include <cohort/tuner/samplers/bohb_sampler.h>
#include <cohort/tuner/schedulers/hyperband.h>
#include <cohort/tuner/study/outputs.h>
#include <cohort/tuner/study/study.h>

namespace data = cohort::data;
namespace sweep = cohort::sweep;
namespace trainer = cohort::trainer;
namespace tuner = cohort::tuner;

namespace {

constexpr int64_t kRanksPerTrial = 2;
// Budgets are epochs: 1, 2 and 4. The largest is also every trial's
// learning-rate horizon, so a trial stopped at 2 epochs and continued to 4
// is exactly a trial trained straight to 4.
constexpr double kMinEpochs = 1, kMaxEpochs = 4;
const char* const kObjective = "val_r2";  // a key of the Trainer's epoch record

// Your model, shaped by the trial's configuration.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t width, int64_t depth) {
    int64_t in = 2;
    for (int64_t i = 0; i < depth; ++i, in = width) {
      layers->push_back(torch::nn::Linear(in, width));
      layers->push_back(torch::nn::Tanh());
    }
    layers->push_back(torch::nn::Linear(in, 1));
    register_module("layers", layers);
  }
  torch::Tensor forward(torch::Tensor x) { return layers->forward(x); }

  torch::nn::Sequential layers;
};
TORCH_MODULE(Mlp);

// Your data: y = sin(2 x0) + x1 / 2 + noise, targets {N, 1}. The same on every rank.
std::shared_ptr<data::TensorDataset> make_dataset(int64_t size) {
  torch::manual_seed(0);
  const auto x = torch::rand({size, 2}) * 4 - 2;
  const auto y = torch::sin(2 * x.slice(1, 0, 1)) + 0.5 * x.slice(1, 1, 2) + 0.1 * torch::randn({size, 1});
  return std::make_shared<data::TensorDataset>(x, y);
}

// Runs one trial on every rank of its group, all calling together; rank 0 of
// the group reports the result. It must not throw: a failure is a Result.
class RegressionEvaluator : public sweep::Evaluator {
 public:
  RegressionEvaluator() : RegressionEvaluator(data::split_validation(*make_dataset(1024), 0.2, /*seed=*/0)) {}

  tuner::Result evaluate(const tuner::Trial& trial, const sweep::TrialContext& context) override {
    try {
      return tuner::Result::completed(train(trial, context));
    } catch (const trainer::StepError& error) {
      // A diverging loss (too high a learning rate): the trial's seed is fixed,
      // so trying it again would diverge again.
      return tuner::Result::failed(error.what(), /*retry=*/false);
    } catch (const trainer::TrainingStopped& stopped) {
      return tuner::Result::timed_out(stopped.what());
    } catch (const std::exception& error) {
      return tuner::Result::failed(error.what());
    }
  }

 private:
  using Split = std::pair<std::shared_ptr<data::TensorDataset>, std::shared_ptr<data::TensorDataset>>;
  // Unsharded loaders: each trial's Trainer deals the examples to its group's ranks.
  explicit RegressionEvaluator(const Split& split)
      : train_(split.first, data::DataLoaderOptions().batch_size(16).seed(0)),
        validation_(split.second, data::DataLoaderOptions().batch_size(256).shuffle(false)) {}

  // Trains the trial's configuration up to trial.budget epochs; returns the objective.
  double train(const tuner::Trial& trial, const sweep::TrialContext& context) {
    const auto& config = trial.config;  // {"lr": 0.0123, "width": 32, "depth": 2}
    torch::manual_seed(1);
    Mlp model(config.at("width").get<int64_t>(), config.at("depth").get<int64_t>());
    const auto lr = config.at("lr").get<double>();
    auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(lr));
    trainer::Trainer trainer(
        torch::nn::AnyModule(model), optimizer,
        trainer::TrainerOptions()
            .epochs(int64_t(kMaxEpochs))
            .output_dir(context.trial_dir)  // trials/<id>: written by the group's rank 0
            .keep_checkpoints(1)
            // ddp over this trial's group only, not over the whole job.
            .strategy(std::make_shared<cohort::strategies::Ddp>(cohort::strategies::DdpOptions().ranks(context.group)))
            .task(cohort::task::Task(cohort::task::mse_loss).metrics({cohort::task::r2_score()}))
            .lr_schedule(cohort::optim::LrScheduleOptions().kind(cohort::optim::LrScheduleKind::kCosine))
            .progress(trainer::ProgressStyle::kNone));
    // A trial promoted to a larger budget continues from its parent's newest
    // checkpoint (taken at the parent's smaller budget).
    if (trial.parent >= 0) trainer.resume(context.parent_dir);
    trainer.fit(train_, &validation_,
                trainer::FitOptions()
                    .until_epochs(trial.budget)
                    // Stops every rank of the group together once the deadline passes.
                    .stop_when([&context] { return sweep::deadline_passed(context); }));
    return trainer.last_record().at(kObjective).get<double>();
  }

  data::DataLoader train_, validation_;
};

std::unique_ptr<tuner::Study> make_study(const std::string& output_dir) {
  auto space = tuner::SearchSpace()
                   .add(tuner::Parameter::log_uniform("lr", 1e-3, 0.3))
                   .add(tuner::Parameter::integer("width", 8, 64, /*log=*/true))
                   .add(tuner::Parameter::integer("depth", 1, 3));
  return std::make_unique<tuner::Study>(
      std::make_unique<tuner::BohbSampler>(space),
      std::make_unique<tuner::HyperbandScheduler>(
          tuner::HyperbandOptions().min_budget(kMinEpochs).max_budget(kMaxEpochs).eta(2).max_brackets(3)),
      tuner::StudyOptions()
          .seed(0)
          .direction(tuner::Direction::kMaximize)
          .journal(output_dir + "/journal.jsonl"));  // run again on the same directory to resume
}

// results.csv, best.json and report.html, rewritten as results arrive.
void write_sweep_outputs(const tuner::Study& study, const std::string& output_dir) {
  tuner::write_outputs(study, output_dir);
  tuner::report::write_report(output_dir + "/report.html",
                              tuner::report::report_input(study, "sweep_own_training", kObjective,
                                                          output_dir + "/trials"));
}

int run(const std::string& output_dir) {
  torch::set_num_threads(1);
  const int rank = cohort::distributed::world_rank();
  cohort::logging::setup(rank, rank == 0 ? "info" : "warn");

  // Alone (no mpirun), the one process runs the trials itself, one rank each.
  const int64_t ranks_per_trial = cohort::distributed::world_size() > 1 ? kRanksPerTrial : 1;
  sweep::MpiExecutor executor(
      sweep::ExecutorOptions()
          .ranks_per_trial(ranks_per_trial)
          .output_dir(output_dir)
          .trial_timeout_s(600)
          .write_outputs([&](const tuner::Study& study) { write_sweep_outputs(study, output_dir); }));
  // The study lives on the coordinator only, the evaluator on the ranks that train.
  auto study = executor.coordinates() ? make_study(output_dir) : nullptr;
  auto evaluator = executor.evaluates() ? std::make_unique<RegressionEvaluator>() : nullptr;
  const auto summary = executor.run(study.get(), evaluator.get());  // every rank, until the sweep is over
  if (!executor.coordinates()) return 0;

  const auto best = study->best();
  if (!best) {
    std::cerr << "sweep: no trial completed; see " << output_dir << "/results.csv" << std::endl;
    return 1;
  }
  std::cout << "sweep: " << summary.completed << " of " << summary.trials << " trials completed; best " << kObjective
            << " " << *best->value << " after " << best->trial.budget << " epochs with " << best->trial.config.dump()
            << " (trial " << best->trial.id << ")" << std::endl;
  return *best->value > 0.9 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return cohort::job::run_program("sweep_own_training", "sweep failed", &argc, &argv, [&] {
    return run(argc > 1 ? argv[1] : "runs/sweep");
  });
}
