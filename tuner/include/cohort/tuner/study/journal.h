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
  /// and reads the records already there. Every line carries its record's
  /// CRC32C (as a first key, "crc32c"), checked here. A last line cut short by
  /// a kill (no newline: each record is written whole, newline last) is
  /// dropped and cut from the file; any complete line that is unreadable or
  /// does not match its checksum raises cohort::InputError naming the file and
  /// the line. Lines without a
  /// checksum, written by an older Cohort, are read unchecked, but only before
  /// the first line that has one. With `sync`, append()
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

  /// How many of existing() had no checksum (an older Cohort wrote them).
  size_t unchecked_records() const { return unchecked_; }

 private:
  /// The record on line `line` (its text without the newline), checked:
  /// InputError naming the file and line when it is damaged.
  nlohmann::json parse_line(const std::string& text, size_t line);

  /// Opens the file for appending and takes its lock, or throws.
  void open_locked();
  /// Reads the records already in the file into existing_, cutting a torn tail.
  void read_existing();

  std::string path_;
  bool sync_;
  bool deferred_ = false;
  bool unsynced_ = false;  // records written since the last fdatasync
  int fd_ = -1;
  std::vector<nlohmann::json> existing_;
  bool checksummed_ = false;  // some line of the file carries a checksum
  size_t unchecked_ = 0;
};

}  // namespace cohort::tuner
