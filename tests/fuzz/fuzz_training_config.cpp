// fuzz-link: Cohort::job
// Training config validation: the input is a config file's bytes, read and
// validated as cohort-train reads one (config::parse_json, then the training
// schema); the complete config must print as JSON.

#include "cohort/config/config.h"
#include "cohort/job/training_job.h"
#include "fuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto schema = cohort::job::training_schema();
  const std::string text = cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] {
    try {
      const auto config = cohort::config::parse_json(text, "fuzz.json");
      (void)schema.validate(config, "fuzz.json").dump();
    } catch (const cohort::config::Json::parse_error&) {
      // malformed JSON: read_json_file words it as a refusal
    }
  });
  return 0;
}
