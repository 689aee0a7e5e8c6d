#include "cohort/strategies/registry.h"

#include "cohort/runtime/device.h"
#include "cohort/strategies/single.h"

namespace cohort::strategies {

StrategyRegistry& strategy_registry() {
  static StrategyRegistry registry = [] {
    StrategyRegistry built("strategy");
    built.add("single",
              config::Schema().string("device", "auto",
                                      "auto (cuda:<local rank> when there is a GPU, else cpu), cpu, cuda or cuda:N"),
              [](const config::Json& options) {
                torch::Device device(torch::kCPU);
                try {
                  device = runtime::parse_device(options.at("device").get<std::string>());
                } catch (const InputError& error) {
                  throw InputError(std::string("\"strategy.device\": ") + error.what());
                }
                return std::shared_ptr<Strategy>(std::make_shared<Single>(SingleOptions().device(device)));
              });
    return built;
  }();
  return registry;
}

}  // namespace cohort::strategies
