#include "cohort/memory/memory_report.h"

#include <malloc.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#ifdef COHORT_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace cohort::memory {
namespace {


std::atomic<bool> report_requested{false};

void on_report_signal(int) { report_requested.store(true, std::memory_order_relaxed); }

double mib(int64_t bytes) { return double(bytes) / kMiB; }

double rounded(double value) { return double(int64_t(value * 10.0 + 0.5)) / 10.0; }

}  // namespace

int64_t proc_status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  const std::string prefix = field + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    std::istringstream value(line.substr(prefix.size()));
    int64_t kib = 0;
    value >> kib;  // the kernel writes "VmRSS:     1234 kB"
    return kib * 1024;
  }
  return 0;
}

int64_t cpu_heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 info = ::mallinfo2();
  // uordblks: in use from the arenas; hblkhd: in use in blocks of their own (mmap).
  return int64_t(info.uordblks + info.hblkhd);
#else
  return proc_status_bytes("VmRSS");
#endif
}

bool cuda_in_use() {
#ifdef COHORT_WITH_CUDA
  auto* allocator = c10::cuda::CUDACachingAllocator::get();
  return allocator != nullptr && allocator->initialized();
#else
  return false;
#endif
}

void reset_cuda_peaks() {
#ifdef COHORT_WITH_CUDA
  if (!cuda_in_use()) return;
  for (c10::DeviceIndex device = 0; device < c10::cuda::device_count(); ++device)
    c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#endif
}

MemoryReport capture_memory_report() {
  MemoryReport report;
  report.cpu_rss = proc_status_bytes("VmRSS");
  report.cpu_peak_rss = proc_status_bytes("VmHWM");
  report.cpu_heap = cpu_heap_in_use();
#ifdef COHORT_WITH_CUDA
  if (!cuda_in_use()) return report;
  using c10::CachingAllocator::StatType;
  const auto aggregate = static_cast<size_t>(StatType::AGGREGATE);
  for (c10::DeviceIndex device = 0; device < c10::cuda::device_count(); ++device) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    // Other ranks' devices are visible too; report the ones this process uses.
    if (stats.reserved_bytes[aggregate].current == 0 && stats.allocated_bytes[aggregate].peak == 0) continue;
    CudaMemory cuda;
    cuda.device = device;
    cuda.allocated = stats.allocated_bytes[aggregate].current;
    cuda.reserved = stats.reserved_bytes[aggregate].current;
    cuda.peak = stats.allocated_bytes[aggregate].peak;
    cuda.total = int64_t(at::cuda::getDeviceProperties(device)->totalGlobalMem);
    report.cuda.push_back(cuda);
  }
#endif
  return report;
}

nlohmann::json MemoryReport::to_json() const {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& device : cuda)
    devices.push_back({{"device", device.device},
                       {"allocated_mb", rounded(mib(device.allocated))},
                       {"reserved_mb", rounded(mib(device.reserved))},
                       {"peak_mb", rounded(mib(device.peak))},
                       {"total_mb", rounded(mib(device.total))}});
  return {{"cpu_rss_mb", rounded(mib(cpu_rss))},
          {"cpu_peak_rss_mb", rounded(mib(cpu_peak_rss))},
          {"cpu_heap_mb", rounded(mib(cpu_heap))},
          {"cuda", devices}};
}

std::string format_bytes(double bytes) {
  if (bytes < 0) return "-" + format_bytes(-bytes);
  if (bytes >= 1024.0 * kMiB) return fmt::format("{:.2f} GiB", bytes / (1024.0 * kMiB));
  if (bytes >= kMiB) return fmt::format("{:.1f} MiB", bytes / kMiB);
  if (bytes >= 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.0f} B", bytes);
}

std::string MemoryReport::format() const {
  std::string text = fmt::format("rss {} (peak {})", format_bytes(double(cpu_rss)), format_bytes(double(cpu_peak_rss)));
  for (const auto& device : cuda)
    text += fmt::format("; cuda:{} allocated {}, reserved {}, peak {} of {}", device.device,
                        format_bytes(double(device.allocated)), format_bytes(double(device.reserved)),
                        format_bytes(double(device.peak)), format_bytes(double(device.total)));
  return text;
}

void request_report() { report_requested.store(true, std::memory_order_relaxed); }

bool take_report_request() {
  if (!report_requested.load(std::memory_order_relaxed)) return false;
  return report_requested.exchange(false);
}

void install_report_signal(int signal) { std::signal(signal, on_report_signal); }

}  // namespace cohort::memory
