// Tasks other than classification, batches of several tensors, and the
// refusals that replace what used to fail silently (issue 14).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "cohort/core/error.h"
#include "cohort/data/batch.h"
#include "cohort/task/task.h"
#include "common/temporary_directory.h"
#include "helpers.h"
#include "regression_fixture.h"

namespace fs = std::filesystem;
using cohort::data::Batch;
using cohort::testing::regression_loader;
using cohort::testing::regression_model;
using cohort::testing::regression_options;
using cohort::testing::regression_trainer;
namespace task = cohort::task;
namespace data = cohort::data;
namespace trainer = cohort::trainer;

namespace {

std::vector<nlohmann::json> epoch_records(const fs::path& directory) {
  std::vector<nlohmann::json> records;
  std::ifstream in(directory / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto record = nlohmann::json::parse(line);
    if (record.value("event", "") == "epoch") records.push_back(record);
  }
  return records;
}

/// A logger that writes into `out`, for checking what a run says.
std::shared_ptr<spdlog::logger> logger_into(std::ostringstream& out) {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
}

/// A model of two inputs: forward(left, right) = linear(left) - linear(right).
struct TwoInputsImpl : torch::nn::Module {
  TwoInputsImpl() : linear(register_module("linear", torch::nn::Linear(3, 2))) {}
  torch::Tensor forward(const torch::Tensor& left, const torch::Tensor& right) {
    return linear(left) - linear(right);
  }
  torch::nn::Linear linear;
};
TORCH_MODULE(TwoInputs);

std::shared_ptr<data::TensorDataset> two_input_data(int64_t size) {
  auto generator = at::detail::createCPUGenerator(9);
  auto left = torch::randn({size, 3}, generator), right = torch::randn({size, 3}, generator);
  auto target = (left.sum(1) > right.sum(1)).to(torch::kLong);
  return std::make_shared<data::TensorDataset>(
      std::map<std::string, torch::Tensor>{{"left", left}, {"right", right}, {"target", target}}, 2);
}

/// Parameters after training TwoInputs for one epoch with `accumulation` micro-batches per step.
torch::Tensor train_two_inputs(int64_t accumulation) {
  torch::manual_seed(4);
  TwoInputs model;
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  trainer::Trainer trainer(torch::nn::AnyModule(model), optimizer,
                           trainer::TrainerOptions()
                               .epochs(1)
                               .strategy(std::make_shared<cohort::strategies::Single>())
                               .task(task::Task().inputs({"left", "right"}))
                               .step(trainer::StepOptions().accumulation_steps(accumulation))
                               .progress(trainer::ProgressStyle::kNone));
  data::DataLoader loader(two_input_data(96), data::DataLoaderOptions().batch_size(12).seed(2));
  trainer.fit(loader);
  return cohort::testing::flat(model->parameters());
}

}  // namespace

TEST_CASE("a batch of named tensors is cut alike in every tensor", "[task][batch]") {
  const Batch batch(std::map<std::string, torch::Tensor>{
      {"input", torch::arange(6)}, {"target", torch::arange(6) * 10}, {"mask", torch::arange(12).view({6, 2})}});
  CHECK(batch.size() == 6);
  CHECK(batch.names() == std::vector<std::string>{"input", "target", "mask"});
  const auto part = batch.slice(2, 4);
  CHECK(torch::equal(part.data, torch::tensor({2, 3})));
  CHECK(torch::equal(part.target, torch::tensor({20, 30})));
  CHECK(torch::equal(part.at("mask"), torch::tensor({{4, 5}, {6, 7}})));
  const auto picked = batch.index_select(torch::tensor({5, 0}));
  CHECK(torch::equal(picked.at("mask"), torch::tensor({{10, 11}, {0, 1}})));
  CHECK_THROWS_WITH(batch.at("lengths"), Catch::Contains("no tensor \"lengths\"") && Catch::Contains("mask"));
  CHECK_THROWS_AS(Batch(std::map<std::string, torch::Tensor>{{"input", torch::zeros({3})}, {"target", torch::zeros({4})}}),
                  std::invalid_argument);
}

TEST_CASE("datasets need no classes or shape, and stack single examples", "[task][data]") {
  struct Squares : data::ExampleDataset {
    int64_t size() const override { return 5; }
    Batch get(int64_t i) const override {
      return Batch(std::map<std::string, torch::Tensor>{{"input", torch::tensor({double(i)})},
                                                        {"target", torch::tensor({double(i * i)})}});
    }
  };
  const Squares squares;
  CHECK(squares.num_classes() == 0);
  CHECK(squares.sample_shape().empty());
  const auto batch = squares.get_batch(torch::tensor({3, 1}));
  CHECK(torch::equal(batch.target, torch::tensor({{9.0}, {1.0}})));

  const auto named = two_input_data(8);
  const auto rows = named->get_batch(torch::tensor({0, 7}));
  CHECK(rows.names() == std::vector<std::string>{"target", "left", "right"});
  CHECK(rows.at("left").sizes() == torch::IntArrayRef({2, 3}));
}

TEST_CASE("cross entropy on float regression targets is refused, not zero", "[task][loss]") {
  const auto logits = torch::randn({4, 1});
  CHECK_THROWS_WITH(task::cross_entropy(logits, torch::randn({4, 1})),
                    Catch::Contains("needs class indices") && Catch::Contains("regression loss"));
  // Class indices and class probabilities are both cross entropy's.
  CHECK(task::cross_entropy(torch::randn({4, 3}), torch::tensor({0, 2, 1, 1})).item<double>() > 0);
  CHECK(task::cross_entropy(torch::randn({4, 3}), torch::softmax(torch::randn({4, 3}), 1)).item<double>() > 0);

  // Through the Trainer with its default task, the first step says so.
  auto options = regression_options(1).task(task::Task());
  auto trainer = regression_trainer(regression_model(), options);
  CHECK_THROWS_WITH(trainer.fit(regression_loader(32, 8)), Catch::Contains("regression loss"));
}

TEST_CASE("a regression loss refuses a target that would broadcast", "[task][loss]") {
  const auto output = torch::randn({5, 1});
  CHECK_THROWS_WITH(task::mse_loss(output, torch::randn({5, 3})),
                    Catch::Contains("[5, 1]") && Catch::Contains("[5, 3]") && Catch::Contains("same shape"));
  CHECK_THROWS_AS(task::huber_loss(output, torch::randn({1, 5})), std::invalid_argument);
  // An {N} target against {N, 1} outputs is one column, not an {N, N} broadcast.
  const auto column = torch::randn({5});
  CHECK(task::mse_loss(output, column).item<double>() ==
        Approx((output.squeeze(1) - column).pow(2).mean().item<double>()));
  CHECK(task::l1_loss(output, output.detach()).item<double>() == 0.0);
  const auto target = output + torch::tensor({{0.2}, {-3.0}, {0.0}, {1.0}, {0.4}});
  CHECK(task::huber_loss_with_delta(0.5)(output, target).item<double>() ==
        Approx(torch::huber_loss(output, target, at::Reduction::Mean, 0.5).item<double>()));
  CHECK(task::huber_loss(output, target).item<double>() ==
        Approx(torch::huber_loss(output, target, at::Reduction::Mean, 1.0).item<double>()));
  CHECK_THROWS_WITH(task::huber_loss_with_delta(0.0), Catch::Contains("delta > 0"));
}

TEST_CASE("metrics are computed from sums that add over batches", "[task][metrics]") {
  torch::manual_seed(1);
  const auto output = torch::randn({40, 2}), target = output + 0.3 * torch::randn({40, 2});
  const task::Task regression = task::Task(task::mse_loss)
                                    .metrics({task::r2_score(), task::mean_squared_error(), task::mean_absolute_error()});
  // The whole batch at once, and in three uneven parts summed.
  const Batch whole(output, target);
  auto all = regression.measure(output, whole, task::mse_loss(output, target));
  auto parts = regression.new_stats();
  for (const auto& [begin, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 7}, {7, 30}, {30, 40}}) {
    const auto part = whole.slice(begin, end);
    parts += regression.measure(part.data, part, task::mse_loss(part.data, part.target));
  }
  const auto values = regression.metric_values(all), summed = regression.metric_values(parts);
  const double sse = (output - target).pow(2).sum().item<double>();
  const double sst = (target - target.mean()).pow(2).sum().item<double>();
  CHECK(values[0].first == "r2");
  CHECK(values[0].second == Approx(1.0 - sse / sst).epsilon(1e-6));
  CHECK(values[1].second == Approx((output - target).pow(2).mean().item<double>()).epsilon(1e-6));
  CHECK(values[2].second == Approx((output - target).abs().mean().item<double>()).epsilon(1e-6));
  for (size_t i = 0; i < values.size(); ++i) CHECK(summed[i].second == Approx(values[i].second).epsilon(1e-9));

  const task::Task top2 = task::Task().metrics({task::accuracy(), task::accuracy(2)});
  const auto logits = torch::tensor({{3.0, 2.0, 1.0}, {1.0, 3.0, 2.0}, {1.0, 2.0, 3.0}});
  const Batch classes(logits, torch::tensor({1, 2, 0}));
  const auto accuracies = top2.metric_values(top2.measure(logits, classes, torch::tensor(0.0)));
  CHECK(accuracies[0] == std::make_pair(std::string("accuracy"), 0.0));
  CHECK(accuracies[1] == std::make_pair(std::string("top2_accuracy"), 2.0 / 3.0));
  CHECK_THROWS_WITH(task::metric_by_name("f1"), Catch::Contains("accuracy") && Catch::Contains("r2"));
}

TEST_CASE("a regression run records its metrics and no accuracy", "[task][trainer]") {
  const auto directory = cohort::testing::temporary_directory("regression-run");
  auto trainer = regression_trainer(regression_model(), regression_options(4).output_dir(directory.string()));
  const auto train = regression_loader(256, 16), validation = regression_loader(64, 64, false, 6);
  trainer.fit(train, &validation);
  const auto records = epoch_records(directory);
  REQUIRE(records.size() == 4);
  for (const auto& key : {"train_r2", "train_mse", "val_r2", "val_mse", "val_mae", "val_loss"})
    CHECK(records.back().contains(key));
  for (const auto& [key, value] : records.back().items()) CHECK(key.find("accuracy") == std::string::npos);
  CHECK(records.back()["val_r2"].get<double>() > 0.9);
  CHECK(trainer.metrics(trainer.evaluate(validation)).at("r2") ==
        Approx(records.back()["val_r2"].get<double>()).epsilon(1e-9));
}

TEST_CASE("a model of two inputs trains, micro-batched alike in every tensor", "[task][batch]") {
  const auto whole = train_two_inputs(1), accumulated = train_two_inputs(3);
  CHECK(torch::allclose(whole, accumulated, 1e-5, 1e-6));
  CHECK_THROWS_WITH(task::Task().inputs({}), Catch::Contains("1 to 4"));
}

TEST_CASE("resuming into a model of another shape is refused, naming the parameter", "[task][resume]") {
  const auto directory = cohort::testing::temporary_directory("resume-mismatch");
  {
    auto trainer = regression_trainer(regression_model(64), regression_options(1).output_dir(directory.string()));
    trainer.fit(regression_loader(32, 8));
  }
  auto narrow = regression_trainer(regression_model(32), regression_options(2));
  CHECK_THROWS_AS(narrow.resume(directory.string()), cohort::InputError);
  CHECK_THROWS_WITH(narrow.resume(directory.string()),
                    Catch::Contains("\"hidden.weight\" has shape [32, 4] here but [64, 4] in the checkpoint"));
}

TEST_CASE("resuming under a changed config says which keys changed", "[task][resume]") {
  const auto directory = cohort::testing::temporary_directory("resume-config");
  const nlohmann::json config = {{"optimizer", {{"lr", 0.05}, {"name", "sgd"}}}, {"trainer", {{"epochs", 2}}}};
  {
    auto trainer = regression_trainer(regression_model(),
                                      regression_options(1).output_dir(directory.string()).config(config));
    trainer.fit(regression_loader(32, 8));
  }
  auto changed = config;
  changed["optimizer"]["lr"] = 0.1;
  std::ostringstream log;
  auto trainer = regression_trainer(regression_model(), regression_options(2).config(changed).logger(logger_into(log)));
  trainer.resume(directory.string());
  CHECK_THAT(log.str(), Catch::Contains("differs from the checkpoint's in optimizer.lr"));
  CHECK_THAT(log.str(), !Catch::Contains("trainer.epochs"));
}
