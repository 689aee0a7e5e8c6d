#pragma once
// How Cohort waits: for a collective or a send/recv to finish, for a sweep
// message, for a child process. One policy for every wait, because a wait
// that burns a core is harmless on an idle machine and ruinous on a busy one:
// a rank spinning for a peer that the scheduler has put aside takes CPU time
// from that very peer (or from the trial next to it).
//
// The process has one WaitMode:
//  - kSpin: the fastest on an idle machine with a core per rank. Collectives
//    may be MPI's blocking calls (which spin inside MPI), and Cohort's own
//    polls spin, then yield, and only sleep after a second.
//  - kYield: as kSpin, but Open MPI yields the core when it has nothing to do
//    (mpi_yield_when_idle, set before MPI starts) and Cohort's polls yield
//    from the start.
//  - kSleep: nothing waits by spinning. Collectives are MPI's non-blocking
//    calls, polled with MPI_Test; after a few microseconds the poll sleeps
//    (growing up to half a millisecond), so a waiting rank gives its core to
//    whoever needs it and, having slept, is scheduled again at once when it
//    wakes. Open MPI's own waits yield as in kYield.
// Automatic (the default): kSleep where the node is oversubscribed (more
// ranks on it than cores) or busy (more runnable tasks than cores when the
// job starts), kSpin otherwise; every rank then takes the politest mode any
// rank chose, because blocking and non-blocking collectives do not match.
// COHORT_WAIT=spin|yield|sleep|auto in the environment decides before MPI
// starts; a config's `runtime.wait` (set_wait_mode) decides for what is made
// after it. See docs/distributed.md.

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace cohort::distributed {

enum class WaitMode { kSpin, kYield, kSleep };

/// "spin", "yield" or "sleep".
std::string to_string(WaitMode mode);
/// The mode named by `name` ("spin", "yield", "sleep"); nullopt for "auto".
/// Throws std::invalid_argument for any other name.
std::optional<WaitMode> parse_wait_mode(const std::string& name);

/// The automatic choice for `ranks_on_node` ranks on a node of `cores` cores
/// where `runnable` tasks were ready to run at start-up (this rank included;
/// other ranks of the job may or may not be among them): kSleep when
/// ranks_on_node > cores or runnable > cores, kSpin otherwise. Pure.
WaitMode choose_wait_mode(int ranks_on_node, int cores, int runnable);

/// The mode in force in this process (kSpin until the runtime has decided).
WaitMode wait_mode();
/// Why: "auto: 3 ranks on this node, 2 cores", "forced by COHORT_WAIT", ...
std::string wait_mode_reason();
/// Forces `mode` (nullopt: keep the automatic choice) from now on, e.g. from a
/// config. Communicators made before keep the kind of collectives they chose;
/// Open MPI's own waits keep what was decided before MPI started. Call it with
/// the same value on every rank (a config is the same on every rank).
void set_wait_mode(std::optional<WaitMode> mode, const std::string& reason);

/// The timings of a Backoff. A wait spins for `spin`, then yields the core
/// after every poll until `yield_until`, then sleeps between polls, from
/// `sleep_from` doubling up to `sleep_up_to`. All measured from the first
/// empty poll.
struct BackoffOptions {
  std::chrono::microseconds spin{0};
  std::chrono::microseconds yield_until{0};
  std::chrono::microseconds sleep_from{20};
  std::chrono::microseconds sleep_up_to{500};

  /// The waits of communicators (collectives, send/recv) in `mode`. kSpin:
  /// spin 50 us (a small collective finishes within microseconds and any pause
  /// shows in its latency), yield until 1 s, then sleep 200 us (MPI needs the
  /// polls to make progress). kYield: the same without the spin. kSleep: spin
  /// 10 us, then sleep from 20 us up to 500 us.
  static BackoffOptions for_communication(WaitMode mode);
  /// Waits for a message or an event that may be far off (a sweep's next
  /// trial, a child process): yield for `yield_for` (unless `mode` is kSleep),
  /// then sleep from `sleep_from` doubling up to `sleep_up_to`.
  static BackoffOptions for_events(WaitMode mode, std::chrono::microseconds yield_for,
                                   std::chrono::microseconds sleep_from, std::chrono::microseconds sleep_up_to);
};

/// Spends the time between two polls that found nothing, as BackoffOptions
/// say. Call pause() after each empty poll and reset() after one that found
/// something (the next wait starts from the spin again).
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(BackoffOptions options = BackoffOptions::for_communication(wait_mode())) : options_(options) {}
  /// Spins, yields or sleeps, as the time since the first empty poll says.
  void pause();
  void reset();

 private:
  BackoffOptions options_;
  std::optional<Clock::time_point> idle_since_;
  std::chrono::microseconds sleep_{0};
};

/// Thrown by a collective's wait that gave up because the wait interrupt
/// (set_wait_interrupt) gave a reason; what() is that reason.
class WaitInterrupted : public std::runtime_error {
 public:
  explicit WaitInterrupted(const std::string& reason) : std::runtime_error(reason) {}
};

/// The reason to give up every wait now, or nullopt to go on waiting.
using WaitInterrupt = std::function<std::optional<std::string>()>;

/// Installs `interrupt` (empty: none) for every host-side wait of an MPI
/// collective in this process. A sweep uses it to end a trial's collectives
/// when another rank of the trial's group has failed, rather than leave them
/// to the watchdog, which would end the whole job.
void set_wait_interrupt(WaitInterrupt interrupt);

/// Throws WaitInterrupted when the installed interrupt gives a reason. Asks
/// it at most every few milliseconds per thread (it may probe for messages).
void check_wait_interrupt();

/// Polls `done` with a communication Backoff until it returns true; past
/// `deadline` calls `expire` (which normally aborts the job and does not
/// return; if it returns, the wait goes on).
template <typename Done, typename Expire>
void poll_until(Done&& done, Backoff::Clock::time_point deadline, Expire&& expire) {
  if (done()) return;
  Backoff backoff;
  while (!done()) {
    if (Backoff::Clock::now() > deadline) expire();
    backoff.pause();
  }
}

}  // namespace cohort::distributed
