#include "cohort/models/registry.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/models/cnn.h"
#include "cohort/models/mlp.h"

namespace cohort::models {
namespace {

using config::Json;
using config::Range;
using config::Schema;

std::vector<int64_t> ints(const Json& value) { return value.get<std::vector<int64_t>>(); }

/// The keys every built-in model has for building it for other data than the
/// job's (e.g. to load weights trained elsewhere); the job's pre-flight check
/// refuses one that does not fit the data.
Schema with_shape_keys(Schema schema) {
  return schema
      .integer_list("input_shape", {}, "the input shape one example has ([] = the data's sample_shape)",
                    Range::at_least(1))
      .integer("num_classes", 0, "outputs of the last layer (0 = the data's number of classes)", Range::at_least(0));
}

/// `inputs` with the model's own input_shape and num_classes where it sets them.
ModelInputs built_for(const Json& options, ModelInputs inputs) {
  if (!options["input_shape"].empty()) inputs.sample_shape = ints(options["input_shape"]);
  if (const auto classes = options["num_classes"].get<int64_t>(); classes > 0) inputs.num_classes = classes;
  return inputs;
}

void register_mlp(ModelRegistry& registry) {
  const MlpOptions defaults(1, 1);
  registry.add("mlp",
               with_shape_keys(Schema()
                   .integer_list("hidden", defaults.hidden(), "width of each hidden layer, input side first",
                                 Range::at_least(1))
                   .number("dropout", defaults.dropout(), "dropout probability after each hidden layer",
                           Range::fraction())),
               [](const Json& options, const ModelInputs& data_inputs) {
                 const auto inputs = built_for(options, data_inputs);
                 int64_t features = 1;
                 for (const auto size : inputs.sample_shape) features *= size;
                 return torch::nn::AnyModule(Mlp(MlpOptions(features, inputs.num_classes)
                                                     .hidden(ints(options["hidden"]))
                                                     .dropout(options["dropout"].get<double>())));
               });
}

void register_cnn(ModelRegistry& registry) {
  const CnnOptions defaults({1, 1, 1}, 1);
  registry.add("cnn",
               with_shape_keys(Schema()
                   .integer_list("channels", defaults.channels(),
                                 "output channels of each 3x3 conv + ReLU + 2x2 max-pool block", Range::at_least(1))
                   .integer("hidden", defaults.hidden(), "width of the fully connected layer", Range::at_least(1))
                   .number("dropout", defaults.dropout(), "dropout probability before the classifier",
                           Range::fraction())),
               [](const Json& options, const ModelInputs& data_inputs) {
                 const auto inputs = built_for(options, data_inputs);
                 if (inputs.sample_shape.size() != 3)
                   throw InputError(fmt::format("\"model.name\" is \"cnn\", which needs image inputs "
                                                "{{channels, height, width}}, but the data has {}-dimensional "
                                                "examples.",
                                                inputs.sample_shape.size()));
                 const auto channels = ints(options["channels"]);
                 const int64_t shrink = int64_t(1) << channels.size();
                 if (inputs.sample_shape[1] < shrink || inputs.sample_shape[2] < shrink)
                   throw InputError(fmt::format("\"model.channels\" has {} blocks, each halving the image, but "
                                                "the images are only {}x{}.",
                                                channels.size(), inputs.sample_shape[1], inputs.sample_shape[2]));
                 return torch::nn::AnyModule(Cnn(CnnOptions(inputs.sample_shape, inputs.num_classes)
                                                     .channels(channels)
                                                     .hidden(options["hidden"].get<int64_t>())
                                                     .dropout(options["dropout"].get<double>())));
               });
}

}  // namespace

ModelRegistry& model_registry() {
  static ModelRegistry registry = [] {
    ModelRegistry built("model");
    register_mlp(built);
    register_cnn(built);
    return built;
  }();
  return registry;
}

}  // namespace cohort::models
