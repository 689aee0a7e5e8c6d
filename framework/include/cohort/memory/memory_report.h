#pragma once
// Where memory stands: the process's resident memory on the CPU and, for each
// CUDA device it uses, what the caching allocator has handed out (allocated),
// holds from the driver (reserved) and the most it has handed out (peak).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::memory {

/// One CUDA device's figures, in bytes.
struct CudaMemory {
  int device = 0;
  int64_t allocated = 0;  // in tensors now
  int64_t reserved = 0;   // held by the caching allocator (allocated + cached)
  int64_t peak = 0;       // most allocated since the peak was last reset
  int64_t total = 0;      // the device's capacity
};

struct MemoryReport {
  int64_t cpu_rss = 0;       // resident set of the process (VmRSS), bytes
  int64_t cpu_peak_rss = 0;  // the most it has been (VmHWM), bytes
  int64_t cpu_heap = 0;      // bytes malloc has handed out and not had back (0 where unknown)
  std::vector<CudaMemory> cuda;

  /// {"cpu_rss_mb":..,"cpu_peak_rss_mb":..,"cuda":[{"device":0,"allocated_mb":..,"reserved_mb":..,"peak_mb":..}]}
  nlohmann::json to_json() const;
  /// One line: "rss 512 MB (peak 600 MB); cuda:0 allocated 1.2 GB, reserved 2.0 GB, peak 1.8 GB".
  std::string format() const;
};

/// The figures now. CUDA figures come only for devices whose allocator is in
/// use (initialised in this process); none on a CPU-only run.
MemoryReport capture_memory_report();

/// Bytes malloc has handed out and not had back (glibc's mallinfo2), which,
/// unlike the resident set, does not count memory freed and kept for reuse;
/// falls back to the resident set where glibc is not there.
int64_t cpu_heap_in_use();

/// A field of /proc/self/status in bytes (e.g. "VmRSS"); 0 where unknown.
int64_t proc_status_bytes(const std::string& field);

/// Whether CUDA has been initialised in this process (so asking its allocator is cheap and safe).
bool cuda_in_use();

/// Forgets the peak CUDA figures, so the next report's peak is since now.
void reset_cuda_peaks();

/// Bytes in a MiB: the unit of every memory figure Cohort reports.
inline constexpr double kMiB = 1024.0 * 1024.0;

/// "1.50 GiB", "512.0 MiB", "4.0 KiB", "32 B": every size Cohort prints
/// (memory reports, the watchdog's messages).
std::string format_bytes(double bytes);

/// Asks for a memory report at the next training step (async-signal-safe).
void request_report();
/// True once after each request_report().
bool take_report_request();
/// Makes `signal` (e.g. SIGUSR1) call request_report(): `kill -USR1 <pid>`
/// logs a memory report at the next step. For programs, not libraries.
void install_report_signal(int signal);

}  // namespace cohort::memory
