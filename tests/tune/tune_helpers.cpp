#include "tune_helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace cohort::testing {
namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The cells of one CSV line (quotes as results.csv writes them).
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cells.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

/// In the child: output to files, then exec; never returns.
[[noreturn]] void exec_with_output(const std::vector<std::string>& command, const std::filesystem::path& dir,
                                   const std::string& name) {
  const int out = ::open((dir / (name + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err = ::open((dir / (name + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(out, 1);
  ::dup2(err, 2);
  std::vector<char*> argv;
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace

std::vector<std::string> tune_command(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> command;
  if (ranks > 0) {
    command.push_back(COHORT_MPIEXEC);
    command.push_back(COHORT_MPIEXEC_NUMPROC_FLAG);
    command.push_back(std::to_string(ranks));
    for (const auto& flag : split_words(COHORT_MPIEXEC_FLAGS)) command.push_back(flag);
  }
  command.push_back(COHORT_TUNE_BINARY);
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

std::vector<std::string> trial_launcher() {
  std::vector<std::string> launcher = {COHORT_MPIEXEC, COHORT_MPIEXEC_NUMPROC_FLAG, "{ranks}"};
  for (const auto& flag : split_words(COHORT_MPIEXEC_FLAGS))
    if (flag != "-q") launcher.push_back(flag);
  return launcher;
}

TuneRun run_command(const std::vector<std::string>& command, const std::filesystem::path& dir,
                    const std::string& name) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_with_output(command, dir, name);
  int status = 0;
  ::waitpid(pid, &status, 0);
  TuneRun run;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = slurp(dir / (name + ".out"));
  run.err = slurp(dir / (name + ".err"));
  return run;
}

pid_t start_command(const std::vector<std::string>& command, const std::filesystem::path& dir,
                    const std::string& name) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setsid();
    exec_with_output(command, dir, name);
  }
  return pid;
}

void kill_session(pid_t session) {
  // Until a scan of /proc finds none left: a rank may be forked while we look.
  for (bool found = true; found;) {
    found = false;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      // pid (comm) state ppid pgrp session ...: the fields after the last ')'.
      const auto close = text.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream fields(text.substr(close + 1));
      std::string state;
      long ppid = 0, pgrp = 0, sid = 0;
      fields >> state >> ppid >> pgrp >> sid;
      if (sid != session || state == "Z") continue;
      ::kill(pid_t(std::stol(name)), SIGKILL);
      found = true;
    }
    if (found) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int status = 0;
    ::waitpid(session, &status, WNOHANG);
  }
}

std::string write_sweep(const std::filesystem::path& dir, const std::string& name, const Json& sweep) {
  const auto path = dir / name;
  std::ofstream(path) << sweep.dump(2) << "\n";
  return path.string();
}

std::vector<Json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Json> records;
  for (std::string line; std::getline(in, line);) {
    auto record = Json::parse(line, nullptr, false);
    if (!record.is_discarded()) records.push_back(std::move(record));
  }
  return records;
}

Json read_json(const std::filesystem::path& path) { return Json::parse(slurp(path)); }

std::vector<Json> journal_events(const std::filesystem::path& journal, const std::string& event) {
  std::vector<Json> events;
  for (const auto& record : read_jsonl(journal)) {
    if (record.value("event", "") != event) continue;
    events.push_back(event == "ask" ? record.at("trial") : record);
  }
  return events;
}

std::vector<std::string> journal_without_times(const std::filesystem::path& journal) {
  std::vector<std::string> lines;
  for (auto record : read_jsonl(journal)) {
    record.erase("time");
    record.erase("crc32c");  // over the time too
    lines.push_back(record.dump());
  }
  return lines;
}

std::vector<std::string> results_without_times(const std::filesystem::path& results_csv) {
  std::ifstream in(results_csv);
  std::vector<std::string> rows;
  size_t seconds_column = 0;
  for (std::string line; std::getline(in, line);) {
    auto cells = csv_cells(line);
    if (rows.empty()) {
      seconds_column = size_t(std::find(cells.begin(), cells.end(), "seconds") - cells.begin());
      if (seconds_column == cells.size()) throw std::runtime_error("results.csv has no seconds column");
    }
    cells.erase(cells.begin() + long(seconds_column));
    std::string row;
    for (const auto& cell : cells) row += cell + "|";
    rows.push_back(row);
  }
  return rows;
}

Json branin_sweep(const std::filesystem::path& output_dir) {
  return {{"space", {{"x1", {{"type", "uniform"}, {"low", -5}, {"high", 10}}},
                     {"x2", {{"type", "uniform"}, {"low", 0}, {"high", 15}}}}},
          {"objective", {{"function", "branin"}}},
          {"budget", {{"min", 1}, {"max", 9}, {"eta", 3}}},
          {"sampler", {{"name", "random"}}},
          {"scheduler", {{"name", "fifo"}}},
          {"max_trials", 12},
          {"seed", 7},
          {"sync_journal", false},
          {"progress_every_s", 0.5},
          {"outputs_every_s", 0.5},
          {"output_dir", output_dir.string()}};
}

}  // namespace cohort::testing
