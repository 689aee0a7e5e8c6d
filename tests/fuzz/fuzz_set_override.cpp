// fuzz-link: Cohort::core
// `--set key.path=value` parsing: the input is a few assignments, one a line,
// applied to a small config as cohort-train applies them; the result must
// print as JSON (valid UTF-8, bounded depth).

#include <sstream>

#include "cohort/config/config.h"
#include "fuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] {
    cohort::config::Json config = {{"seed", 0}, {"optimizer", {{"name", "sgd"}, {"lr", 0.1}}}, {"model", {{"hidden", {8}}}}};
    std::stringstream lines(text);
    std::string assignment;
    while (std::getline(lines, assignment)) cohort::config::apply_override(config, assignment);
    (void)config.dump();
  });
  return 0;
}
