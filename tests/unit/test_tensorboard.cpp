// TensorBoard event files (issue 20): CRC32C, the record framing, the event
// writer, and the callback on a writer and a non-writer rank and across a
// resume. TensorBoard's own reader checks the contents in
// tests/tensorboard/*.py; these check what needs no Python.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "cohort/strategies/single.h"
#include "cohort/tensorboard/crc32c.h"
#include "cohort/tensorboard/event_writer.h"
#include "cohort/tensorboard/record.h"
#include "cohort/trainer/tensorboard_callback.h"
#include "common/temporary_directory.h"
#include "regression_fixture.h"

namespace fs = std::filesystem;
namespace tb = cohort::tensorboard;
namespace trainer = cohort::trainer;
using cohort::testing::regression_loader;
using cohort::testing::regression_model;
using cohort::testing::regression_options;
using cohort::testing::regression_trainer;

namespace {

template <typename T>
T little_endian(const std::string& bytes, size_t at) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= T(uint8_t(bytes[at + i])) << (8 * i);
  return value;
}

/// The payloads of a file's records, checking each record's two CRCs.
std::vector<std::string> read_records(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  for (size_t at = 0; at < bytes.size();) {
    REQUIRE(at + 12 <= bytes.size());
    const auto length = little_endian<uint64_t>(bytes, at);
    REQUIRE(little_endian<uint32_t>(bytes, at + 8) == tb::masked_crc32c(bytes.substr(at, 8)));
    REQUIRE(at + 12 + length + 4 <= bytes.size());
    records.push_back(bytes.substr(at + 12, length));
    REQUIRE(little_endian<uint32_t>(bytes, at + 12 + length) == tb::masked_crc32c(records.back()));
    at += 12 + length + 4;
  }
  return records;
}

std::vector<fs::path> event_files(const fs::path& directory) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

size_t records_in(const fs::path& directory) {
  size_t count = 0;
  for (const auto& file : event_files(directory)) count += read_records(file).size();
  return count;
}

/// A regression trainer writing event files into `directory`, a point per step.
trainer::Trainer tensorboard_trainer(const fs::path& directory, int64_t epochs, bool writer = true) {
  return regression_trainer(
      regression_model(),
      regression_options(epochs)
          .output_dir(directory.string())
          .strategy(std::make_shared<cohort::strategies::Single>(cohort::strategies::SingleOptions().writer(writer)))
          .callbacks({std::make_shared<trainer::TensorBoardCallback>(trainer::TensorBoardOptions().log_every(1))}));
}

}  // namespace

TEST_CASE("crc32c matches the published check values", "[tensorboard]") {
  CHECK(tb::crc32c("") == 0u);
  CHECK(tb::crc32c("123456789") == 0xE3069283u);
  CHECK(tb::crc32c(std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720, B.4
  CHECK(tb::crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  const uint32_t crc = 0xE3069283u;
  CHECK(tb::masked_crc32c("123456789") == ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST_CASE("a record is its length, the length's crc, the data and the data's crc", "[tensorboard]") {
  const auto record = tb::frame_record("abc");
  REQUIRE(record.size() == 8 + 4 + 3 + 4);
  CHECK(little_endian<uint64_t>(record, 0) == 3u);
  CHECK(little_endian<uint32_t>(record, 8) == tb::masked_crc32c(record.substr(0, 8)));
  CHECK(record.substr(12, 3) == "abc");
  CHECK(little_endian<uint32_t>(record, 15) == tb::masked_crc32c("abc"));
}

TEST_CASE("an event file starts with its version and holds what was flushed", "[tensorboard]") {
  const auto directory = cohort::testing::temporary_directory("tensorboard-writer");
  tb::EventWriter writer(tb::EventWriterOptions((directory / "run").string()));
  CHECK(fs::path(writer.path()).filename().string().rfind("events.out.tfevents.", 0) == 0);
  writer.add_scalar("loss", 0.5, 1);
  writer.add_scalar("loss", 0.25, 2);
  writer.flush();
  const auto records = read_records(writer.path());
  REQUIRE(records.size() == 3);
  CHECK(records[0].find("brain.Event:2") != std::string::npos);
  CHECK(records[1].find("loss") != std::string::npos);
  float value = 0.25f;  // simple_value, a little-endian float
  CHECK(records[2].find(std::string(reinterpret_cast<const char*>(&value), 4)) != std::string::npos);
}

TEST_CASE("two writers in one directory write two files, in the order they were opened", "[tensorboard]") {
  const auto directory = cohort::testing::temporary_directory("tensorboard-two");
  tb::EventWriter first(tb::EventWriterOptions(directory.string()));
  tb::EventWriter second(tb::EventWriterOptions(directory.string()).filename_suffix(".hparams"));
  CHECK(first.path() < second.path());
  CHECK(fs::path(second.path()).extension() == ".hparams");
}

TEST_CASE("record_scalars flattens nested figures and leaves out text", "[tensorboard]") {
  const nlohmann::json record = {{"event", "epoch"}, {"step", 4}, {"train_loss", 0.5},
                                 {"memory", {{"cpu_rss_mb", 100.0}, {"cuda", {{{"peak_mb", 3.0}}}}}}};
  const auto scalars = trainer::record_scalars(record);
  using Scalars = std::vector<std::pair<std::string, double>>;
  CHECK(scalars == Scalars{{"memory/cpu_rss_mb", 100.0}, {"memory/cuda/0/peak_mb", 3.0}, {"train_loss", 0.5}});
}

TEST_CASE("only the writer rank writes event files", "[tensorboard]") {
  const auto directory = cohort::testing::temporary_directory("tensorboard-rank");
  auto not_writer = tensorboard_trainer(directory, 2, /*writer=*/false);
  not_writer.fit(regression_loader(16, 8));
  CHECK(event_files(directory).empty());
  auto writer = tensorboard_trainer(directory, 2);
  writer.fit(regression_loader(16, 8));
  CHECK(event_files(directory).size() == 1);
}

TEST_CASE("a resumed run writes a new file with only the steps after the resume", "[tensorboard]") {
  const auto whole = cohort::testing::temporary_directory("tensorboard-whole");
  auto uninterrupted = tensorboard_trainer(whole, 4);
  uninterrupted.fit(regression_loader(16, 8));

  const auto parts = cohort::testing::temporary_directory("tensorboard-parts");
  auto first = tensorboard_trainer(parts, 2);
  first.fit(regression_loader(16, 8));
  auto second = tensorboard_trainer(parts, 4);
  second.resume(parts.string());
  second.fit(regression_loader(16, 8));

  REQUIRE(event_files(parts).size() == 2);
  // The same points, plus the second file's version record.
  CHECK(records_in(parts) == records_in(whole) + 1);
}
