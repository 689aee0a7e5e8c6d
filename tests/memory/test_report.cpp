// Memory reports: the figures, their JSON, and where training writes them.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "memory_helpers.h"

using namespace cohort;
using Catch::Matchers::Contains;

TEST_CASE("a memory report has the process's resident memory and its peak", "[memory][report]") {
  const auto report = memory::capture_memory_report();
  CHECK(report.cpu_rss > 10 * 1024 * 1024);
  CHECK(report.cpu_peak_rss >= report.cpu_rss);
  CHECK(report.cpu_heap > 0);
  const auto json = report.to_json();
  CHECK(json.at("cpu_rss_mb").get<double>() > 10.0);
  CHECK(json.at("cpu_peak_rss_mb").get<double>() >= json.at("cpu_rss_mb").get<double>());
  CHECK(json.at("cuda").is_array());
  CHECK_THAT(report.format(), Contains("rss ") && Contains("(peak "));
  CHECK(memory::format_bytes(1536.0 * 1024 * 1024) == "1.50 GiB");
  CHECK(memory::format_bytes(5.0 * 1024 * 1024) == "5.0 MiB");
  CHECK(memory::format_bytes(4096) == "4.0 KiB");
  CHECK(memory::format_bytes(32) == "32 B");
}

TEST_CASE("a report can be asked for, once per request", "[memory][report]") {
  CHECK_FALSE(memory::take_report_request());
  memory::request_report();
  CHECK(memory::take_report_request());
  CHECK_FALSE(memory::take_report_request());
}

TEST_CASE("every epoch's metrics line and log line carry the memory figures and the micro-batch", "[memory][report]") {
  const auto dir = cohort::testing::temporary_directory("memory-report");
  job::TrainingJob job(cohort::testing::synthetic_config({{"output_dir", dir.string()}, {"trainer", {{"accumulation_steps", 2}}}}),
                       "test config");
  cohort::testing::LogCapture log(spdlog::level::info);
  job.fit();
  std::ifstream in(dir / "metrics.jsonl");
  int epochs = 0;
  for (std::string text; std::getline(in, text);) {
    const auto line = nlohmann::json::parse(text);
    if (line.value("event", "") != "epoch") continue;
    ++epochs;
    CHECK(line.at("memory").at("cpu_rss_mb").get<double>() > 0);
    CHECK(line.at("memory").at("cpu_peak_rss_mb").get<double>() > 0);
    CHECK(line.at("memory").at("cuda").is_array());
    CHECK(line.at("micro_batch_size") == 8);
    CHECK(line.at("accumulation_steps") == 2);
    CHECK(line.at("skipped_steps") == 0);
    CHECK_FALSE(line.contains("loss_scale"));
  }
  CHECK(epochs == 2);
  CHECK_THAT(log.text(), Contains("; memory rss "));
}
