#pragma once
// An event file TensorBoard reads (`tensorboard --logdir <directory>`):
// events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix> in `directory`, a
// new file per writer, opened with the "brain.Event:2" version event.
// Events are buffered by the stream until flush(); a reader sees every whole
// record up to the last flush, so a killed run's file stays readable.

#include <cstdint>
#include <memory>
#include <string>

#include <torch/arg.h>

namespace cohort::tensorboard {

struct EventWriterOptions {
  explicit EventWriterOptions(std::string directory) : directory_(std::move(directory)) {}
  /// Created if missing.
  TORCH_ARG(std::string, directory);
  /// Appended to the file's name (TensorBoard reads any name holding "tfevents").
  TORCH_ARG(std::string, filename_suffix) = "";
};

class EventWriter {
 public:
  explicit EventWriter(EventWriterOptions options);
  ~EventWriter();  // flushes
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  /// Seconds since the epoch, as events stamp their wall time.
  static double now();

  /// A scalar (TensorBoard stores it as a float) at `step`.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = now());
  /// A serialized tensorboard Event message, framed as one record.
  void add_event(const std::string& serialized_event);
  void flush();

  const std::string& path() const { return path_; }

 private:
  struct File;
  std::string path_;
  std::unique_ptr<File> file_;
};

}  // namespace cohort::tensorboard
