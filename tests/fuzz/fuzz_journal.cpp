// fuzz-link: Cohort::tuner
// Journal replay: the input is a sweep journal's bytes. The Journal reads the
// file (per-line CRC32C, torn tail, journals without checksums), a Study
// replays its records (random search on Branin, seed 7, as the seeds were
// written) and then runs the sweep to its end on top of them, appending.
// The seeds are journals this target wrote from an empty file, and damaged
// copies of one.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/study/study.h"
#include "cohort/tuner/test_functions/test_functions.h"
#include "fuzzing.h"

namespace {
/// The journal file one process fuzzes through; removed when the process
/// exits, so neither fuzzing nor `make test`'s replay leaves files in /tmp.
struct ScratchJournal {
  std::string path = "/tmp/cohort-fuzz-journal-" + std::to_string(::getpid()) + ".jsonl";
  ~ScratchJournal() { std::remove(path.c_str()); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cohort::tuner;
  static const ScratchJournal scratch;
  const std::string& path = scratch.path;
  static const auto objective = branin();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] {
    Study study(std::make_unique<RandomSampler>(objective.space), std::make_unique<FifoScheduler>(9.0),
                StudyOptions().seed(7).journal(path).sync_journal(false).max_trials(4));
    while (auto trial = study.ask()) study.tell(*trial, Result::completed(objective.evaluate(trial->config, trial->budget)));
  });
  return 0;
}
