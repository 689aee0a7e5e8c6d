// Errors that say where (issue 16): labels out of range, shape errors naming
// the layer, and the model summary's figures against hand-computed ones.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/data/dataset.h"
#include "cohort/device/cuda_failure.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/memory/oom.h"
#include "cohort/models/cnn.h"
#include "cohort/models/mlp.h"
#include "cohort/models/shape_error.h"
#include "cohort/models/summary.h"
#include "cohort/strategies/model_parallel/model_parallel.h"
#include "cohort/strategies/single.h"
#include "cohort/task/invalid_example.h"

using Catch::Matchers::Contains;
using cohort::models::Cnn;
using cohort::models::CnnOptions;
using cohort::models::Mlp;
using cohort::models::MlpOptions;

namespace {

/// A module whose forward is its own: its layers are unknown.
struct OpaqueImpl : torch::nn::Module {
  OpaqueImpl() : fc(register_module("fc", torch::nn::Linear(6, 2))) {}
  torch::Tensor forward(torch::Tensor x) { return fc->forward(x); }
  torch::nn::Linear fc;
};
TORCH_MODULE(Opaque);

std::vector<int64_t> shape(std::initializer_list<int64_t> sizes) { return sizes; }

}  // namespace

TEST_CASE("a label outside the classes names the source, the example and the value", "[errors]") {
  const auto labels = torch::tensor({0, 3, 9, 10, 2}, torch::kUInt8);
  CHECK_THROWS_WITH(cohort::data::check_class_targets(labels, 10, "labels.gz"),
                    "labels.gz: example 3 has label 10, outside the 10 classes 0..9.");
  CHECK_THROWS_AS(cohort::data::check_class_targets(torch::tensor({-1}), 3, "x"), cohort::InputError);
  CHECK_NOTHROW(cohort::data::check_class_targets(torch::tensor({0, 2}), 3, "x"));
  CHECK_NOTHROW(cohort::data::check_class_targets(torch::tensor({0.5}), 0, "regression"));
}

TEST_CASE("a shape error names the layer, what it expects, what it got and from where", "[errors]") {
  // Built for 32x32 images, given 28x28 ones: the flatten gives 3136 features, not 4096.
  torch::nn::AnyModule cnn(Cnn(CnnOptions({1, 32, 32}, 10)));
  const auto input = torch::zeros({4, 1, 28, 28});
  std::string raw;
  try {
    cnn.forward(input);
  } catch (const c10::Error& error) {
    raw = error.what_without_backtrace();
  }
  REQUIRE_FALSE(raw.empty());
  CHECK(cohort::models::describe_forward_error(cnn, input, raw) ==
        "the model's layer \"classifier.0\" (Linear) expects in_features 4096 but gets [4, 3136] from layer 6 "
        "(Flatten)'s output; build it with in_features 3136 or change the layers before it.");

  torch::nn::AnyModule three_channels(Cnn(CnnOptions({3, 28, 28}, 10)));
  CHECK_THAT(cohort::models::describe_forward_error(three_channels, input, "raw"),
             Contains("layer \"features.0\" (Conv2d) expects in_channels 3 but gets [4, 1, 28, 28] from the "
                      "model's input; build it with in_channels 1"));

  torch::nn::AnyModule opaque(Opaque{});
  CHECK(cohort::models::describe_forward_error(opaque, torch::zeros({4, 5}), "mat1 and mat2\nmore") ==
        "the model (Opaque) fails on an input of shape [4, 5]: mat1 and mat2");
}

TEST_CASE("a mismatch later in training gets the same sentence; other errors pass unchanged", "[errors]") {
  torch::nn::AnyModule cnn(Cnn(CnnOptions({1, 28, 28}, 10)));
  const auto odd = torch::zeros({2, 1, 20, 20});  // e.g. a stray batch of smaller images
  CHECK_THROWS_WITH(cohort::models::explain_shape_errors(
                        cnn, [&] { return odd; }, [&] { return cnn.forward(odd); }),
                    Contains("layer \"classifier.0\" (Linear) expects in_features 3136 but gets [2, 1600]"));
  const auto cuda_failure = [&]() -> torch::Tensor {
    TORCH_CHECK(false, "CUDA error: boom");
    return {};
  };
  CHECK_THROWS_AS(cohort::models::explain_shape_errors(cnn, [&] { return odd; }, cuda_failure), c10::Error);
  CHECK_FALSE(cohort::models::looks_like_shape_error("CUDA error: device-side assert triggered"));
}

TEST_CASE("the summary of the mlp matches hand-computed figures", "[errors][summary]") {
  torch::nn::AnyModule mlp(Mlp(MlpOptions(784, 10).hidden({128}).dropout(0)));
  const auto report = cohort::models::summary(mlp, torch::zeros({4, 1, 28, 28}));
  REQUIRE(report.by_layer);
  REQUIRE(report.rows.size() == 4);  // Flatten, Linear, ReLU, Linear
  CHECK(report.rows[0].type == "Flatten");
  CHECK(report.rows[0].output_shape == shape({4, 784}));
  CHECK(report.rows[1].path == "layers.0");
  CHECK(report.rows[1].type == "Linear");
  CHECK(report.rows[1].trainable == 784 * 128 + 128);
  CHECK(report.rows[1].output_shape == shape({4, 128}));
  CHECK(report.rows[1].activation_bytes == 4 * 128 * 4);
  CHECK(report.rows[3].trainable == 128 * 10 + 10);
  CHECK(report.trainable == 101770);
  CHECK(report.frozen == 0);
  CHECK(report.parameter_bytes == 101770 * 4);
  CHECK(report.activation_bytes == 4 * (784 + 128 + 128 + 10) * 4);
  // Adam: weights, gradients and two moments, plus the activations.
  CHECK(report.step_bytes(2) == 101770 * 4 * 4 + report.activation_bytes);
  CHECK_THAT(report.format(cohort::models::SummaryOptions().optimizer_states(2)), Contains("101,770 trainable"));
}

TEST_CASE("the summary of the cnn matches hand-computed figures and counts frozen parameters", "[errors][summary]") {
  Cnn cnn(CnnOptions({1, 28, 28}, 10).channels({32, 64}).hidden(128).dropout(0.25));
  for (auto& item : cnn->named_parameters())
    if (item.key().rfind("classifier.3.", 0) == 0) item.value().set_requires_grad(false);
  torch::nn::AnyModule model(cnn);
  const auto before = torch::cat({cnn->parameters()[0].flatten(), cnn->parameters()[2].flatten()}).clone();
  const auto report = cohort::models::summary(model, torch::randn({4, 1, 28, 28}));
  REQUIRE(report.rows.size() == 11);
  const std::vector<std::string> paths{"features.0", "features.1", "features.2", "features.3",
                                       "features.4", "features.5", "6",          "classifier.0",
                                       "classifier.1", "classifier.2", "classifier.3"};
  for (size_t i = 0; i < paths.size(); ++i) CHECK(report.rows[i].path == paths[i]);
  CHECK(report.rows[0].type == "Conv2d");
  CHECK(report.rows[0].output_shape == shape({4, 32, 28, 28}));
  CHECK(report.rows[0].trainable == 32 * 1 * 9 + 32);
  CHECK(report.rows[2].output_shape == shape({4, 32, 14, 14}));
  CHECK(report.rows[3].trainable == 64 * 32 * 9 + 64);
  CHECK(report.rows[5].output_shape == shape({4, 64, 7, 7}));
  CHECK(report.rows[6].output_shape == shape({4, 3136}));
  CHECK(report.rows[7].trainable == 3136 * 128 + 128);
  CHECK(report.rows[9].type == "Dropout");
  CHECK(report.rows[10].trainable == 0);
  CHECK(report.rows[10].frozen == 128 * 10 + 10);
  CHECK(report.trainable == 320 + 18496 + 401536);
  CHECK(report.frozen == 1290);
  CHECK(report.trainable_bytes == (320 + 18496 + 401536) * 4);
  // Nothing changed: the weights, training mode and the generator's next draw.
  CHECK(torch::equal(before, torch::cat({cnn->parameters()[0].flatten(), cnn->parameters()[2].flatten()})));
  CHECK(cnn->is_training());
}

TEST_CASE("the summary leaves the RNG where it was", "[errors][summary]") {
  torch::nn::AnyModule model(Cnn(CnnOptions({1, 8, 8}, 3).channels({4}).hidden(8).dropout(0.5)));
  const auto input = torch::randn({2, 1, 8, 8});
  auto generator = at::globalContext().defaultGenerator(torch::kCPU);
  const auto rng = generator.get_state();
  const auto expected = torch::rand({5});
  generator.set_state(rng);
  cohort::models::summary(model, input);
  CHECK(torch::equal(torch::rand({5}), expected));
}

TEST_CASE("a model whose layers are unknown gets its parameters by submodule", "[errors][summary]") {
  torch::nn::AnyModule opaque(Opaque{});
  const auto report = cohort::models::summary(opaque, torch::zeros({4, 6}));
  CHECK_FALSE(report.by_layer);
  REQUIRE(report.rows.size() == 1);
  CHECK(report.rows[0].path == "fc");
  CHECK(report.rows[0].trainable == 14);
  CHECK(report.activation_bytes == 0);
  CHECK_THAT(report.format(), Contains("activations unknown"));
}

TEST_CASE("CUDA failures beyond out-of-memory are recognised, never retried as out-of-memory, and say what to do",
          "[errors]") {
  using cohort::device::cuda_failure_advice;
  const c10::SourceLocation where{"f", "file", 1};
  const c10::Error assert_error(where, "CUDA error: device-side assert triggered\nCUDA kernel errors might be "
                                       "asynchronously reported");
  CHECK_THAT(cuda_failure_advice(assert_error.what_without_backtrace()), Contains("CUDA_LAUNCH_BLOCKING=1"));
  CHECK_FALSE(cohort::memory::is_out_of_memory(assert_error));
  CHECK_THAT(cohort::describe_exception(assert_error),
             Contains("CUDA error: device-side assert triggered: a CUDA kernel found an index out of range"));
  CHECK_THAT(cuda_failure_advice("CUDA error: an illegal memory access was encountered"),
             Contains("outside its memory"));
  CHECK_FALSE(cohort::memory::is_out_of_memory(
      c10::Error(where, "CUDA error: an illegal memory access was encountered (out of memory in a kernel)")));
  CHECK_THAT(cuda_failure_advice("cuDNN error: CUDNN_STATUS_NOT_INITIALIZED"), Contains("cuDNN or cuBLAS"));
  CHECK_THAT(cuda_failure_advice("CUDA error: CUBLAS_STATUS_NOT_INITIALIZED when calling cublasCreate(handle)"),
             Contains("cuDNN or cuBLAS"));
  CHECK_THAT(cuda_failure_advice("CUDA error: unspecified launch failure"), Contains("GPU was lost"));
  // Out-of-memory and shape errors are none of these.
  CHECK(cuda_failure_advice("CUDA out of memory. Tried to allocate 2.00 GiB").empty());
  CHECK(cuda_failure_advice("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate").empty());
  CHECK(cohort::memory::is_out_of_memory(c10::Error(where, "CUDA out of memory. Tried to allocate 2.00 GiB")));
  CHECK(cuda_failure_advice("mat1 and mat2 shapes cannot be multiplied (64x3136 and 1024x10)").empty());
}

namespace {

/// Token ids → mean embedding → class scores, for the id checks.
struct BagOfWordsImpl : torch::nn::Module {
  BagOfWordsImpl()
      : embedding(register_module("embedding", torch::nn::Embedding(10, 4))),
        fc(register_module("fc", torch::nn::Linear(4, 3))) {}
  torch::Tensor forward(torch::Tensor ids) { return fc->forward(embedding->forward(ids).mean(1)); }
  torch::nn::Embedding embedding;
  torch::nn::Linear fc;
};
TORCH_MODULE(BagOfWords);

/// A step of the single strategy on `batch`; the exception's sentence.
std::string failing_step(torch::nn::AnyModule model, const cohort::data::Batch& batch) {
  cohort::strategies::Single single;
  single.prepare(model, std::make_shared<torch::optim::SGD>(model.ptr()->parameters(), 0.1));
  try {
    single.forward_backward(batch, cohort::task::Task(), cohort::strategy::MicroStep{});
  } catch (const cohort::InputError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a label or id out of range names its example; a batch without one names none", "[errors][examples]") {
  BagOfWords model;
  const cohort::task::Task task;
  cohort::data::Batch ids(torch::tensor({{1, 2}, {3, 4}, {9, 12}, {-1, 0}}), torch::tensor({0, 1, 2, 0}));
  CHECK(cohort::task::find_invalid_example(*model, ids, task, 3) ==
        "example 2 of the batch has id 12 in \"input\", outside the 0..9 an embedding of the model holds");

  cohort::data::Batch labels(torch::tensor({{1, 2}, {3, 4}, {5, 6}}), torch::tensor({0, 2, 3}));
  CHECK(cohort::task::find_invalid_example(*model, labels, task, 3) ==
        "example 2 of the batch has label 3, outside the classes 0..2 of the model's 3 outputs");
  CHECK(cohort::task::find_invalid_example(*model, labels, task, -1).empty());  // width unknown

  // Lengths (one integer per example) are not ids, and a sound batch has no culprit.
  cohort::data::Batch lengths({{"input", torch::tensor({{1, 2}})}, {"lengths", torch::tensor({40})},
                               {"target", torch::tensor({1})}});
  CHECK(cohort::task::find_invalid_example(*model, lengths, cohort::task::Task().inputs({"input", "lengths"}), 3)
            .empty());
  // A regression's float targets are not labels.
  cohort::data::Batch regression(torch::tensor({{1, 2}}), torch::tensor({7.5}));
  CHECK(cohort::task::find_invalid_example(*model, regression, task, 3).empty());
}

TEST_CASE("a step that fails on a bad label or id says which example, under single", "[errors][examples]") {
  torch::nn::AnyModule model(BagOfWords{});
  // LibTorch alone: "Target 5 is out of bounds." with no example named.
  CHECK_THAT(failing_step(model, {torch::tensor({{1, 2}, {3, 4}}), torch::tensor({1, 5})}),
             Contains("example 1 of the batch has label 5, outside the classes 0..2") &&
                 Contains("LibTorch: "));
  CHECK_THAT(failing_step(model, {torch::tensor({{1, 2}, {3, 10}}), torch::tensor({1, 1})}),
             Contains("example 1 of the batch has id 10 in \"input\""));
  // Nothing to blame: the step runs.
  CHECK(failing_step(model, {torch::tensor({{1, 2}, {3, 4}}), torch::tensor({1, 2})}).empty());
}

TEST_CASE("model_parallel names the failing layer of a later batch as single does", "[errors][model_parallel]") {
  torch::nn::AnyModule model(Mlp(MlpOptions(16, 3).hidden({8}).dropout(0)));
  cohort::strategies::ModelParallel strategy(cohort::strategies::ModelParallelOptions{});  // {cpu, cpu}
  strategy.prepare(model, std::make_shared<torch::optim::SGD>(model.ptr()->parameters(), 0.1));
  const cohort::data::Batch odd(torch::zeros({2, 1, 3, 3}), torch::tensor({0, 1}));
  CHECK_THROWS_WITH(strategy.forward_backward(odd, cohort::task::Task(), cohort::strategy::MicroStep{}),
                    Contains("layer \"layers.0\" (Linear) expects in_features 16 but gets [2, 9]"));
}
