// Regression with your own module and your own data, trained with ddp on every
// rank of mpirun, stopped half-way and resumed by a second Trainer.
//
//   mpirun -np 2 ./regression runs/regression     (or ./regression alone: one process)
//
// What it shows:
//  - a torch::nn::Module of your own (an MLP) and a dataset of your own
//    (y = sin(2x) + x/2 + noise, {N, 1} float targets);
//  - the Huber loss, with R² and the mean squared error as metrics;
//  - the ddp strategy: one replica per rank, each training on its own share of
//    the data, gradients averaged over the ranks;
//  - metrics.jsonl and checkpoints/ in an output directory (written by rank 0);
//  - a second Trainer that resumes from the checkpoint and ends exactly where
//    training straight through ends: same weights, same validation loss;
//  - cohort::job::run_program: an exception on any rank ends every rank with
//    one message naming the rank, instead of leaving the others waiting.
//
// It prints the final val_r2 and exits with status 1 unless R² > 0.9 and the
// resumed run matches the uninterrupted one.

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include <torch/torch.h>

#include <cohort/data/data_loader.h>
#include <cohort/data/dataset.h>
#include <cohort/distributed/runtime.h>
#include <cohort/job/program.h>
#include <cohort/logging/logging.h>
#include <cohort/optim/lr_schedule.h>
#include <cohort/strategies/ddp/ddp.h>
#include <cohort/task/losses.h>
#include <cohort/task/metrics.h>
#include <cohort/trainer/trainer.h>

namespace data = cohort::data;
namespace task = cohort::task;
namespace trainer = cohort::trainer;

namespace {

constexpr int64_t kEpochs = 12;  // the whole run; also the horizon of the learning-rate schedule
constexpr int64_t kHidden = 64;
constexpr double kLearningRate = 3e-2;
constexpr uint64_t kSeed = 0;

// Your model: any torch::nn::Module with a forward(). Cohort asks nothing
// else of it: no base class, no registration.
struct RegressorImpl : torch::nn::Module {
  explicit RegressorImpl(int64_t hidden)
      : layers(register_module("layers", torch::nn::Sequential(torch::nn::Linear(1, hidden), torch::nn::Tanh(),
                                                              torch::nn::Linear(hidden, hidden), torch::nn::Tanh(),
                                                              torch::nn::Linear(hidden, 1)))) {}
  torch::Tensor forward(torch::Tensor x) { return layers->forward(x); }

  torch::nn::Sequential layers;
};
TORCH_MODULE(Regressor);

// Your data: inputs {N, 1} and float targets {N, 1}, the output's shape (the
// regression losses refuse a target that would broadcast against the output
// into a larger shape, which would pair every output with every target).
// Every rank builds the same tensors (same seed); the Trainer deals each rank
// its share of them.
std::shared_ptr<data::TensorDataset> make_dataset(int64_t size) {
  torch::manual_seed(kSeed);
  const auto x = torch::rand({size, 1}) * 6 - 3;
  const auto y = torch::sin(2 * x) + 0.5 * x + 0.1 * torch::randn({size, 1});
  return std::make_shared<data::TensorDataset>(x, y);
}

// One Trainer over a fresh model, writing into `output_dir`. Every Trainer of
// this program is built here alike, so a resumed one has the same setup as
// the one that wrote the checkpoint.
trainer::Trainer make_trainer(const std::string& output_dir) {
  torch::manual_seed(kSeed + 1);  // the same initial weights every time (ddp broadcasts rank 0's anyway)
  Regressor model(kHidden);
  auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(kLearningRate));
  auto options = trainer::TrainerOptions()
                     .epochs(kEpochs)
                     .output_dir(output_dir)  // metrics.jsonl, checkpoints/epoch-0012.pt, ...
                     // Over every rank of mpirun; a strategy takes charge of one model, so one per Trainer.
                     .strategy(std::make_shared<cohort::strategies::Ddp>())
                     // Huber loss (squared below 1, linear above), R² and MSE reported beside it.
                     .task(task::Task(task::huber_loss).metrics({task::r2_score(), task::mean_squared_error()}))
                     .lr_schedule(cohort::optim::LrScheduleOptions()
                                      .kind(cohort::optim::LrScheduleKind::kCosine)
                                      .warmup_steps(20))
                     .step(trainer::StepOptions().clip_grad_norm(1.0))
                     .progress(trainer::ProgressStyle::kNone)  // the epoch lines are enough here
                     // Saved in every checkpoint; a resume under other values warns, naming the keys.
                     .config({{"hidden", kHidden}, {"lr", kLearningRate}, {"epochs", kEpochs}});
  return trainer::Trainer(torch::nn::AnyModule(model), optimizer, std::move(options));
}

// Whether two trainers' models hold exactly the same weights.
bool same_weights(trainer::Trainer& a, trainer::Trainer& b) {
  const auto left = a.model().ptr()->parameters(), right = b.model().ptr()->parameters();
  if (left.size() != right.size()) return false;
  for (size_t i = 0; i < left.size(); ++i)
    if (!torch::equal(left[i], right[i])) return false;
  return true;
}

int run(const std::string& output_dir) {
  // One intra-op thread per rank: two ranks that each use every core run
  // slower than one, and one thread makes runs repeatable bit for bit.
  torch::set_num_threads(1);
  const int rank = cohort::distributed::world_rank();
  cohort::logging::setup(rank, rank == 0 ? "info" : "warn");  // the job's log reads like one process's

  auto [train_set, validation_set] = data::split_validation(*make_dataset(2048), 0.2, kSeed);
  // Unsharded loaders: under ddp the Trainer deals the examples out to the
  // ranks itself (batch_size is per rank), and counts each validation example once.
  const data::DataLoader train(train_set, data::DataLoaderOptions().batch_size(32).seed(kSeed));
  const data::DataLoader validation(validation_set, data::DataLoaderOptions().batch_size(256).shuffle(false));

  // The first run stops half-way, as a killed job would: its last checkpoint
  // is checkpoints/epoch-0006.pt.
  const auto run_dir = output_dir + "/run";
  make_trainer(run_dir).fit(train, &validation, trainer::FitOptions().until_epochs(kEpochs / 2));

  // A second Trainer, with a fresh model and optimizer, takes up the newest
  // checkpoint in the directory (weights, optimizer state, random generators,
  // position) and trains the remaining epochs, appending to metrics.jsonl.
  auto resumed = make_trainer(run_dir);
  resumed.resume(run_dir);
  resumed.fit(train, &validation);

  // For comparison, the same run straight through.
  auto straight = make_trainer(output_dir + "/straight");
  straight.fit(train, &validation);

  const auto& last = resumed.last_record();  // as metrics.jsonl has it, on every rank
  const double r2 = last.at("val_r2").get<double>();
  const bool exact = same_weights(resumed, straight) && last.at("val_loss") == straight.last_record().at("val_loss");
  if (rank == 0)
    std::cout << "regression: val_r2 " << r2 << ", val_mse " << last.at("val_mse").get<double>()
              << "; resumed run identical to the straight run: " << (exact ? "yes" : "NO") << std::endl;
  return r2 > 0.9 && exact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Brings up MPI when started by mpirun, and rank-aware logging on stderr;
  // turns an exception into one message and an exit status on every rank.
  return cohort::job::run_program("regression", "training failed", &argc, &argv, [&] {
    return run(argc > 1 ? argv[1] : "runs/regression");
  });
}
