// fuzz-link: Cohort::sweep
// Sweep config validation: the input is a sweep config file's bytes, read and
// validated as cohort-tune reads one (config::parse_json, parse_sweep_config),
// then its scheduler and study options are built. A `base` given as a path is
// pointed at the shipped configs/fmnist_mlp.json: which files a path can name
// is not what this target explores (a path to /dev/zero would only wait).

#include "cohort/config/config.h"
#include "cohort/sweep/sweep_config.h"
#include "fuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] {
    try {
      auto raw = cohort::config::parse_json(text, "fuzz.json");
      if (raw.is_object() && raw.contains("base") && raw["base"].is_string()) raw["base"] = "fmnist_mlp.json";
      const auto sweep = cohort::sweep::parse_sweep_config(raw, "fuzz.json", COHORT_SOURCE_DIR "/configs");
      (void)sweep.make_scheduler();
      (void)sweep.study_options();
      (void)sweep.config.dump();
    } catch (const cohort::config::Json::parse_error&) {
      // malformed JSON: read_json_file words it as a refusal
    }
  });
  return 0;
}
