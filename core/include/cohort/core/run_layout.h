#pragma once
// The names of everything a run or a sweep writes into its output directory,
// in one place (docs/getting-started.md and docs/sweeps.md show the trees):
//
//   <run>/config.json  metrics.jsonl  train.log  checkpoints/epoch-0003.pt
//   <run>/vocabulary.json  (text data: the tokenizer and vocabulary the run used)
//   <sweep>/sweep.json  journal.jsonl  results.csv  best.json  report.html
//   <sweep>/trials/<id>/   a run as above, one per trial

#include <cstdint>
#include <filesystem>
#include <string>

namespace cohort::run_layout {

// A training run.
inline constexpr const char* kConfig = "config.json";
inline constexpr const char* kMetrics = "metrics.jsonl";
inline constexpr const char* kTrainLog = "train.log";
inline constexpr const char* kCheckpoints = "checkpoints";
inline constexpr const char* kVocabulary = "vocabulary.json";

// A sweep.
inline constexpr const char* kSweepConfig = "sweep.json";
inline constexpr const char* kJournal = "journal.jsonl";
inline constexpr const char* kResults = "results.csv";
inline constexpr const char* kBest = "best.json";
inline constexpr const char* kReport = "report.html";
inline constexpr const char* kTrials = "trials";

/// `dir`/`name` as a string.
inline std::string in(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

/// `output_dir`/trials/<id>: the run directory of a sweep's trial.
inline std::string trial_dir(const std::string& output_dir, int64_t id) {
  return (std::filesystem::path(output_dir) / kTrials / std::to_string(id)).string();
}

}  // namespace cohort::run_layout
