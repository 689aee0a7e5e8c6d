#include "cohort/distributed/wait_policy.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include "wait_startup.h"

namespace cohort::distributed {
namespace {

struct WaitState {
  std::atomic<int> mode{static_cast<int>(WaitMode::kSpin)};
  std::mutex mutex;  // reason
  std::string reason = "not decided yet (MPI has not started)";
};

WaitState& wait_state() {
  static auto* state = new WaitState;  // used from exit paths: never destroyed
  return *state;
}

void set_mode(WaitMode mode, std::string reason) {
  auto& state = wait_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.mode.store(static_cast<int>(mode), std::memory_order_release);
  state.reason = std::move(reason);
}

/// The mode COHORT_WAIT forces; nullopt when unset or "auto". A bad value is
/// a refused input: one sentence and exit 2 (nothing else has started yet).
std::optional<WaitMode> environment_mode() {
  const char* text = std::getenv("COHORT_WAIT");
  if (!text || !*text) return std::nullopt;
  try {
    return parse_wait_mode(text);
  } catch (const std::invalid_argument&) {
    std::fprintf(stderr, "COHORT_WAIT must be auto, spin, yield or sleep, not \"%s\".\n", text);
    std::exit(2);
  }
}

/// The node's cores: COHORT_NODE_CORES where the hardware count overstates
/// what the job may use (a container's CPU quota), else the hardware's.
int node_cores() {
  if (const char* text = std::getenv("COHORT_NODE_CORES"); text && std::atoi(text) > 0) return std::atoi(text);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// Tasks ready to run on the machine right now, the caller included (the
/// fourth field of /proc/loadavg, "running/total"); 0 where unknown.
int runnable_now() {
  std::ifstream file("/proc/loadavg");
  double one, five, fifteen;
  int running = 0;
  char slash;
  if (file >> one >> five >> fifteen >> running >> slash) return running;
  return 0;
}

/// Samples of the runnable tasks taken at start-up.
constexpr int kSamples = 7;

/// The fewest tasks runnable in a few samples of runnable_now(), `gap` apart.
/// Work that holds a core (a busy process, a compiler) is runnable in every
/// sample; what comes and goes within milliseconds (another rank of this job
/// still leaving the barrier, the launcher's daemon) is not, and must not
/// turn an idle node's job to the slower sleep mode.
int runnable_floor(std::chrono::milliseconds gap) {
  int fewest = std::numeric_limits<int>::max();
  for (int i = 0; i < kSamples; ++i) {
    std::this_thread::sleep_for(gap);
    fewest = std::min(fewest, runnable_now());
  }
  return fewest;
}

/// The ranks on this node as the launcher says, before MPI can tell; 1 if unknown.
int launcher_ranks_on_node() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"})
    if (const char* text = std::getenv(name)) return std::max(1, std::atoi(text));
  return 1;
}

/// Whether COHORT_KEEP_BINDING asks to keep the launcher's core binding (set, and not "0").
bool keeps_binding() {
  const char* keep = std::getenv("COHORT_KEEP_BINDING");
  return keep && *keep && std::string(keep) != "0";
}

std::string auto_reason(int ranks_on_node, int cores, int runnable) {
  return fmt::format("auto: {} rank(s) on this node, {} cores, {} other task(s) runnable at start-up",
                     ranks_on_node, cores, std::max(0, runnable - 1));
}

}  // namespace

std::string to_string(WaitMode mode) {
  switch (mode) {
    case WaitMode::kSpin: return "spin";
    case WaitMode::kYield: return "yield";
    case WaitMode::kSleep: return "sleep";
  }
  return "spin";
}

std::optional<WaitMode> parse_wait_mode(const std::string& name) {
  if (name == "auto") return std::nullopt;
  for (const auto mode : {WaitMode::kSpin, WaitMode::kYield, WaitMode::kSleep})
    if (to_string(mode) == name) return mode;
  throw std::invalid_argument(fmt::format("the wait mode must be auto, spin, yield or sleep, not \"{}\".", name));
}

WaitMode choose_wait_mode(int ranks_on_node, int cores, int runnable) {
  // Other tasks than this rank, plus the job's other ranks on the node: more than the cores, and some rank
  // will wait for a peer that is not running.
  const int others = std::max(0, runnable - 1);
  return ranks_on_node > cores || ranks_on_node + others > cores ? WaitMode::kSleep : WaitMode::kSpin;
}

WaitMode wait_mode() { return static_cast<WaitMode>(wait_state().mode.load(std::memory_order_acquire)); }

std::string wait_mode_reason() {
  auto& state = wait_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.reason;
}

void set_wait_mode(std::optional<WaitMode> mode, const std::string& reason) {
  if (mode) set_mode(*mode, reason);
}

BackoffOptions BackoffOptions::for_communication(WaitMode mode) {
  using std::chrono::microseconds;
  switch (mode) {
    case WaitMode::kSpin: return {microseconds(50), microseconds(1000000), microseconds(200), microseconds(200)};
    case WaitMode::kYield: return {microseconds(0), microseconds(1000000), microseconds(200), microseconds(200)};
    case WaitMode::kSleep: return {microseconds(10), microseconds(10), microseconds(20), microseconds(500)};
  }
  return {};
}

BackoffOptions BackoffOptions::for_events(WaitMode mode, std::chrono::microseconds yield_for,
                                          std::chrono::microseconds sleep_from,
                                          std::chrono::microseconds sleep_up_to) {
  return {std::chrono::microseconds(0), mode == WaitMode::kSleep ? std::chrono::microseconds(0) : yield_for,
          sleep_from, sleep_up_to};
}

void Backoff::pause() {
  const auto now = Clock::now();
  if (!idle_since_) idle_since_ = now;
  const auto waited = now - *idle_since_;
  if (waited < options_.spin) return;
  if (waited < options_.yield_until) {
    std::this_thread::yield();
    return;
  }
  sleep_ = sleep_.count() == 0 ? options_.sleep_from : std::min(sleep_ * 2, options_.sleep_up_to);
  std::this_thread::sleep_for(sleep_);
}

void Backoff::reset() {
  idle_since_.reset();
  sleep_ = std::chrono::microseconds(0);
}

namespace detail {

void prepare_wait_mode_before_mpi() {
  if (const auto forced = environment_mode()) {
    set_mode(*forced, "forced by COHORT_WAIT");
  } else {
    // Every rank of the node may be starting too: only tasks beyond them count here.
    const int ranks = launcher_ranks_on_node(), cores = node_cores();
    const int runnable = std::max(1, runnable_floor(std::chrono::milliseconds(1)) - (ranks - 1));
    set_mode(choose_wait_mode(ranks, cores, runnable), auto_reason(ranks, cores, runnable));
  }
  // Open MPI reads its MCA parameters from the environment in MPI_Init; a user's own setting wins.
  if (wait_mode() != WaitMode::kSpin) setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
}

void decide_wait_mode(int local_rank, int ranks_on_node) {
  if (!environment_mode()) {
    // One rank per node samples while the node's other ranks sleep, so what is runnable then is that rank and
    // the rest of the machine. Had every rank sampled, ranks leaving the barrier together would wake and read
    // together too, each would count the others as load, and an idle node would take the slower sleep mode.
    constexpr std::chrono::milliseconds kGap{2};
    MPI_Barrier(MPI_COMM_WORLD);
    const int cores = node_cores();
    if (local_rank == 0) {
      const int runnable = runnable_floor(kGap);
      set_mode(choose_wait_mode(ranks_on_node, cores, runnable), auto_reason(ranks_on_node, cores, runnable));
    } else {
      std::this_thread::sleep_for(kGap * (kSamples + 4));
      set_mode(choose_wait_mode(ranks_on_node, cores, 1),
               fmt::format("auto: {} rank(s) on this node, {} cores, the load as the node's first rank sampled it",
                           ranks_on_node, cores));
    }
  }
  // Blocking and non-blocking collectives do not match: every rank takes the politest choice.
  int mine = static_cast<int>(wait_mode()), agreed = mine;
  MPI_Allreduce(&mine, &agreed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (agreed != mine) set_mode(static_cast<WaitMode>(agreed), wait_mode_reason() + "; politer on another rank");
  // On a busy node a rank pinned to one core waits for whatever else runs there, while a core another task has
  // just left stays idle; the scheduler balances better. (mpirun pins each rank to a core by default.)
  if (wait_mode() == WaitMode::kSleep && !keeps_binding() && release_core_binding())
    set_mode(wait_mode(), wait_mode_reason() + "; pinned to fewer cores than the node has, released");
}

bool release_core_binding() {
  cpu_set_t before, every;
  if (sched_getaffinity(0, sizeof before, &before) != 0) return false;
  CPU_ZERO(&every);
  const long configured = sysconf(_SC_NPROCESSORS_CONF);
  for (long cpu = 0; cpu < std::min<long>(configured, CPU_SETSIZE); ++cpu) CPU_SET(cpu, &every);
  // The kernel keeps the result within the cores the process's cpuset allows.
  cpu_set_t after;
  if (sched_setaffinity(0, sizeof every, &every) != 0 || sched_getaffinity(0, sizeof after, &after) != 0)
    return false;
  return CPU_COUNT(&after) > CPU_COUNT(&before);
}

}  // namespace detail
namespace {

std::mutex interrupt_mutex;
WaitInterrupt installed_interrupt;
std::atomic<bool> interrupt_installed{false};
constexpr std::chrono::milliseconds kInterruptEvery{5};

}  // namespace

void set_wait_interrupt(WaitInterrupt interrupt) {
  std::lock_guard<std::mutex> lock(interrupt_mutex);
  installed_interrupt = std::move(interrupt);
  interrupt_installed.store(bool(installed_interrupt), std::memory_order_release);
}

void check_wait_interrupt() {
  if (!interrupt_installed.load(std::memory_order_acquire)) return;
  thread_local std::chrono::steady_clock::time_point last{};
  const auto now = std::chrono::steady_clock::now();
  if (now - last < kInterruptEvery) return;
  last = now;
  std::optional<std::string> reason;
  {
    std::lock_guard<std::mutex> lock(interrupt_mutex);
    if (installed_interrupt) reason = installed_interrupt();
  }
  if (reason) throw WaitInterrupted(*reason);
}

}  // namespace cohort::distributed
