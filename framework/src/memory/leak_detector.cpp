#include "cohort/memory/leak_detector.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cohort/memory/memory_report.h"

#ifdef COHORT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace cohort::memory {
namespace {

constexpr double kMinimumFit = 0.9;      // R^2 of the straight line through the samples
constexpr double kMinimumRises = 0.75;  // share of consecutive samples higher than the one before
constexpr double kMinimumLateShare = 0.25;  // share of the rise in the window's second half

struct Fit {
  double slope = 0.0;
  double r_squared = 0.0;
};

Fit fit_line(const std::deque<std::pair<int64_t, double>>& points) {
  const double n = double(points.size());
  double mean_x = 0.0, mean_y = 0.0;
  for (const auto& [x, y] : points) mean_x += double(x) / n, mean_y += y / n;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (const auto& [x, y] : points) {
    const double dx = double(x) - mean_x, dy = y - mean_y;
    sxx += dx * dx, sxy += dx * dy, syy += dy * dy;
  }
  Fit fit;
  if (sxx <= 0.0 || syy <= 0.0) return fit;
  fit.slope = sxy / sxx;
  fit.r_squared = sxy * sxy / (sxx * syy);
  return fit;
}

double cuda_allocated(torch::Device device) {
#ifdef COHORT_WITH_CUDA
  using c10::CachingAllocator::StatType;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
  return double(stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].current);
#else
  return 0.0;
#endif
}

}  // namespace

std::string LeakWarning::message() const {
  return fmt::format(
      "memory keeps growing: {} rose by {} over steps {}-{}, about {} per step. Something is kept from every "
      "step; most often a tensor that holds its autograd graph, e.g. `total += loss` instead of "
      "`total += loss.item<double>()`, or outputs stored without .detach(). See docs/memory.md.",
      measure, format_bytes(growth_bytes), first_step, last_step, format_bytes(bytes_per_step));
}

LeakDetector::LeakDetector(LeakDetectorOptions options, std::function<double()> sample, std::string measure)
    : options_(std::move(options)), sample_(std::move(sample)), measure_(std::move(measure)) {
  options_.window(std::max<int64_t>(3, options_.window()));
}

LeakDetector::LeakDetector(LeakDetectorOptions options, torch::Device device)
    : LeakDetector(std::move(options), nullptr, "") {
  if (device.is_cuda()) {
    sample_ = [device] { return cuda_allocated(device); };
    measure_ = fmt::format("CUDA memory allocated on {}", device.str());
  } else {
    sample_ = [] { return double(cpu_heap_in_use()); };
    measure_ = "the CPU heap in use";
  }
}

std::optional<LeakWarning> LeakDetector::after_step(int64_t steps_done) {
  if (!enabled() || steps_done % options_.every() != 0) return std::nullopt;
  return add_sample(steps_done, sample_());
}

std::optional<LeakWarning> LeakDetector::add_sample(int64_t steps_done, double bytes) {
  if (seen_++ < options_.warmup_samples()) return std::nullopt;
  samples_.emplace_back(steps_done, bytes);
  if (int64_t(samples_.size()) > options_.window()) samples_.pop_front();
  auto warning = check();
  if (warning) {
    // A new warning needs a whole new window of growth.
    ++warnings_;
    samples_.clear();
  }
  return warning;
}

std::optional<LeakWarning> LeakDetector::check() const {
  if (int64_t(samples_.size()) < options_.window()) return std::nullopt;
  const double growth = samples_.back().second - samples_.front().second;
  if (growth < options_.threshold_bytes()) return std::nullopt;
  // Still rising at the end: a warm-up that levels off is not a leak.
  const double late = samples_.back().second - samples_[samples_.size() / 2].second;
  if (late < kMinimumLateShare * growth) return std::nullopt;
  int64_t rises = 0;
  for (size_t i = 1; i < samples_.size(); ++i) rises += samples_[i].second > samples_[i - 1].second;
  if (double(rises) < kMinimumRises * double(samples_.size() - 1)) return std::nullopt;
  const auto fit = fit_line(samples_);
  if (fit.slope <= 0.0 || fit.r_squared < kMinimumFit) return std::nullopt;
  LeakWarning warning;
  warning.first_step = samples_.front().first;
  warning.last_step = samples_.back().first;
  warning.growth_bytes = growth;
  warning.bytes_per_step = fit.slope;
  warning.measure = measure_;
  return warning;
}

}  // namespace cohort::memory
