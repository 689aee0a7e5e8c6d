#include "cohort/models/registry.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/models/cnn.h"
#include "cohort/models/embedding_bag.h"
#include "cohort/models/mlp.h"
#include "cohort/models/recurrent.h"
#include "cohort/models/transformer.h"

namespace cohort::models {
namespace {

using config::Json;
using config::Range;
using config::Schema;

std::vector<int64_t> ints(const Json& value) { return value.get<std::vector<int64_t>>(); }

/// The keys every built-in model has for building it for other data than the
/// job's (e.g. to load weights trained elsewhere); the job's pre-flight check
/// refuses one that does not fit the data.
Schema with_classes_key(Schema schema) {
  return schema.integer("num_classes", 0, "outputs of the last layer (0 = the data's number of classes)",
                        Range::at_least(0));
}

Schema with_shape_keys(Schema schema) {
  return with_classes_key(schema.integer_list(
      "input_shape", {}, "the input shape one example has ([] = the data's sample_shape)", Range::at_least(1)));
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

/// `inputs` with the model's own num_classes where it sets one, after checking
/// that the data is text (a text model's first layer is a vocabulary lookup).
ModelInputs text_inputs(const std::string& model, const Json& options, ModelInputs inputs) {
  if (inputs.vocab_size <= 0)
    throw InputError(fmt::format("\"model.name\" is \"{}\", a text model, but the data is not text (it has no "
                                 "vocabulary): use a text dataset such as text_csv.",
                                 model));
  if (const auto classes = options["num_classes"].get<int64_t>(); classes > 0) inputs.num_classes = classes;
  return inputs;
}

/// A text model's keys begin with the width of its word embeddings...
Schema embedding_key() {
  return Schema().integer("embedding_dim", 64, "width of the word embeddings", Range::at_least(1));
}

/// ...and end with its dropout and number of outputs.
Schema with_dropout_and_classes(Schema schema, double dropout, const char* dropout_doc) {
  return with_classes_key(schema.number("dropout", dropout, dropout_doc, Range::fraction()));
}

void register_embedding_bag(ModelRegistry& registry) {
  registry.add("embedding_bag",
               with_dropout_and_classes(embedding_key(), 0.0,
                                        "dropout probability on the mean embedding, before the classifier"),
               [](const Json& options, const ModelInputs& data_inputs) {
                 const auto inputs = text_inputs("embedding_bag", options, data_inputs);
                 return torch::nn::AnyModule(EmbeddingBagClassifier(
                     EmbeddingBagClassifierOptions(inputs.vocab_size, inputs.num_classes)
                         .embedding_dim(options["embedding_dim"].get<int64_t>())
                         .dropout(options["dropout"].get<double>())
                         .pad_index(inputs.pad_index)));
               });
}

void register_recurrent(ModelRegistry& registry, const std::string& name, RecurrentCell cell) {
  const RecurrentClassifierOptions defaults(1, 1);
  registry.add(name,
               with_dropout_and_classes(embedding_key()
                   .integer("hidden", defaults.hidden(), "hidden size of each direction", Range::at_least(1))
                   .integer("layers", defaults.layers(), "stacked recurrent layers", Range::at_least(1))
                   .boolean("bidirectional", defaults.bidirectional(),
                            "read each text both ways and classify from both last states"),
                   defaults.dropout(), "dropout probability between recurrent layers and before the classifier"),
               [name, cell](const Json& options, const ModelInputs& data_inputs) {
                 const auto inputs = text_inputs(name, options, data_inputs);
                 return torch::nn::AnyModule(RecurrentClassifier(
                     RecurrentClassifierOptions(inputs.vocab_size, inputs.num_classes)
                         .cell(cell)
                         .embedding_dim(options["embedding_dim"].get<int64_t>())
                         .hidden(options["hidden"].get<int64_t>())
                         .layers(options["layers"].get<int64_t>())
                         .bidirectional(options["bidirectional"].get<bool>())
                         .dropout(options["dropout"].get<double>())
                         .pad_index(inputs.pad_index)));
               });
}

void register_transformer(ModelRegistry& registry) {
  const TransformerClassifierOptions defaults(1, 1);
  registry.add("transformer",
               with_dropout_and_classes(embedding_key()
                   .integer("heads", defaults.heads(), "attention heads of each layer; embedding_dim must be a "
                            "multiple of it", Range::at_least(1))
                   .integer("layers", defaults.layers(), "encoder layers", Range::at_least(1))
                   .integer("feedforward", defaults.feedforward(), "width of each layer's feed-forward block",
                            Range::at_least(1))
                   .integer("max_length", defaults.max_length(),
                            "positions with an embedding; longer texts are cut to their first max_length tokens",
                            Range::at_least(1)),
                   defaults.dropout(), "dropout probability inside the layers and before the classifier"),
               [](const Json& options, const ModelInputs& data_inputs) {
                 const auto inputs = text_inputs("transformer", options, data_inputs);
                 const auto width = options["embedding_dim"].get<int64_t>(), heads = options["heads"].get<int64_t>();
                 if (width % heads != 0)
                   throw InputError(fmt::format("\"model.embedding_dim\" ({}) must be a multiple of \"model.heads\" "
                                                "({}): each head attends over an equal share of it.",
                                                width, heads));
                 return torch::nn::AnyModule(TransformerClassifier(
                     TransformerClassifierOptions(inputs.vocab_size, inputs.num_classes)
                         .embedding_dim(width)
                         .heads(heads)
                         .layers(options["layers"].get<int64_t>())
                         .feedforward(options["feedforward"].get<int64_t>())
                         .max_length(options["max_length"].get<int64_t>())
                         .dropout(options["dropout"].get<double>())
                         .pad_index(inputs.pad_index)));
               });
}

}  // namespace

ModelRegistry& model_registry() {
  static ModelRegistry registry = [] {
    ModelRegistry built("model");
    register_mlp(built);
    register_cnn(built);
    register_embedding_bag(built);
    register_recurrent(built, "lstm", RecurrentCell::kLstm);
    register_recurrent(built, "gru", RecurrentCell::kGru);
    register_transformer(built);
    return built;
  }();
  return registry;
}

}  // namespace cohort::models
