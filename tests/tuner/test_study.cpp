#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cohort/core/error.h"
#include "cohort/tuner/test_functions/test_functions.h"
#include "cohort/tuner/samplers/bohb_sampler.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "cohort/tuner/study/journal.h"
#include "cohort/tuner/study/outputs.h"
#include "common/temporary_directory.h"
#include "helpers.h"

using namespace cohort::tuner;
using cohort::tuner::testing::check_resume_after_any_record;
using cohort::tuner::testing::journal_without_times;
using cohort::tuner::testing::lines_of;
using cohort::tuner::testing::run_sequentially;
using Catch::Matchers::Contains;
using cohort::testing::temporary_directory;
namespace fs = std::filesystem;

namespace {

/// BOHB on Branin over Hyperband brackets (min 1, max 9): small and fully deterministic.
std::unique_ptr<Study> bohb_study(const std::string& journal, uint64_t seed = 11) {
  const auto objective = branin();
  return std::make_unique<Study>(
      std::make_unique<BohbSampler>(objective.space),
      std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(6)),
      StudyOptions().seed(seed).journal(journal).sync_journal(false).settings({{"test", "resume"}}));
}

Result evaluate_branin(const Trial& trial) {
  static const auto objective = branin();
  // A deterministic failure now and then exercises retries in the journal too.
  if (trial.id % 17 == 5) return Result::failed("planted failure");
  return Result::completed(objective.evaluate(trial.config, trial.budget));
}

}  // namespace

TEST_CASE("the same seed and the same results give identical proposals", "[tuner][study]") {
  auto a = bohb_study("");
  auto b = bohb_study("");
  run_sequentially(*a, evaluate_branin);
  run_sequentially(*b, evaluate_branin);
  REQUIRE(a->trials().size() == b->trials().size());
  for (const auto& [id, record] : a->trials()) CHECK(record.trial.config == b->trials().at(id).trial.config);
  auto c = bohb_study("", 12);
  run_sequentially(*c, evaluate_branin);
  CHECK(c->trials().at(0).trial.config != a->trials().at(0).trial.config);
}

TEST_CASE("a sweep stopped after k journal records and resumed ends with the same journal", "[tuner][study][journal]") {
  check_resume_after_any_record(temporary_directory("resume"), [](const std::string& path) { return bohb_study(path); },
                                evaluate_branin);
}

TEST_CASE("group commit: deferred records are in the file at once, and the journal is the same", "[tuner][study][journal]") {
  const auto dir = temporary_directory("group-commit");
  const auto path = (dir / "journal.jsonl").string();
  {
    cohort::tuner::Journal journal(path, /*sync=*/true);
    journal.defer_syncs(true);
    journal.append({{"event", "a"}});
    journal.append({{"event", "b"}});
    // Not yet waited for on the disk, but written: a process killed now loses nothing.
    CHECK(lines_of(dir / "journal.jsonl").size() == 2);
    journal.sync();
    journal.append({{"event", "c"}});
    journal.defer_syncs(false);
  }
  CHECK(lines_of(dir / "journal.jsonl").size() == 3);
  // A study whose coordinator defers its syncs writes the journal a synced one writes.
  const auto synced = dir / "synced.jsonl", deferred = dir / "deferred.jsonl";
  {
    auto study = bohb_study(synced.string());
    run_sequentially(*study, evaluate_branin);
  }
  {
    auto study = bohb_study(deferred.string());
    study->defer_journal_syncs(true);
    run_sequentially(*study, evaluate_branin);
    study->sync_journal();
  }
  CHECK(journal_without_times(deferred) == journal_without_times(synced));
}

TEST_CASE("resuming a journal with different settings is refused", "[tuner][study][journal]") {
  const auto dir = temporary_directory("mismatch");
  const auto journal = (dir / "journal.jsonl").string();
  {
    auto study = bohb_study(journal, 1);
    auto trial = study->ask();
    study->tell(*trial, Result::completed(1.0));
  }
  CHECK_THROWS_WITH(bohb_study(journal, 2), Contains(journal + ": was written by a different sweep (its \"seed\" differs)"));
  {
    cohort::tuner::Journal appended(journal, /*sync=*/false);
    appended.append({{"event", "tell"}, {"trial_id", 99}});
    appended.append({{"event", "ask"}});
  }
  CHECK_THROWS_WITH(bohb_study(journal, 1), Contains("line 4: a result for trial 99, which is not running"));
}

TEST_CASE("a failure that would repeat (retry false) is not retried, and a resume remembers it", "[tuner][study][journal]") {
  const auto dir = temporary_directory("no-retry");
  const auto journal = (dir / "journal.jsonl").string();
  const auto make = [&](const std::string& path) {
    return std::make_unique<Study>(
        std::make_unique<RandomSampler>(testing::unit_space()),
        std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(1)),
        StudyOptions().seed(4).max_failures(2).journal(path).sync_journal(false));
  };
  // Configuration 0 diverges on every attempt; configuration 1 fails once by chance.
  const auto evaluate = [](const Trial& trial) {
    if (trial.config_id == 0) return Result::failed("the loss is nan", /*retry=*/false);
    if (trial.config_id == 1 && trial.attempt == 0) return Result::failed("a node went away");
    return Result::completed(trial.config["x"].get<double>());
  };
  auto study = make(journal);
  run_sequentially(*study, evaluate);
  int64_t attempts_of_0 = 0, attempts_of_1 = 0;
  for (const auto& [id, record] : study->trials()) {
    attempts_of_0 += record.trial.config_id == 0;
    attempts_of_1 += record.trial.config_id == 1;
  }
  CHECK(attempts_of_0 == 1);  // told not to retry: one run only
  CHECK(attempts_of_1 == 2);  // retried once, then completed
  CHECK(study->trials().at(0).state == TrialState::kFailed);
  const auto trials = study->trials().size();
  // While one study holds the journal, no other may open it.
  CHECK_THROWS_WITH(make(journal), Contains("another running process holds this journal"));
  study.reset();
  // Replaying the journal gives the same decisions: nothing is left to run.
  auto resumed = make(journal);
  CHECK(resumed->finished());
  CHECK(resumed->trials().size() == trials);
}

TEST_CASE("threads evaluate a study to the end; an exception fails only its trial", "[tuner][study]") {
  Study study(std::make_unique<RandomSampler>(testing::unit_space()),
              std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(3)),
              StudyOptions().seed(8).max_failures(0));
  run(study,
      [](const Trial& trial) {
        if (trial.id == 3) throw std::runtime_error("boom");
        return Result::completed(trial.config["x"].get<double>());
      },
      3);
  CHECK(study.finished());
  CHECK(study.running() == 0);
  CHECK(study.trials().at(3).state == TrialState::kFailed);
  CHECK(study.trials().at(3).error == "boom");
  CHECK(study.trials().size() >= 20);
}

TEST_CASE("outputs: results.csv, best.json and HpBandSter's configs.json and results.json", "[tuner][study][outputs]") {
  const auto dir = temporary_directory("outputs");
  auto study = bohb_study("");
  run_sequentially(*study, evaluate_branin);
  write_outputs(*study, dir.string());

  const auto csv = lines_of(dir / "results.csv");
  CHECK(csv.front() == "trial_id,config_id,budget,bracket,rung,attempt,state,value,seconds,error,x1,x2");
  CHECK(csv.size() == study->trials().size() + 1);

  const auto best = Json::parse(std::ifstream(dir / "best.json"));
  CHECK(best["value"] == *study->best()->value);
  CHECK(best["budget"] == 9.0);
  for (const auto& [id, record] : study->trials())
    if (record.value && record.trial.budget == 9.0) CHECK(*record.value >= best["value"].get<double>());

  const auto configs = lines_of(dir / "configs.json");
  for (const auto& line : configs) {
    const auto entry = Json::parse(line);
    REQUIRE(entry.size() == 3);
    CHECK(entry[0].size() == 3);
    CHECK(entry[1].contains("x1"));
    CHECK(entry[2].contains("model_based_pick"));
  }
  const auto results = lines_of(dir / "results.json");
  CHECK(results.size() == study->trials().size());
  int failures = 0;
  for (const auto& line : results) {
    const auto entry = Json::parse(line);
    REQUIRE(entry.size() == 5);
    CHECK(entry[2].contains("finished"));
    failures += entry[3].is_null() && entry[4].is_string();
  }
  CHECK(failures > 0);  // the planted failures appear with their exception text
}

namespace {

/// The journal of a finished small BOHB sweep on Branin, as its lines.
std::vector<std::string> finished_journal(const fs::path& path) {
  auto study = bohb_study(path.string());
  run_sequentially(*study, evaluate_branin);
  return lines_of(path);
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines, const std::string& tail = "") {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line << "\n";
  out << tail;
}

}  // namespace

TEST_CASE("a flipped bit in any journal record is refused naming the file and line", "[tuner][study][journal]") {
  const auto dir = temporary_directory("journal-flip");
  const auto path = dir / "journal.jsonl";
  const auto lines = finished_journal(path);
  REQUIRE(lines.size() > 10);
  REQUIRE(lines[0].rfind("{\"crc32c\":\"", 0) == 0);
  // A middle record and the last complete one; in the checksum, the key and the value.
  for (const size_t index : {lines.size() / 2, lines.size() - 1}) {
    for (const size_t at : {size_t(3), size_t(14), lines[index].size() / 2, lines[index].size() - 2}) {
      auto damaged = lines;
      damaged[index][at] = char(damaged[index][at] ^ 0x04);
      write_lines(path, damaged);
      INFO("line " << index + 1 << ", byte " << at << ": " << damaged[index]);
      CHECK_THROWS_AS(bohb_study(path.string()), cohort::InputError);
      CHECK_THROWS_WITH(bohb_study(path.string()), Contains(path.string() + ": line " + std::to_string(index + 1)));
    }
  }
  // A record cut by a kill (no newline) is still a torn tail, dropped and redone.
  write_lines(path, {lines.begin(), lines.end() - 1}, lines.back().substr(0, lines.back().size() / 2));
  auto study = bohb_study(path.string());
  run_sequentially(*study, evaluate_branin);
  CHECK(study->finished());
}

TEST_CASE("a journal written before checksums is read unchecked and continued as it began", "[tuner][study][journal]") {
  const auto dir = temporary_directory("journal-legacy");
  const auto path = dir / "journal.jsonl";
  const auto full = finished_journal(dir / "full.jsonl");
  // The first half of the records as an older Cohort wrote them: bare JSON.
  std::vector<std::string> legacy;
  for (size_t i = 0; i < full.size() / 2; ++i) {
    auto record = Json::parse(full[i]);
    record.erase("crc32c");
    legacy.push_back(record.dump());
  }
  write_lines(path, legacy);
  {
    cohort::tuner::Journal journal(path.string(), /*sync=*/false);
    CHECK(journal.unchecked_records() == legacy.size());
  }
  auto study = bohb_study(path.string());
  run_sequentially(*study, evaluate_branin);
  CHECK(study->finished());
  for (const auto& line : lines_of(path)) CHECK(line.find("crc32c") == std::string::npos);
  CHECK(journal_without_times(path).size() == full.size());
}
