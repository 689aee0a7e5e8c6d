// A real allocation failure on the CPU: cohort-oom-probe trains under an
// address-space limit that only a quarter of the micro-batch fits (in a
// process of its own), and its parameters must equal those of a run
// configured from the start with the micro-batch it ended with.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/temporary_directory.h"

namespace fs = std::filesystem;

namespace {

int run(const std::string& command) {
  INFO(command);
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("a real out-of-memory error on the CPU shrinks the micro-batch and leaves the result unchanged",
          "[memory][oom][real]") {
  const auto dir = cohort::testing::temporary_directory("real-oom");
  const std::string probe = COHORT_OOM_PROBE;
  const auto limited = dir / "limited";
  REQUIRE(run(probe + " train --limit --out " + limited.string() + " > " + (dir / "limited.log").string() + " 2>&1") == 0);
  const auto summary = read_json(limited / "summary-rank0.json");
  INFO(summary.dump());
  CHECK(summary.at("shrinks").get<int>() >= 1);
  const auto accumulation = summary.at("accumulation_steps").get<int64_t>();
  CHECK(accumulation >= 2);
  CHECK(summary.at("micro_batch_size").get<int64_t>() == 1024 / accumulation);
  CHECK(summary.at("steps") == 3);

  // The log and the metrics say so.
  std::ifstream log(dir / "limited.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("ran out of memory at a micro-batch of 1024 examples") != std::string::npos);
  std::ifstream metrics(limited / "run" / "metrics.jsonl");
  std::string line;
  REQUIRE(std::getline(metrics, line));
  CHECK(nlohmann::json::parse(line).at("micro_batch_size") == 1024 / accumulation);

  const auto reference = dir / "reference";
  REQUIRE(run(probe + " train --accumulation " + std::to_string(accumulation) + " --out " + reference.string() +
              " > " + (dir / "reference.log").string() + " 2>&1") == 0);
  CHECK(read_json(reference / "summary-rank0.json").at("shrinks") == 0);
  CHECK(run(probe + " compare " + (limited / "params-rank0.pt").string() + " " +
            (reference / "params-rank0.pt").string()) == 0);
}
