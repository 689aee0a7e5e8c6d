#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cohort/config/config.h"
#include "cohort/core/error.h"
#include "cohort/job/training_job.h"
#include "helpers.h"

using cohort::InputError;
using cohort::config::Json;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

std::string error_of(const Json& config) {
  try {
    cohort::job::training_schema().validate(config, "job.json");
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every shipped config validates", "[config]") {
  const auto schema = cohort::job::training_schema();
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(COHORT_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".json" || entry.path().filename().string().rfind("sweep", 0) == 0) continue;
    INFO(entry.path());
    CHECK_NOTHROW(cohort::config::load(entry.path().string(), {}, schema));
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("defaults fill every key that is left out", "[config]") {
  const auto config = cohort::job::training_schema().validate(Json::object(), "empty.json");
  CHECK(config["model"]["name"] == "mlp");
  CHECK(config["model"]["hidden"] == Json({256, 256}));
  CHECK(config["optimizer"]["name"] == "sgd");
  CHECK(config["loader"]["batch_size"] == 64);
  CHECK(config["data"]["path"] == "/usr/share/datasets/fashion-mnist");
  CHECK(config["trainer"]["epochs"] == 10);
}

TEST_CASE("an unknown key is named with the closest valid one", "[config]") {
  CHECK_THAT(error_of({{"optimizer", {{"lrr", 0.1}}}}),
             Equals("job.json: unknown key \"optimizer.lrr\"; did you mean \"optimizer.lr\"?"));
  CHECK_THAT(error_of({{"trainer", {{"epoch", 3}}}}), Contains("did you mean \"trainer.epochs\"?"));
  CHECK_THAT(error_of({{"zzzzzz", 1}}), Contains("unknown key \"zzzzzz\" (the keys allowed there are"));
}

TEST_CASE("keys of one variant are refused under another", "[config]") {
  // "channels" belongs to the cnn, not the mlp.
  CHECK_THAT(error_of({{"model", {{"name", "mlp"}, {"channels", {8}}}}}), Contains("unknown key \"model.channels\""));
  CHECK_THAT(error_of({{"model", {{"name", "mpl"}}}}),
             Equals("job.json: \"model.name\" must be one of \"cnn\", \"embedding_bag\", \"gru\", \"lstm\", \"mlp\", "
                    "\"transformer\", not \"mpl\" (did you mean \"mlp\"?)."));
}

TEST_CASE("wrong types and out-of-range values name the key and what was expected", "[config]") {
  CHECK_THAT(error_of({{"loader", {{"batch_size", "big"}}}}),
             Equals("job.json: \"loader.batch_size\" must be an integer, not the string \"big\"."));
  CHECK_THAT(error_of({{"loader", {{"batch_size", 0}}}}),
             Equals("job.json: \"loader.batch_size\" must be at least 1, got 0."));
  CHECK_THAT(error_of({{"optimizer", {{"lr", -1}}}}), Contains("\"optimizer.lr\" must be greater than 0, got -1."));
  CHECK_THAT(error_of({{"model", {{"dropout", 1.0}}}}), Contains("\"model.dropout\" must be in [0, 1), got 1."));
  CHECK_THAT(error_of({{"model", {{"hidden", {64, -2}}}}}), Contains("\"model.hidden[1]\" must be at least 1"));
  CHECK_THAT(error_of({{"trainer", {{"progress", true}}}}), Contains("\"trainer.progress\" must be one of"));
  CHECK_THAT(error_of({{"trainer", 5}}), Contains("\"trainer\" must be an object, not 5."));
  CHECK_THAT(error_of(Json::array()), Contains("the config must be a JSON object"));
}

TEST_CASE("overrides set nested keys and parse their values as JSON", "[config]") {
  Json config = Json::object();
  cohort::config::apply_override(config, "optimizer.lr=0.05");
  cohort::config::apply_override(config, "optimizer.name=adam");
  cohort::config::apply_override(config, "model.hidden=[32,16]");
  cohort::config::apply_override(config, "output_dir=");
  CHECK(config["optimizer"]["lr"] == 0.05);
  CHECK(config["optimizer"]["name"] == "adam");
  CHECK(config["model"]["hidden"] == Json({32, 16}));
  CHECK(config["output_dir"] == "");
  CHECK_THROWS_WITH(cohort::config::apply_override(config, "novalue"), Contains("expected key.path=value"));
  CHECK_THROWS_WITH(cohort::config::apply_override(config, "optimizer.lr.x=1"),
                    Contains("\"optimizer.lr\" is not an object"));
}

TEST_CASE("malformed and missing files are named with the place of the mistake", "[config]") {
  const auto dir = cohort::testing::temporary_directory("config");
  const auto path = (dir / "bad.json").string();
  std::ofstream(path) << "{\n  \"seed\": 1,\n  \"model\": {\"name\": \"mlp\",}\n}\n";
  CHECK_THROWS_WITH(cohort::config::read_json_file(path), Contains(path + ": not valid JSON: ") && Contains("line 3"));
  CHECK_THROWS_WITH(cohort::config::read_json_file((dir / "none.json").string()),
                    Contains("none.json: cannot open the config file"));
}

TEST_CASE("docs/configuration.md is the reference the schema writes", "[config][docs]") {
  std::ostringstream generated;
  cohort::job::training_schema().write_reference(generated);
  std::ifstream docs(COHORT_SOURCE_DIR "/docs/configuration.md");
  std::stringstream text;
  text << docs.rdbuf();
  INFO("regenerate with: build/bin/cohort-train --print-config-reference (see docs/configuration.md)");
  CHECK_THAT(text.str(), Contains(generated.str()));
}
