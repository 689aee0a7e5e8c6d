#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/job/training_job.h"
#include "cohort/trainer/checkpoint.h"
#include "helpers.h"

using cohort::config::Json;
using cohort::job::TrainingJob;
using cohort::testing::accuracy;
using cohort::testing::flat_parameters;
using cohort::testing::synthetic_config;
using cohort::testing::temporary_directory;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::vector<Json> read_lines(const fs::path& path) {
  std::vector<Json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  return lines;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// A checkpoint of a trained synthetic job whose saved state is `state`.
void save_state(const fs::path& path, TrainingJob& job, const cohort::trainer::CheckpointState& state) {
  cohort::trainer::save_checkpoint(path.string(), job.trainer().strategy(), state);
}

}  // namespace

TEST_CASE("training on synthetic data lowers the loss", "[training]") {
  TrainingJob job(synthetic_config({{"trainer", {{"epochs", 4}}}}), "test config");
  const auto epochs = job.fit();
  REQUIRE(epochs.size() == 4);
  CHECK(epochs.back().train.mean_loss() < 0.5 * epochs.front().train.mean_loss());
  CHECK(accuracy(job, *epochs.back().validation) > 0.8);
  CHECK(accuracy(job, job.test()) > 0.8);
  CHECK(epochs.back().samples_per_second > 0);
}

TEST_CASE("the CNN and every optimizer train", "[training]") {
  const Json image_data = {{"data", {{"sample_shape", {1, 8, 8}}, {"noise", 0.5}}}};
  for (const Json& variant :
       {Json{{"model", {{"name", "cnn"}, {"channels", {4, 8}}, {"hidden", 16}}}},
        Json{{"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}}}},
        Json{{"optimizer", {{"name", "adam"}, {"lr", 0.01}}}},
        Json{{"optimizer", {{"name", "adamw"}, {"lr", 0.01}}}, {"lr_schedule", {{"name", "cosine"}, {"warmup_steps", 5}}}}}) {
    INFO(variant.dump());
    Json overrides = image_data;
    overrides.merge_patch(variant);
    overrides["trainer"] = {{"epochs", 3}};
    TrainingJob job(synthetic_config(overrides), "test config");
    const auto epochs = job.fit();
    CHECK(epochs.back().train.mean_loss() < epochs.front().train.mean_loss());
  }
}

TEST_CASE("a fixed seed makes a run repeatable", "[training]") {
  // Each job seeds LibTorch's global generator, so each is built and trained in turn.
  auto train = [](const Json& overrides) {
    TrainingJob job(synthetic_config(overrides), "test config");
    job.fit();
    return flat_parameters(job);
  };
  const auto first = train(Json::object());
  CHECK(torch::equal(first, train(Json::object())));
  CHECK_FALSE(torch::equal(first, train({{"seed", 8}})));
}

TEST_CASE("a checkpoint restores model and optimizer exactly", "[training][checkpoint]") {
  const auto dir = temporary_directory("checkpoint");
  const auto path = (dir / "state.pt").string();
  TrainingJob trained(synthetic_config(), "test config");
  trained.fit();
  trained.trainer().save_checkpoint(path);

  TrainingJob restored(synthetic_config(), "test config");
  REQUIRE_FALSE(torch::equal(flat_parameters(trained), flat_parameters(restored)));
  restored.resume(path);
  CHECK(torch::equal(flat_parameters(trained), flat_parameters(restored)));
  CHECK(restored.trainer().epochs_done() == 2);
  CHECK(restored.trainer().steps_done() == trained.trainer().steps_done());
  CHECK(restored.test().loss_sum == trained.test().loss_sum);
}

TEST_CASE("two epochs straight equal one epoch, a resume and one more", "[training][checkpoint]") {
  // Dropout and momentum make the RNG and optimizer state part of the result.
  const auto straight_dir = temporary_directory("straight");
  const auto split_dir = temporary_directory("split");
  TrainingJob straight(synthetic_config({{"output_dir", straight_dir.string()}}), "test config");
  straight.fit();

  TrainingJob first_half(synthetic_config({{"output_dir", split_dir.string()}, {"trainer", {{"epochs", 1}}}}),
                         "test config");
  first_half.fit();
  REQUIRE(fs::exists(split_dir / "checkpoints" / "epoch-0001.pt"));
  TrainingJob second_half(synthetic_config({{"output_dir", split_dir.string()}}), "test config");
  second_half.resume(split_dir.string());
  const auto resumed = second_half.fit();

  REQUIRE(resumed.size() == 1);
  CHECK(resumed.front().epoch == 2);
  CHECK(torch::equal(flat_parameters(straight), flat_parameters(second_half)));
  // The resumed run appends to the metrics of the first.
  const auto lines = read_lines(split_dir / "metrics.jsonl");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["epoch"] == 2);
  CHECK(lines[1]["train_loss"] == read_lines(straight_dir / "metrics.jsonl")[1]["train_loss"]);
}

TEST_CASE("the output directory holds the config, metrics lines and the newest checkpoints", "[training]") {
  const auto dir = temporary_directory("outputs");
  TrainingJob job(synthetic_config({{"output_dir", dir.string()}, {"trainer", {{"epochs", 3}, {"keep_checkpoints", 2}}}}),
                  "test config");
  job.fit();
  CHECK(Json::parse(std::ifstream(dir / "config.json"))["seed"] == 7);
  const auto lines = read_lines(dir / "metrics.jsonl");
  REQUIRE(lines.size() == 3);
  for (const auto& key : {"epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                          "samples_per_second", "epoch_seconds"})
    CHECK(lines[2].contains(key));
  const auto kept = cohort::trainer::list_checkpoints((dir / "checkpoints").string());
  REQUIRE(kept.size() == 2);
  CHECK(fs::path(kept[0]).filename() == "epoch-0002.pt");
  CHECK(fs::path(kept[1]).filename() == "epoch-0003.pt");
  CHECK_FALSE(fs::exists(dir / "checkpoints" / "epoch-0003.pt.tmp"));
}

TEST_CASE("a fresh run in the same directory replaces the earlier run's results", "[training]") {
  const auto dir = temporary_directory("rerun");
  TrainingJob longer(synthetic_config({{"output_dir", dir.string()}, {"trainer", {{"epochs", 3}}}}), "test config");
  longer.fit();
  TrainingJob shorter(synthetic_config({{"output_dir", dir.string()}, {"trainer", {{"epochs", 1}}}}), "test config");
  shorter.fit();
  const auto kept = cohort::trainer::list_checkpoints((dir / "checkpoints").string());
  REQUIRE(kept.size() == 1);
  CHECK(fs::path(kept[0]).filename() == "epoch-0001.pt");
  CHECK(read_lines(dir / "metrics.jsonl").size() == 1);
}

TEST_CASE("model options the data cannot satisfy are refused with the config's name", "[training][config]") {
  CHECK_THROWS_WITH(TrainingJob(synthetic_config({{"model", {{"name", "cnn"}}}}), "job.json"),
                    Contains("job.json: \"model.name\" is \"cnn\", which needs image inputs"));
  CHECK_THROWS_WITH(
      TrainingJob(synthetic_config({{"optimizer", {{"name", "sgd"}, {"nesterov", true}, {"momentum", 0}}}}), "job.json"),
      Contains("job.json: \"optimizer.nesterov\" needs"));
  CHECK_THROWS_WITH(TrainingJob(synthetic_config({{"strategy", {{"name", "single"}, {"device", "gpu"}}}}), "job.json"),
                    Contains("job.json: \"strategy.device\": unknown device \"gpu\""));
}

TEST_CASE("a damaged checkpoint is refused and names the file", "[training][checkpoint]") {
  const auto dir = temporary_directory("damaged");
  const auto path = (dir / "bad.pt").string();
  std::ofstream(path) << "not a checkpoint";
  TrainingJob job(synthetic_config(), "test config");
  CHECK_THROWS_AS(job.resume(path), cohort::InputError);
  CHECK_THROWS_WITH(job.resume(path), Contains(path + ": not a readable Cohort checkpoint"));
  CHECK_THROWS_WITH(job.resume((dir / "none.pt").string()), Contains("the checkpoint does not exist"));
}

TEST_CASE("the single strategy trains on cuda:0", "[training][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device here; this test runs on GPU machines");
    return;
  }
  TrainingJob job(synthetic_config({{"strategy", {{"name", "single"}, {"device", "cuda:0"}}}, {"trainer", {{"epochs", 3}}}}),
                  "test config");
  const auto epochs = job.fit();
  CHECK(job.trainer().model().ptr()->parameters().front().device().is_cuda());
  CHECK(epochs.back().train.mean_loss() < epochs.front().train.mean_loss());
}

TEST_CASE("a flipped bit anywhere in a checkpoint is refused naming the file", "[training][checkpoint][integrity]") {
  const auto dir = temporary_directory("flipped");
  const auto path = dir / "state.pt";
  TrainingJob trained(synthetic_config(), "test config");
  trained.fit();
  trained.trainer().save_checkpoint(path.string());
  const auto good = read_bytes(path);
  const size_t archive_start = good.find('\n') + 1;
  // 97 positions spread over the whole file (a prime stride), one bit each;
  // the archive's tensors are most of it.
  const size_t stride = good.size() / 97 + 1;
  for (size_t at = 0; at < good.size(); at += stride) {
    auto damaged = good;
    damaged[at] = char(damaged[at] ^ (1 << (at % 8)));
    const auto flipped = dir / "flipped.pt";
    write_bytes(flipped, damaged);
    TrainingJob restored(synthetic_config(), "test config");
    INFO("bit " << at % 8 << " of byte " << at << " of " << good.size());
    CHECK_THROWS_AS(restored.resume(flipped.string()), cohort::InputError);
    if (at >= archive_start)
      CHECK_THROWS_WITH(restored.resume(flipped.string()),
                        Contains(flipped.string() + ": not a readable Cohort checkpoint (checksum mismatch"));
  }
}

TEST_CASE("a checkpoint written before checksums is read unchecked", "[training][checkpoint][integrity]") {
  const auto dir = temporary_directory("legacy");
  TrainingJob trained(synthetic_config(), "test config");
  trained.fit();
  trained.trainer().save_checkpoint((dir / "new.pt").string());
  // Before the integrity line, a checkpoint was LibTorch's zip archive alone.
  const auto bytes = read_bytes(dir / "new.pt");
  write_bytes(dir / "old.pt", bytes.substr(bytes.find('\n') + 1));
  TrainingJob restored(synthetic_config(), "test config");
  const auto state = cohort::trainer::load_checkpoint((dir / "old.pt").string(), restored.trainer().strategy());
  CHECK_FALSE(state.verified);
  CHECK(torch::equal(flat_parameters(trained), flat_parameters(restored)));
  CHECK(cohort::trainer::load_checkpoint((dir / "new.pt").string(), restored.trainer().strategy()).verified);
}

TEST_CASE("counters a checkpoint cannot hold are refused", "[training][checkpoint][integrity]") {
  const auto dir = temporary_directory("counters");
  TrainingJob trained(synthetic_config(), "test config");
  trained.fit();
  const auto path = dir / "state.pt";
  auto refused = [&](const cohort::trainer::CheckpointState& state, const std::string& reason) {
    save_state(path, trained, state);
    TrainingJob restored(synthetic_config(), "test config");
    CHECK_THROWS_WITH(restored.resume(path.string()), Contains(path.string()) && Contains(reason));
  };
  refused({-9223372036854775807, 10, 0}, "epochs_done is -9223372036854775807, outside 0..");
  refused({1, -5, 0}, "steps_done is -5");
  refused({0, 10, -1}, "epoch_steps_done is -1");
  refused({0, 10, 20}, "epoch_steps_done (20) exceeds steps_done (10)");

  // Within the file's own bounds, but beyond this run's epoch (which has a
  // handful of steps): it trained 1,044 steps where 200 were configured.
  save_state(path, trained, {0, 1044, 1044});
  TrainingJob restored(synthetic_config(), "test config");
  restored.resume(path.string());
  CHECK_THROWS_WITH(restored.fit(), Contains(path.string() + ": the checkpoint is 1044 steps into an epoch, but an "
                                                             "epoch here has"));
}
