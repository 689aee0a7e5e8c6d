#pragma once
// An append-only JSON-lines journal: every event is on disk before the study
// acts on it, so a sweep killed at any moment loses nothing.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::tuner {

class Journal {
 public:
  /// Opens `path` for appending, creating it (and its directory) if needed,
  /// and reads the records already there. A last line cut short by a crash is
  /// dropped and cut from the file; any other unreadable line raises
  /// cohort::InputError naming the file and the line. With `sync`, append()
  /// also waits for the disk (fsync), not just the operating system. The file
  /// is locked (flock) while the journal is open: a second Journal on it, in
  /// this process or another, raises cohort::InputError saying so.
  Journal(std::string path, bool sync);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// The records that were in the file when it was opened.
  const std::vector<nlohmann::json>& existing() const { return existing_; }

  /// Writes `record` as one line; it is in the file when this returns (so it
  /// survives the process being killed), and on the disk too when the journal
  /// syncs and syncs are not deferred.
  void append(const nlohmann::json& record);

  /// Group commit: while deferred, append() does not wait for the disk and
  /// sync() waits once for every record written since the last wait. A
  /// coordinator that records many events in one pass then pays for one
  /// fdatasync instead of one per record. Turning deferral off syncs first.
  void defer_syncs(bool deferred);

  /// Waits until the disk holds every record appended so far (nothing to do
  /// when the journal does not sync, or nothing was written since).
  void sync();

  const std::string& path() const { return path_; }

 private:
  /// Opens the file for appending and takes its lock, or throws.
  void open_locked();

  std::string path_;
  bool sync_;
  bool deferred_ = false;
  bool unsynced_ = false;  // records written since the last fdatasync
  int fd_ = -1;
  std::vector<nlohmann::json> existing_;
};

}  // namespace cohort::tuner
