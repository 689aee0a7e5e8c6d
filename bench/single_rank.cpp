// Benchmark: Cohort's Trainer against a minimal hand-written LibTorch loop on
// the same job (Fashion-MNIST MLP 784-256-256-10, SGD with momentum, batch 64,
// one thread). The two alternate (ABBA), one epoch each, and the medians are compared:
// the design's target is Cohort within 2% of the hand-written loop.
//
//   build/bin/cohort-bench-single [--repeats 5] [--threads 1] [--batch 64]
//                                 [--device cpu|cuda|cuda:N] [--precision fp32|bf16]
//                                 [--data auto|fashion-mnist|synthetic] [--tensorboard [--events-every 100]]
//
// --tensorboard adds a third side, Cohort writing TensorBoard event files (its
// TensorBoardCallback, a point every 100 steps as cohort-train's default
// log_every), in the same alternation; it reports the time spent in that
// callback as a fraction of the epoch, and times the event writer alone.
//
// On a GPU both sides keep the data set on the host and move each batch to the
// device (as Cohort's `single` strategy does), and bf16 runs the forward pass
// under autocast. `--data auto` takes Fashion-MNIST where it is installed and
// otherwise random data of its shape (60,000 examples of 1x28x28, 10 classes):
// the speed of a step does not depend on the values.
#include <ftw.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/fashion_mnist.h"
#include "cohort/models/mlp.h"
#include "cohort/strategies/single.h"
#include "cohort/tensorboard/event_writer.h"
#include "cohort/trainer/tensorboard_callback.h"
#include "cohort/trainer/trainer.h"
#include "statistics.h"

namespace {

using Clock = std::chrono::steady_clock;
using cohort::bench::median;

cohort::models::Mlp make_model() {
  torch::manual_seed(0);
  return cohort::models::Mlp(cohort::models::MlpOptions(784, 10).hidden({256, 256}));
}

std::shared_ptr<torch::optim::SGD> make_optimizer(cohort::models::Mlp& model) {
  return std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
}

/// One epoch of the loop everybody writes by hand; returns samples per second.
double hand_written_epoch(const cohort::data::TensorDataset& data, int64_t batch, uint64_t seed, torch::Device device,
                          std::optional<torch::ScalarType> autocast) {
  auto model = make_model();
  model->to(device);
  auto optimizer = make_optimizer(model);
  const auto order = torch::tensor(cohort::data::seeded_permutation(data.size(), seed));
  const auto start = Clock::now();
  for (int64_t first = 0; first < data.size(); first += batch) {
    const auto indices = order.slice(0, first, std::min(first + batch, data.size()));
    const auto input = data.data().index_select(0, indices).to(device, /*non_blocking=*/true);
    const auto target = data.targets().index_select(0, indices).to(device, /*non_blocking=*/true);
    optimizer->zero_grad();
    torch::Tensor loss;
    if (autocast) {
      at::autocast::set_autocast_enabled(device.type(), true);
      at::autocast::set_autocast_dtype(device.type(), *autocast);
      loss = torch::nn::functional::cross_entropy(model->forward(input), target);
      at::autocast::set_autocast_enabled(device.type(), false);
      at::autocast::clear_cache();
    } else {
      loss = torch::nn::functional::cross_entropy(model->forward(input), target);
    }
    loss.backward();
    optimizer->step();
    volatile double keep = loss.item<double>();  // the same per-step read-back Cohort's metrics make
    (void)keep;
  }
  return double(data.size()) / std::chrono::duration<double>(Clock::now() - start).count();
}

/// A callback that forwards to another and adds up the time spent in it: what
/// writing events costs an epoch, measured inside the run rather than as the
/// difference of two noisy epoch times.
class TimedCallback : public cohort::trainer::Callback {
 public:
  explicit TimedCallback(std::shared_ptr<cohort::trainer::Callback> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  void on_fit_begin(cohort::trainer::Trainer& trainer) override { timed([&] { inner_->on_fit_begin(trainer); }); }
  void on_step_end(cohort::trainer::Trainer& trainer, const cohort::trainer::StepEnd& step) override {
    timed([&] { inner_->on_step_end(trainer, step); });
  }
  void on_epoch_end(cohort::trainer::Trainer& trainer, const nlohmann::json& record) override {
    timed([&] { inner_->on_epoch_end(trainer, record); });
  }
  void on_fit_end(cohort::trainer::Trainer& trainer) override { timed([&] { inner_->on_fit_end(trainer); }); }
  double seconds() const { return seconds_; }

 private:
  template <typename F>
  void timed(F&& call) {
    const auto start = Clock::now();
    call();
    seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::shared_ptr<cohort::trainer::Callback> inner_;
  double seconds_ = 0.0;
};

struct EpochTime {
  double samples_per_second = 0.0;
  double callback_fraction = 0.0;  // of the epoch's time, in the event-writing callback
};

/// One epoch through cohort::trainer::Trainer. With `events_dir` it writes
/// TensorBoard event files there (and metrics.jsonl, one line; no checkpoints).
EpochTime cohort_epoch(const std::shared_ptr<cohort::data::TensorDataset>& data, int64_t batch, uint64_t seed,
                       torch::Device device, cohort::trainer::Precision precision, const std::string& events_dir = "",
                       int64_t events_every = 100) {
  auto model = make_model();
  auto optimizer = make_optimizer(model);
  cohort::data::DataLoader loader(data, cohort::data::DataLoaderOptions().batch_size(batch).seed(seed));
  auto timed = std::make_shared<TimedCallback>(std::make_shared<cohort::trainer::TensorBoardCallback>());
  cohort::trainer::Trainer trainer(
      torch::nn::AnyModule(model), optimizer,
      cohort::trainer::TrainerOptions()
          .epochs(1)
          .progress(cohort::trainer::ProgressStyle::kNone)
          .strategy(std::make_shared<cohort::strategies::Single>(cohort::strategies::SingleOptions().device(device)))
          .step(cohort::trainer::StepOptions().precision(precision))
          .output_dir(events_dir)
          .checkpoint_every(0)
          .log_every(events_every)
          .callbacks(events_dir.empty() ? cohort::trainer::Callbacks{} : cohort::trainer::Callbacks{timed}));
  const auto start = Clock::now();
  EpochTime result;
  result.samples_per_second = trainer.fit(loader).back().samples_per_second;
  result.callback_fraction = timed->seconds() / std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

/// Deletes `directory` and everything in it. POSIX nftw: here
/// std::filesystem::remove_all binds to LibTorch's copy, which crashes.
void remove_tree(const std::string& directory) {
  nftw(directory.c_str(), [](const char* path, const struct stat*, int, struct FTW*) { return std::remove(path); }, 16,
       FTW_DEPTH | FTW_PHYS);
}

/// Microseconds per scalar written by the event writer alone (encode, frame,
/// buffer), over `count` scalars and one flush.
double event_write_microseconds(const std::string& directory, int count) {
  cohort::tensorboard::EventWriter writer{cohort::tensorboard::EventWriterOptions(directory)};
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) writer.add_scalar("bench/loss", 1.0 / (i + 1), i);
  writer.flush();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / count;
}

/// Fashion-MNIST's training set, or (`synthetic` set) random data of its shape.
std::shared_ptr<cohort::data::TensorDataset> load_data(const std::string& choice, bool& synthetic) {
  const bool have = std::filesystem::exists(std::string(cohort::data::kFashionMnistDirectory) +
                                            "/train-images-idx3-ubyte.gz");
  synthetic = !(choice == "fashion-mnist" || (choice == "auto" && have));
  if (!synthetic)
    return cohort::data::load_fashion_mnist(cohort::data::kFashionMnistDirectory,
                                            cohort::data::FashionMnistSplit::kTrain);
  torch::manual_seed(1234);
  return std::make_shared<cohort::data::TensorDataset>(torch::randn({60000, 1, 28, 28}),
                                                       torch::randint(0, 10, {60000}, torch::kLong), 10);
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5, threads = 1;
  int64_t batch = 64;
  std::string device_name = "cpu", precision_name = "fp32", data_choice = "auto";
  CLI::App app{"Cohort's Trainer against a hand-written LibTorch loop, side by side."};
  app.add_option("--repeats", repeats, "epochs of each, alternating");
  app.add_option("--threads", threads, "LibTorch threads");
  app.add_option("--batch", batch, "batch size");
  app.add_option("--device", device_name, "cpu, cuda or cuda:N");
  app.add_option("--precision", precision_name, "fp32, or bf16 (autocast in the forward pass)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--data", data_choice, "Fashion-MNIST where installed (auto), or the one named")
      ->check(CLI::IsMember({"auto", "fashion-mnist", "synthetic"}));
  bool tensorboard = false;
  int64_t events_every = 100;
  app.add_flag("--tensorboard", tensorboard, "also time Cohort writing TensorBoard event files");
  app.add_option("--events-every", events_every, "with --tensorboard: steps between per-step points (log_every)");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  spdlog::set_level(spdlog::level::warn);

  std::optional<torch::Device> parsed;
  try {
    parsed = torch::Device(device_name);
  } catch (const std::exception&) {
  }
  if (!parsed || (!parsed->is_cpu() && !parsed->is_cuda())) {
    std::cerr << "--device: \"" << device_name << "\" is not cpu, cuda or cuda:N" << std::endl;
    return 2;
  }
  auto device = *parsed;
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      std::cerr << "--device " << device_name << ": no CUDA device here" << std::endl;
      return 2;
    }
    if (!device.has_index()) device = torch::Device(torch::kCUDA, 0);
  }
  const bool bf16 = precision_name == "bf16";
  const std::optional<torch::ScalarType> autocast =
      bf16 ? std::optional<torch::ScalarType>(torch::kBFloat16) : std::nullopt;
  const auto precision = bf16 ? cohort::trainer::Precision::kBf16 : cohort::trainer::Precision::kFp32;

  bool synthetic = false;
  const auto data = load_data(data_choice, synthetic);
  const auto events_dir = (std::filesystem::temp_directory_path() / "cohort-bench-single-events").string();
  std::vector<double> hand, ours, with_events, callback_fraction;
  const auto events_epoch = [&](int r, const std::string& run_dir) {
    const auto time = cohort_epoch(data, batch, r, device, precision, run_dir, events_every);
    with_events.push_back(time.samples_per_second);
    callback_fraction.push_back(time.callback_fraction);
  };
  hand_written_epoch(*data, batch, 99, device, autocast);  // warm-up: allocator, kernels, page cache
  for (int r = 0; r < repeats; ++r) {
    // Alternate which goes first, so neither always inherits the other's warm caches.
    if (r % 2 == 0) hand.push_back(hand_written_epoch(*data, batch, r, device, autocast));
    // Each epoch with events writes a run directory of its own, as separate runs would.
    const auto run_dir = events_dir + "/" + std::to_string(r);
    if (tensorboard && r % 2 == 1) events_epoch(r, run_dir);
    ours.push_back(cohort_epoch(data, batch, r, device, precision).samples_per_second);
    if (tensorboard && r % 2 == 0) events_epoch(r, run_dir);
    if (r % 2 == 1) hand.push_back(hand_written_epoch(*data, batch, r, device, autocast));
  }
  nlohmann::json result = {{"benchmark", "single_rank_mlp"},
                                 {"device", device.str()},
                                 {"precision", precision_name},
                                 {"data", synthetic ? "synthetic" : "fashion-mnist"},
                                 {"threads", threads},
                                 {"batch", batch},
                                 {"repeats", repeats},
                                 {"hand_written_samples_per_second", median(hand)},
                                 {"cohort_samples_per_second", median(ours)},
                                 {"cohort_over_hand_written", median(ours) / median(hand)}};
  if (tensorboard) {
    result["cohort_tensorboard_samples_per_second"] = median(with_events);
    result["tensorboard_over_cohort"] = median(with_events) / median(ours);
    result["tensorboard_callback_fraction_of_epoch"] = median(callback_fraction);
    result["events_every"] = events_every;
    result["event_write_us_per_scalar"] = event_write_microseconds(events_dir + "/writer", 100000);
    remove_tree(events_dir);
  }
  std::cout << result.dump() << std::endl;
  return 0;
}
