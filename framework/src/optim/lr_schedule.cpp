#include "cohort/optim/lr_schedule.h"

#include <cmath>

namespace cohort::optim {

LrSchedule::LrSchedule(LrScheduleOptions options, std::vector<double> base_rates)
    : options_(options), base_rates_(std::move(base_rates)) {}

double LrSchedule::factor(int64_t step, int64_t steps_per_epoch, int64_t total_steps) const {
  if (options_.function()) return options_.function()(step, total_steps);
  const int64_t warmup = options_.warmup_steps();
  if (step < warmup) return double(step + 1) / double(warmup);
  switch (options_.kind()) {
    case LrScheduleKind::kConstant: return 1.0;
    case LrScheduleKind::kStep: {
      const int64_t epoch = step / std::max<int64_t>(steps_per_epoch, 1);
      return std::pow(options_.gamma(), double(epoch / options_.step_epochs()));
    }
    case LrScheduleKind::kCosine: {
      // The last step (total_steps - 1) runs at exactly min_factor.
      const double span = double(std::max<int64_t>(total_steps - warmup - 1, 1));
      const double progress = std::min(1.0, double(step - warmup) / span);
      const double low = options_.min_factor();
      return low + (1.0 - low) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
  }
  return 1.0;
}

double LrSchedule::apply(torch::optim::Optimizer& optimizer, int64_t step, int64_t steps_per_epoch,
                         int64_t total_steps, double scale) const {
  const double f = factor(step, steps_per_epoch, total_steps) * scale;
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size() && i < base_rates_.size(); ++i) groups[i].options().set_lr(base_rates_[i] * f);
  return base_rates_.empty() ? 0.0 : base_rates_[0] * f;
}

LrScheduleRegistry& lr_schedule_registry() {
  using config::Json;
  using config::Range;
  using config::Schema;
  static LrScheduleRegistry registry = [] {
    const LrScheduleOptions defaults;
    auto warmup = [&](Schema schema) {
      return schema.integer("warmup_steps", defaults.warmup_steps(),
                            "steps of linear warm-up from base/warmup_steps to the base rate", Range::at_least(0));
    };
    auto with_warmup = [](LrScheduleOptions options, const Json& json) {
      return options.warmup_steps(json.at("warmup_steps").get<int64_t>());
    };
    LrScheduleRegistry built("learning-rate schedule");
    built.add("constant", warmup(Schema()), [with_warmup](const Json& json) {
      return with_warmup(LrScheduleOptions().kind(LrScheduleKind::kConstant), json);
    });
    built.add("step",
              warmup(Schema()
                         .integer("step_epochs", defaults.step_epochs(), "epochs between decays", Range::at_least(1))
                         .number("gamma", defaults.gamma(), "factor applied at each decay", Range::positive())),
              [with_warmup](const Json& json) {
                return with_warmup(LrScheduleOptions()
                                       .kind(LrScheduleKind::kStep)
                                       .step_epochs(json.at("step_epochs").get<int64_t>())
                                       .gamma(json.at("gamma").get<double>()),
                                   json);
              });
    built.add("cosine",
              warmup(Schema().number("min_factor", defaults.min_factor(),
                                     "final rate as a fraction of the base rate", Range::between(0, 1))),
              [with_warmup](const Json& json) {
                return with_warmup(LrScheduleOptions()
                                       .kind(LrScheduleKind::kCosine)
                                       .min_factor(json.at("min_factor").get<double>()),
                                   json);
              });
    return built;
  }();
  return registry;
}

}  // namespace cohort::optim
