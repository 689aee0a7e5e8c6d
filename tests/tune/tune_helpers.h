#pragma once
// Running cohort-tune as a user does (under mpirun, or alone) and reading
// what it leaves behind, for the end-to-end tests of tests/tune.

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::testing {

using Json = nlohmann::json;

/// A finished run of cohort-tune: its exit status and what it printed.
struct TuneRun {
  int status = -1;
  std::string out;
  std::string err;
};

/// The command line that starts cohort-tune with `args` on `ranks` ranks
/// under mpirun (ranks 0: as one process, without mpirun).
std::vector<std::string> tune_command(int ranks, const std::vector<std::string>& args);

/// The objective.launcher of isolated trials in tests: mpirun with the test
/// flags (--oversubscribe) and "{ranks}" ranks, without -q, so that mpirun
/// says which rank of a trial's job died.
std::vector<std::string> trial_launcher();

/// Runs `command` and waits for it; stdout and stderr are kept in files
/// under `dir` (named after `name`) and returned.
TuneRun run_command(const std::vector<std::string>& command, const std::filesystem::path& dir,
                    const std::string& name);

/// Starts `command` in a session of its own and returns its process id,
/// which is also the session's: Open MPI puts each rank in a process group of
/// its own, but they all stay in mpirun's session.
pid_t start_command(const std::vector<std::string>& command, const std::filesystem::path& dir,
                    const std::string& name);

/// Kills every process of session `session` with SIGKILL (mpirun and all its
/// ranks: the whole job, at once, as a crash of the machine would) and reaps
/// `session`'s leader.
void kill_session(pid_t session);

/// Writes `sweep` as `dir`/`name` and returns its path.
std::string write_sweep(const std::filesystem::path& dir, const std::string& name, const Json& sweep);

/// The records of a JSON-lines file (a torn last line is skipped).
std::vector<Json> read_jsonl(const std::filesystem::path& path);
Json read_json(const std::filesystem::path& path);

/// The "tell" records of a journal, and the trial records of its "ask" lines.
std::vector<Json> journal_events(const std::filesystem::path& journal, const std::string& event);

/// The journal's records without their time stamps, one string per line.
std::vector<std::string> journal_without_times(const std::filesystem::path& journal);

/// results.csv without its "seconds" column, one string per row: what two
/// runs of the same sweep must agree on (values, configurations, ids).
std::vector<std::string> results_without_times(const std::filesystem::path& results_csv);

/// A sweep over the branin test function, output to `output_dir`; callers change what they test.
Json branin_sweep(const std::filesystem::path& output_dir);

}  // namespace cohort::testing
