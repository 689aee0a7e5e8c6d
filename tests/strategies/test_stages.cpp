#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/models/cnn.h"
#include "cohort/models/mlp.h"
#include "cohort/models/staged.h"
#include "cohort/strategies/stages.h"

using cohort::strategies::balance_stages;
using cohort::strategies::split_stages;
using Catch::Matchers::Contains;
using Balance = std::vector<int64_t>;

namespace {

/// The Fashion-MNIST MLP's layers: Flatten, Linear 784-256, ReLU, Linear 256-256, ReLU, Linear 256-10.
torch::nn::Sequential fashion_mnist_mlp_layers() {
  return cohort::models::layers_of(
      torch::nn::AnyModule(cohort::models::Mlp(cohort::models::MlpOptions(784, 10).hidden({256, 256}))));
}

}  // namespace

TEST_CASE("a balance list is checked and kept", "[stages]") {
  const auto layers = fashion_mnist_mlp_layers();
  REQUIRE(layers->size() == 6);
  CHECK(balance_stages(layers, 2, {1, 5}) == Balance{1, 5});
  CHECK(balance_stages(layers, 3, {2, 2, 2}) == Balance{2, 2, 2});
  CHECK_THROWS_AS(balance_stages(layers, 2, {2, 3}), cohort::InputError);
  CHECK_THROWS_WITH(balance_stages(layers, 2, {2, 3}), Contains("\"strategy.balance\"") && Contains("adds up to 5"));
  CHECK_THROWS_WITH(balance_stages(layers, 2, {6}), Contains("\"strategy.balance\""));
  CHECK_THROWS_WITH(balance_stages(layers, 2, {0, 6}), Contains("\"strategy.balance\""));
}

TEST_CASE("stages are balanced by parameter count", "[stages]") {
  // 200,960 parameters in the first Linear against 65,792 + 2,570 behind it:
  // the first stage can hold nothing but Flatten and that Linear.
  CHECK(balance_stages(fashion_mnist_mlp_layers(), 2) == Balance{2, 4});
  // 110, 110, 110 and 330 parameters: three small layers against one large one.
  torch::nn::Sequential linears(torch::nn::Linear(10, 10), torch::nn::Linear(10, 10), torch::nn::Linear(10, 10),
                                torch::nn::Linear(10, 30));
  CHECK(balance_stages(linears, 2) == Balance{3, 1});
  CHECK(balance_stages(linears, 4) == Balance{1, 1, 1, 1});
  // Layers without parameters count as one each, so they spread evenly.
  torch::nn::Sequential activations(torch::nn::ReLU{}, torch::nn::ReLU{}, torch::nn::ReLU{}, torch::nn::ReLU{});
  CHECK(balance_stages(activations, 2) == Balance{2, 2});
  // The CNN implements Staged too.
  const auto cnn = cohort::models::layers_of(
      torch::nn::AnyModule(cohort::models::Cnn(cohort::models::CnnOptions({1, 28, 28}, 10))));
  const auto cnn_balance = balance_stages(cnn, 2);
  CHECK(cnn_balance[0] + cnn_balance[1] == static_cast<int64_t>(cnn->size()));
}

TEST_CASE("too few layers for the stages are refused", "[stages]") {
  torch::nn::Sequential three(torch::nn::Linear(4, 4), torch::nn::ReLU(), torch::nn::Linear(4, 2));
  CHECK_THROWS_AS(balance_stages(three, 4), cohort::InputError);
  CHECK_THROWS_WITH(balance_stages(three, 4), Contains("3 layers, too few for 4 stages"));
  CHECK_THROWS_AS(balance_stages(three, 0), cohort::InputError);
}

TEST_CASE("split_stages shares the layer modules, in order", "[stages]") {
  auto layers = fashion_mnist_mlp_layers();
  auto stages = split_stages(layers, {2, 3, 1});
  REQUIRE(stages.size() == 3);
  size_t next = 0;
  for (size_t stage = 0; stage < stages.size(); ++stage)
    for (size_t i = 0; i < stages[stage]->size(); ++i) CHECK(stages[stage]->ptr(i) == layers->ptr(next++));
  CHECK(next == layers->size());
  // Run one after another, the stages compute what the whole model computes.
  torch::manual_seed(9);
  const auto input = torch::randn({4, 1, 28, 28});
  auto activation = input;
  for (auto& stage : stages) activation = stage->forward(activation);
  CHECK(torch::allclose(activation, layers->forward(input)));
  CHECK_THROWS_WITH(split_stages(layers, {2, 2}), Contains("\"strategy.balance\""));
}
