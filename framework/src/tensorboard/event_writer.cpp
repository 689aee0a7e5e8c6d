#include "cohort/tensorboard/event_writer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "cohort/tensorboard/record.h"
#include "event_encoding.h"

namespace cohort::tensorboard {
namespace fs = std::filesystem;
namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

/// A name no other writer has: the process's writers are numbered, so two
/// opened in the same second (a run resumed in-process) differ and sort in
/// the order they were opened, as TensorBoard reads them.
fs::path new_event_file(const EventWriterOptions& options) {
  static std::atomic<int> opened{0};
  const auto seconds = int64_t(EventWriter::now());
  for (;;) {
    const auto name = fmt::format("events.out.tfevents.{:010d}.{}.{}.{}{}", seconds, host_name(), getpid(),
                                  opened++, options.filename_suffix());
    const auto path = fs::path(options.directory()) / name;
    if (!fs::exists(path)) return path;
  }
}

}  // namespace

struct EventWriter::File {
  std::ofstream out;
};

EventWriter::EventWriter(EventWriterOptions options) : file_(std::make_unique<File>()) {
  fs::create_directories(options.directory());
  path_ = new_event_file(options).string();
  file_->out.open(path_, std::ios::binary | std::ios::trunc);
  if (!file_->out) throw std::runtime_error(fmt::format("cannot write the event file {}", path_));
  add_event(encoding::file_version_event(now()));
  flush();
}

EventWriter::~EventWriter() {
  if (file_) file_->out.flush();
}

double EventWriter::now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  add_event(encoding::scalar_event(tag, float(value), step, wall_time));
}

void EventWriter::add_event(const std::string& serialized_event) {
  const auto record = frame_record(serialized_event);
  file_->out.write(record.data(), std::streamsize(record.size()));
}

void EventWriter::flush() {
  file_->out.flush();
  if (!file_->out) throw std::runtime_error(fmt::format("cannot write the event file {}", path_));
}

}  // namespace cohort::tensorboard
