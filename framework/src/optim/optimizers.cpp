#include "cohort/optim/optimizers.h"

#include <torch/torch.h>

namespace cohort::optim {
namespace {

using config::Json;
using config::Range;
using config::Schema;

double number(const Json& options, const char* key) { return options.at(key).get<double>(); }

/// The keys Adam and AdamW share; only the default weight decay differs.
Schema adam_schema(double default_weight_decay) {
  const torch::optim::AdamOptions defaults;
  return Schema()
      .number("lr", defaults.lr(), "learning rate", Range::positive())
      .number("beta1", std::get<0>(defaults.betas()), "decay of the running mean of gradients", Range::fraction())
      .number("beta2", std::get<1>(defaults.betas()), "decay of the running mean of squared gradients",
              Range::fraction())
      .number("eps", defaults.eps(), "added to the denominator for stability", Range::positive())
      .number("weight_decay", default_weight_decay, "weight decay", Range::at_least(0))
      .boolean("amsgrad", defaults.amsgrad(), "use the AMSGrad variant");
}

template <typename Options>
Options adam_options(const Json& options) {
  return Options(number(options, "lr"))
      .betas({number(options, "beta1"), number(options, "beta2")})
      .eps(number(options, "eps"))
      .weight_decay(number(options, "weight_decay"))
      .amsgrad(options.at("amsgrad").get<bool>());
}

}  // namespace

OptimizerRegistry& optimizer_registry() {
  static OptimizerRegistry registry = [] {
    OptimizerRegistry built("optimizer");
    const torch::optim::SGDOptions sgd(0.1);
    built.add("sgd",
              Schema()
                  .number("lr", sgd.lr(), "learning rate", Range::positive())
                  .number("momentum", sgd.momentum(), "momentum factor", Range::fraction())
                  .number("dampening", sgd.dampening(), "dampening of momentum", Range::between(0, 1))
                  .boolean("nesterov", sgd.nesterov(), "Nesterov momentum (needs momentum > 0 and dampening 0)")
                  .number("weight_decay", sgd.weight_decay(), "L2 penalty", Range::at_least(0)),
              [](const Json& options, std::vector<torch::Tensor> parameters) {
                if (options.at("nesterov").get<bool>() &&
                    (number(options, "momentum") <= 0 || number(options, "dampening") != 0))
                  throw InputError("\"optimizer.nesterov\" needs \"optimizer.momentum\" above 0 and "
                                   "\"optimizer.dampening\" 0.");
                return std::shared_ptr<torch::optim::Optimizer>(std::make_shared<torch::optim::SGD>(
                    std::move(parameters), torch::optim::SGDOptions(number(options, "lr"))
                                               .momentum(number(options, "momentum"))
                                               .dampening(number(options, "dampening"))
                                               .nesterov(options.at("nesterov").get<bool>())
                                               .weight_decay(number(options, "weight_decay"))));
              });
    built.add("adam", adam_schema(torch::optim::AdamOptions().weight_decay()),
              [](const Json& options, std::vector<torch::Tensor> parameters) {
                return std::shared_ptr<torch::optim::Optimizer>(std::make_shared<torch::optim::Adam>(
                    std::move(parameters), adam_options<torch::optim::AdamOptions>(options)));
              });
    built.add("adamw", adam_schema(torch::optim::AdamWOptions().weight_decay()),
              [](const Json& options, std::vector<torch::Tensor> parameters) {
                return std::shared_ptr<torch::optim::Optimizer>(std::make_shared<torch::optim::AdamW>(
                    std::move(parameters), adam_options<torch::optim::AdamWOptions>(options)));
              });
    return built;
  }();
  return registry;
}

std::vector<double> learning_rates(const torch::optim::Optimizer& optimizer) {
  std::vector<double> rates;
  for (const auto& group : optimizer.param_groups()) rates.push_back(group.options().get_lr());
  return rates;
}

}  // namespace cohort::optim
