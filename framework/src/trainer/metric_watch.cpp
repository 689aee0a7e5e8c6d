#include "cohort/trainer/metric_watch.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace cohort::trainer {
namespace {

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

bool higher_is_better(const MetricWatchOptions& options) {
  switch (options.mode()) {
    case MetricMode::kMin: return false;
    case MetricMode::kMax: return true;
    default: {
      const auto& name = options.metric();
      return !(ends_with(name, "loss") || ends_with(name, "mse") || ends_with(name, "mae"));
    }
  }
}

}  // namespace

MetricWatch::MetricWatch(MetricWatchOptions options)
    : options_(std::move(options)), higher_(trainer::higher_is_better(options_)) {}

bool MetricWatch::update(const nlohmann::json& record) {
  // A stop part-way through an epoch (a sweep's rung at 1.5 epochs) records a
  // fraction; counting it would make a resumed run see one epoch more than an
  // uninterrupted one.
  const auto epoch = record.find("epoch");
  if (epoch != record.end() && epoch->is_number_float() && epoch->get<double>() != std::floor(epoch->get<double>()))
    return false;
  const auto found = record.find(options_.metric());
  if (found == record.end() || !(found->is_number() || found->is_null())) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : record.items())
      if (value.is_number()) keys.push_back(key);
    throw std::invalid_argument(fmt::format("the metric \"{}\" is not in the epoch's record (it has: {})",
                                            options_.metric(), fmt::join(keys, ", ")));
  }
  // An undefined metric (null, NaN) never counts as an improvement.
  const double value = found->is_number() ? found->get<double>() : std::nan("");
  const bool improved = std::isfinite(value) && (!best_ || (higher_ ? value > *best_ + options_.min_delta()
                                                                     : value < *best_ - options_.min_delta()));
  if (improved) {
    best_ = value;
    waiting_ = 0;
  } else {
    ++waiting_;
  }
  return improved;
}

nlohmann::json MetricWatch::state() const {
  return {{"best", best_ ? nlohmann::json(*best_) : nlohmann::json()}, {"waiting", waiting_}};
}

void MetricWatch::load_state(const nlohmann::json& state) {
  if (!state.is_object()) return;
  best_ = state.value("best", nlohmann::json()).is_number() ? std::optional<double>(state.at("best").get<double>())
                                                             : std::nullopt;
  waiting_ = state.value("waiting", int64_t(0));
}

}  // namespace cohort::trainer
