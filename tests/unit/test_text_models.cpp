// Text models (issue 15): the bag layout of padded batches, and embedding_bag,
// lstm, gru and transformer on padded token ids: shapes, padding that never
// changes a result, an all-<unk> text, gradients, learning, the registry,
// and the layers model_parallel and pipeline cut.
#include <catch2/catch.hpp>

#include <functional>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/data/data_loader.h"
#include "cohort/models/embedding_bag.h"
#include "cohort/models/recurrent.h"
#include "cohort/models/registry.h"
#include "cohort/models/shape_error.h"
#include "cohort/models/staged.h"
#include "cohort/models/summary.h"
#include "cohort/models/transformer.h"
#include "cohort/strategies/data_parallel/data_parallel.h"
#include "cohort/strategies/model_parallel/model_parallel.h"
#include "cohort/strategies/single.h"
#include "cohort/text/bag.h"
#include "cohort/trainer/trainer.h"
#include "unit/helpers.h"

using Catch::Matchers::Contains;
namespace models = cohort::models;
namespace text = cohort::text;

namespace {

constexpr int64_t kUnk = 0, kPad = 1, kVocab = 24, kClasses = 3;

/// Texts (lists of ids) padded with kPad to `width` (at least the longest).
std::pair<torch::Tensor, torch::Tensor> padded(const std::vector<std::vector<int64_t>>& texts, int64_t width = 0) {
  for (const auto& ids : texts) width = std::max<int64_t>(width, int64_t(ids.size()));
  auto tokens = torch::full({int64_t(texts.size()), width}, kPad, torch::kInt64);
  auto lengths = torch::empty({int64_t(texts.size())}, torch::kInt64);
  for (size_t i = 0; i < texts.size(); ++i) {
    for (size_t j = 0; j < texts[i].size(); ++j) tokens[int64_t(i)][int64_t(j)] = texts[i][j];
    lengths[int64_t(i)] = int64_t(texts[i].size());
  }
  return {tokens, lengths};
}

const std::vector<std::vector<int64_t>> kTexts = {{5, 6, 7}, {9}, {3, 4, 12, 20, 8, 2}, {kUnk, 15}};

struct TextModel {
  std::string name;
  std::function<torch::nn::AnyModule()> build;
};

/// Every text model, built with seed 0 (dropout on, so eval mode matters).
std::vector<TextModel> text_models() {
  const auto seeded = [](auto make) {
    return [make] {
      torch::manual_seed(0);
      return torch::nn::AnyModule(make());
    };
  };
  return {
      {"embedding_bag", seeded([] {
         return models::EmbeddingBagClassifier(
             models::EmbeddingBagClassifierOptions(kVocab, kClasses).embedding_dim(8).dropout(0.2));
       })},
      {"lstm", seeded([] {
         return models::RecurrentClassifier(
             models::RecurrentClassifierOptions(kVocab, kClasses).embedding_dim(8).hidden(6).layers(2).dropout(0.2));
       })},
      {"lstm bidirectional", seeded([] {
         return models::RecurrentClassifier(
             models::RecurrentClassifierOptions(kVocab, kClasses).embedding_dim(8).hidden(6).bidirectional(true));
       })},
      {"gru bidirectional", seeded([] {
         return models::RecurrentClassifier(models::RecurrentClassifierOptions(kVocab, kClasses)
                                                .cell(models::RecurrentCell::kGru)
                                                .embedding_dim(8)
                                                .hidden(6)
                                                .layers(2)
                                                .bidirectional(true));
       })},
      {"transformer", seeded([] {
         return models::TransformerClassifier(models::TransformerClassifierOptions(kVocab, kClasses)
                                                  .embedding_dim(8)
                                                  .heads(2)
                                                  .feedforward(16)
                                                  .max_length(32));
       })},
  };
}

torch::Tensor logits(torch::nn::AnyModule& model, const std::pair<torch::Tensor, torch::Tensor>& batch) {
  torch::NoGradGuard no_grad;
  return model.forward(batch.first, batch.second);
}

/// Two separable classes: words 2..10 against words 11..19, 3 to 8 words each.
std::pair<std::pair<torch::Tensor, torch::Tensor>, torch::Tensor> separable(int64_t n) {
  torch::manual_seed(7);
  std::vector<std::vector<int64_t>> texts;
  auto targets = torch::randint(0, 2, {n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const auto length = torch::randint(3, 9, {1}).item<int64_t>();
    const auto first = targets[i].item<int64_t>() == 0 ? 2 : 11;
    const auto words = torch::randint(first, first + 9, {length}, torch::kInt64);
    texts.emplace_back(words.data_ptr<int64_t>(), words.data_ptr<int64_t>() + length);
  }
  return {padded(texts), targets};
}

}  // namespace

TEST_CASE("to_bag keeps each text's own ids, in order, and where each starts", "[text][bag]") {
  const auto tokens = torch::tensor({5, 6, 1, 1, 7, 9, 9, 9, 8, 3, 4, 2, 1, 1, 1, 1}, torch::kInt64).view({4, 4});
  const auto bag = text::to_bag(tokens, torch::tensor({2, 1, 4, 0}, torch::kInt64));
  CHECK(torch::equal(bag.ids, torch::tensor({5, 6, 7, 8, 3, 4, 2}, torch::kInt64)));
  // The last text is empty: its bag starts where the ids end.
  CHECK(torch::equal(bag.offsets, torch::tensor({0, 2, 3, 7}, torch::kInt64)));

  CHECK_THROWS_WITH(text::to_bag(tokens, torch::tensor({2, 1, 5, 0}, torch::kInt64)),
                    Contains("lengths must be within 0..4 (the padded length), not 0..5"));
  CHECK_THROWS_WITH(text::to_bag(tokens, torch::tensor({2, 1}, torch::kInt64)),
                    Contains("token ids must be [N, L] and lengths [N], not [4, 4] and [2]"));
}

TEST_CASE("lengths come from the pad id when a batch has none", "[text][bag]") {
  const auto batch = padded(kTexts, 9);
  CHECK(torch::equal(text::lengths_or_count(batch.first, {}, kPad), batch.second));
  CHECK(torch::equal(text::lengths_or_count(batch.first, batch.second + 0, kPad), batch.second));
  // No pad id: every position counts; a row of padding alone counts as one.
  CHECK(torch::equal(text::lengths_or_count(batch.first, {}, -1), torch::full({4}, 9, torch::kInt64)));
  CHECK(text::lengths_or_count(torch::full({1, 3}, kPad, torch::kInt64), {}, kPad).item<int64_t>() == 1);
}

TEST_CASE("text models give one logit per class and text", "[text][models]") {
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    CHECK(model.forward(padded(kTexts).first, padded(kTexts).second).sizes() == torch::IntArrayRef({4, kClasses}));
  }
}

TEST_CASE("padding never changes a text model's output", "[text][models]") {
  const auto tight = padded(kTexts);
  auto longer = kTexts;
  longer.push_back({2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});  // a longer text in the same batch
  const auto wide = padded(longer, 20);
  // Garbage (not the pad id) past each length: the lengths alone say where a text ends.
  auto garbage = wide;
  garbage.first = wide.first.clone();
  const auto past_end = torch::arange(20).unsqueeze(0) >= wide.second.unsqueeze(1);
  garbage.first.masked_fill_(past_end, 17);
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    model.ptr()->eval();
    const auto expected = logits(model, tight);
    CHECK(torch::allclose(logits(model, wide).narrow(0, 0, 4), expected, /*rtol=*/0, /*atol=*/1e-6));
    CHECK(torch::allclose(logits(model, garbage).narrow(0, 0, 4), expected, 0, 1e-6));
    // Each text alone, unpadded, in a batch of one.
    for (size_t i = 0; i < kTexts.size(); ++i)
      CHECK(torch::allclose(logits(model, padded({kTexts[i]})), expected.narrow(0, int64_t(i), 1), 0, 1e-6));
    // Without lengths, a text ends at its first pad id.
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(model.forward(wide.first).narrow(0, 0, 4), expected, 0, 1e-6));
  }
}

TEST_CASE("a text of one <unk> gets a defined output", "[text][models]") {
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    model.ptr()->eval();
    const auto output = logits(model, padded({{kUnk}, {kUnk, kUnk}}));
    CHECK(output.sizes() == torch::IntArrayRef({2, kClasses}));
    CHECK(output.isfinite().all().item<bool>());
  }
}

TEST_CASE("gradients reach every layer of a text model", "[text][models]") {
  const auto batch = padded(kTexts);
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    torch::nn::functional::cross_entropy(model.forward(batch.first, batch.second),
                                         torch::tensor({0, 1, 2, 1}, torch::kInt64))
        .backward();
    for (const auto& parameter : model.ptr()->named_parameters()) {
      INFO(parameter.key());
      REQUIRE(parameter.value().grad().defined());
      CHECK(parameter.value().grad().abs().sum().item<double>() > 0);
    }
  }
}

TEST_CASE("text models learn a separable problem", "[text][models]") {
  const auto [batch, targets] = separable(64);
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    torch::optim::Adam optimizer(model.ptr()->parameters(), torch::optim::AdamOptions(0.02));
    const auto loss_now = [&] {
      return torch::nn::functional::cross_entropy(model.forward(batch.first, batch.second), targets);
    };
    const auto first = loss_now().item<double>();
    for (int step = 0; step < 30; ++step) {
      optimizer.zero_grad();
      loss_now().backward();
      optimizer.step();
    }
    model.ptr()->eval();
    CHECK(loss_now().item<double>() < 0.3 * first);
  }
}

TEST_CASE("a bidirectional lstm classifies from both directions' last states", "[text][models]") {
  torch::manual_seed(0);
  models::RecurrentEncoder encoder(
      models::RecurrentClassifierOptions(kVocab, kClasses).embedding_dim(8).hidden(6).bidirectional(true));
  const auto batch = padded(kTexts, 10);
  const auto features = encoder->forward(batch.first, batch.second);
  REQUIRE(features.sizes() == torch::IntArrayRef({4, 12}));
  // The forward half is the last valid step of the forward direction, the
  // backward half the backward direction at the first token; checked against
  // a plain (unpacked) run of the same network on text 2 alone.
  auto lstm = encoder->named_modules()["lstm"]->as<torch::nn::LSTM>();
  auto embedding = encoder->named_modules()["embedding"]->as<torch::nn::Embedding>();
  const auto alone = padded({kTexts[2]}).first;
  const auto outputs = std::get<0>(lstm->forward(embedding->forward(alone)));  // [1, 6, 12]
  CHECK(torch::allclose(features[2].narrow(0, 0, 6), outputs[0][5].narrow(0, 0, 6), 0, 1e-6));
  CHECK(torch::allclose(features[2].narrow(0, 6, 6), outputs[0][0].narrow(0, 6, 6), 0, 1e-6));
}

TEST_CASE("the registry builds each text model from its config keys", "[text][models][registry]") {
  models::ModelInputs inputs;
  inputs.vocab_size = kVocab;
  inputs.num_classes = kClasses;
  inputs.pad_index = kPad;
  const auto schemas = models::model_registry().schemas();
  const auto build = [&](const cohort::config::Json& options) {
    const auto name = options.at("name").get<std::string>();
    auto keys = options;
    keys.erase("name");
    auto validated = schemas.at(name).validate(keys, "test.json", "model");
    validated["name"] = name;
    return models::model_registry().create(validated, inputs);
  };
  const auto batch = padded(kTexts);
  auto bag = build({{"name", "embedding_bag"}, {"embedding_dim", 5}, {"num_classes", 7}});
  CHECK(bag.forward(batch.first, batch.second).sizes() == torch::IntArrayRef({4, 7}));
  CHECK(bag.get<models::EmbeddingBagClassifier>()->options.embedding_dim() == 5);

  auto lstm = build({{"name", "lstm"}, {"hidden", 4}, {"layers", 2}, {"bidirectional", true}, {"dropout", 0.5}});
  const auto& lstm_options = lstm.get<models::RecurrentClassifier>()->options;
  CHECK(lstm_options.cell() == models::RecurrentCell::kLstm);
  CHECK(lstm_options.features() == 8);
  CHECK(lstm_options.layers() == 2);
  CHECK(lstm_options.pad_index() == kPad);
  CHECK(lstm.forward(batch.first, batch.second).sizes() == torch::IntArrayRef({4, kClasses}));

  auto gru = build({{"name", "gru"}, {"embedding_dim", 6}});
  CHECK(gru.get<models::RecurrentClassifier>()->options.cell() == models::RecurrentCell::kGru);
  CHECK(gru.forward(batch.first, batch.second).sizes() == torch::IntArrayRef({4, kClasses}));

  auto transformer = build({{"name", "transformer"}, {"embedding_dim", 12}, {"heads", 3}, {"max_length", 4}});
  CHECK(transformer.get<models::TransformerClassifier>()->options.heads() == 3);
  // Text 2 has 6 tokens: cut to max_length, not an error.
  CHECK(transformer.forward(batch.first, batch.second).sizes() == torch::IntArrayRef({4, kClasses}));
  CHECK_THROWS_WITH(build({{"name", "transformer"}, {"embedding_dim", 10}, {"heads", 3}}),
                    "\"model.embedding_dim\" (10) must be a multiple of \"model.heads\" (3): each head attends over an "
                    "equal share of it.");
}

TEST_CASE("a text model refuses data that is not text", "[text][models][registry]") {
  models::ModelInputs images;
  images.sample_shape = {1, 28, 28};
  images.num_classes = 10;
  for (const auto* name : {"embedding_bag", "lstm", "gru", "transformer"}) {
    INFO(name);
    const auto options = models::model_registry().schemas().at(name).validate(cohort::config::Json::object(), "t");
    auto named = options;
    named["name"] = name;
    CHECK_THROWS_AS(models::model_registry().create(named, images), cohort::InputError);
    CHECK_THROWS_WITH(models::model_registry().create(named, images),
                      "\"model.name\" is \"" + std::string(name) +
                          "\", a text model, but the data is not text (it has no vocabulary): use a text dataset "
                          "such as text_csv.");
  }
}

TEST_CASE("a text model's layers, run in order on the token ids, are the model", "[text][models][staged]") {
  const auto batch = padded(kTexts, 9);
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    model.ptr()->eval();
    auto layers = models::layers_of(model);
    CHECK(layers->parameters().size() == model.ptr()->parameters().size());
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(layers->forward(batch.first), model.forward(batch.first, batch.second), 0, 1e-6));
    // The summary follows them layer by layer.
    const auto report = models::summary(model, batch.first);
    CHECK(report.by_layer);
    CHECK(report.rows.back().output_shape == std::vector<int64_t>{4, kClasses});
  }
}

namespace {

/// The parameters of `model` after an epoch of the separable problem under
/// `strategy`, the model given the batch tensors `inputs`.
torch::Tensor trained_under(torch::nn::AnyModule model, std::shared_ptr<cohort::strategy::Strategy> strategy,
                            std::vector<std::string> inputs) {
  const auto [batch, targets] = separable(48);
  const auto data = std::make_shared<cohort::data::TensorDataset>(
      std::map<std::string, torch::Tensor>{{"input", batch.first}, {"lengths", batch.second}, {"target", targets}},
      2);
  auto optimizer = std::make_shared<torch::optim::SGD>(model.ptr()->parameters(), torch::optim::SGDOptions(0.1));
  cohort::trainer::Trainer trainer(model, optimizer,
                                   cohort::trainer::TrainerOptions()
                                       .epochs(1)
                                       .progress(cohort::trainer::ProgressStyle::kNone)
                                       .checkpoint_every(0)
                                       .strategy(std::move(strategy))
                                       .task(cohort::task::Task().inputs(std::move(inputs))));
  trainer.fit(cohort::data::DataLoader(data, cohort::data::DataLoaderOptions().batch_size(16).seed(2)));
  return cohort::testing::flat_parameters(*model.ptr());
}

}  // namespace

TEST_CASE("model_parallel cuts a text model and passes it the token ids alone", "[text][models][staged]") {
  using cohort::strategies::ModelParallel;
  using cohort::strategies::ModelParallelOptions;
  for (auto& entry : text_models()) {
    INFO(entry.name);
    const auto reference = trained_under(entry.build(), std::make_shared<cohort::strategies::Single>(),
                                         {"input", "lengths"});
    // Two stages on the CPU: the encoder, then dropout and the classifier.
    // Dropout draws from the one CPU generator in the same order either way.
    const auto cut = trained_under(entry.build(),
                                   std::make_shared<ModelParallel>(ModelParallelOptions().balance({1, 2})), {"input"});
    CHECK(torch::allclose(cut, reference, 1e-5, 1e-5));
  }
  auto model = text_models().front().build();
  CHECK_THROWS_WITH(trained_under(model, std::make_shared<ModelParallel>(), {"input", "lengths"}),
                    Contains("the model_parallel strategy passes one tensor from stage to stage"));
}

TEST_CASE("an id outside the vocabulary is blamed on the text model's first layer", "[text][models]") {
  for (auto& entry : text_models()) {
    INFO(entry.name);
    auto model = entry.build();
    const auto tokens = torch::tensor({{int64_t{3}, kVocab + 6}}, torch::kInt64);
    std::string message;
    try {
      model.forward(tokens, torch::tensor({2}, torch::kInt64));
    } catch (const c10::Error& error) {
      message = error.what_without_backtrace();
    }
    REQUIRE_FALSE(message.empty());
    const auto type = models::short_type_name(*models::layers_of(model)->ptr(0));
    CHECK_THAT(models::describe_forward_error(model, tokens, message),
               Contains("the model's layer \"" + model.ptr()->named_children().front().key() + "\" (" + type +
                        ") fails on the model's input of shape [1, 2]"));
  }
}

TEST_CASE("data_parallel replicates a text model and cuts its padded batches", "[text][models]") {
  // Models without dropout: replicas draw their masks in another order.
  const auto bag_without_dropout = [] {
    torch::manual_seed(0);
    return torch::nn::AnyModule(
        models::EmbeddingBagClassifier(models::EmbeddingBagClassifierOptions(kVocab, kClasses).embedding_dim(8)));
  };
  std::vector<TextModel> replicable{{"embedding_bag", bag_without_dropout}};
  for (auto& entry : text_models())
    if (entry.name.find("bidirectional") != std::string::npos) replicable.push_back(entry);
  for (auto& entry : replicable) {
    INFO(entry.name);
    const std::vector<std::string> inputs{"input", "lengths"};
    const auto reference = trained_under(entry.build(), std::make_shared<cohort::strategies::Single>(), inputs);
    const auto replicated = trained_under(entry.build(), std::make_shared<cohort::strategies::DataParallel>(), inputs);
    CHECK(torch::allclose(replicated, reference, 1e-5, 1e-5));
  }
}
