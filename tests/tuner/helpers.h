#pragma once
// Shared by the tuner tests: small studies over one-parameter spaces, and
// the journal checks of resume tests.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/study/study.h"

namespace cohort::tuner::testing {

/// x uniform on [0, 1]: a study's loss can simply be x, so rankings are known.
inline SearchSpace unit_space() {
  SearchSpace space;
  space.add(Parameter::uniform("x", 0.0, 1.0));
  return space;
}

/// Asks and tells until the study is finished, one trial at a time.
template <typename Objective>
void run_sequentially(Study& study, Objective objective) {
  while (auto trial = study.ask()) study.tell(*trial, objective(*trial));
}

/// The median (the mean of the middle two for an even count).
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// Counts trials by budget.
inline std::map<double, int> trials_per_budget(const Study& study) {
  std::map<double, int> counts;
  for (const auto& [id, record] : study.trials()) counts[record.trial.budget]++;
  return counts;
}

/// A journal's records without what differs between runs (times, and the checksums over them).
inline std::vector<Json> journal_without_times(const std::filesystem::path& path) {
  std::vector<Json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto record = Json::parse(line);
    record.erase("time");
    record.erase("crc32c");  // over the time too
    records.push_back(record);
  }
  return records;
}

/// A file's lines, as written.
inline std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// Runs a journaled study to the end, then for several k a copy of its journal
/// cut after k records (and half of the next, as a kill tears it): resumed and
/// run to the end, each must write the same journal. `make_study(path)` opens
/// a study on the journal at path.
template <typename MakeStudy, typename Objective>
void check_resume_after_any_record(const std::filesystem::path& dir, MakeStudy make_study, Objective objective) {
  const auto full = dir / "full.jsonl";
  {
    auto study = make_study(full.string());
    run_sequentially(*study, objective);
    REQUIRE(study->finished());
  }
  const auto lines = lines_of(full);
  REQUIRE(lines.size() > 80);
  for (size_t k : {size_t(1), size_t(2), size_t(7), size_t(40), lines.size() / 2, lines.size() - 1}) {
    INFO("stopped after " << k << " records");
    const auto partial = dir / ("partial-" + std::to_string(k) + ".jsonl");
    {
      std::ofstream out(partial);
      for (size_t i = 0; i < k; ++i) out << lines[i] << "\n";
      out << lines[k].substr(0, lines[k].size() / 2);  // a record torn by the kill
    }
    auto study = make_study(partial.string());
    run_sequentially(*study, objective);
    CHECK(study->finished());
    CHECK(journal_without_times(partial) == journal_without_times(full));
  }
}

}  // namespace cohort::tuner::testing
