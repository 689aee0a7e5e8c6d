#include "cohort/trainer/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cohort::trainer {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

Progress::Progress(ProgressStyle style, int64_t log_every, std::shared_ptr<spdlog::logger> logger)
    : style_(style),
      log_every_(std::max<int64_t>(1, log_every)),
      log_(logger ? std::move(logger) : spdlog::default_logger()) {
  if (style_ == ProgressStyle::kAuto) style_ = ::isatty(STDERR_FILENO) ? ProgressStyle::kBar : ProgressStyle::kLog;
}

void Progress::start(const std::string& label, int64_t total_steps) {
  label_ = label;
  total_steps_ = total_steps;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
}

std::string Progress::summary(const Stats& stats, const task::Task& task) const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  auto text = fmt::format("loss {:.4f}", stats.mean_loss());
  for (const auto& [name, value] : task.metric_values(stats)) text += fmt::format(" {} {:.4f}", name, value);
  return text + fmt::format(" {:.0f} samples/s", double(stats.samples) / std::max(seconds, 1e-9));
}

void Progress::update(int64_t steps_done, const Stats& stats, const task::Task& task) {
  const bool last = steps_done == total_steps_;
  if (style_ == ProgressStyle::kLog && (steps_done % log_every_ == 0 || last)) {
    log_->info("{} step {}/{} {}", label_, steps_done, total_steps_, summary(stats, task));
  } else if (style_ == ProgressStyle::kBar) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < kRedrawInterval && !last) return;
    last_draw_ = now;
    const int filled = total_steps_ ? int(kBarWidth * steps_done / total_steps_) : kBarWidth;
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld %s\x1b[K", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kBarWidth - filled, '.').c_str(), static_cast<long long>(steps_done),
                 static_cast<long long>(total_steps_), summary(stats, task).c_str());
    std::fflush(stderr);
  }
}

void Progress::finish() {
  if (style_ == ProgressStyle::kBar) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }
}

}  // namespace cohort::trainer
