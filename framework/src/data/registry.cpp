#include "cohort/data/registry.h"

#include "cohort/data/fashion_mnist.h"
#include "cohort/data/synthetic.h"

#include <torch/torch.h>

namespace cohort::data {
namespace {

using config::Json;
using config::Range;
using config::Schema;

constexpr double kDefaultValidationFraction = 0.1;

Schema with_validation_fraction(Schema schema) {
  return schema.number("validation_fraction", kDefaultValidationFraction,
                       "share of the training set held out for validation (chosen by the seed)", Range::fraction());
}

DataSplits split(std::shared_ptr<TensorDataset> train, std::shared_ptr<TensorDataset> test, const Json& options,
                 uint64_t seed) {
  auto [kept, held_out] = split_validation(*train, options.at("validation_fraction").get<double>(), seed);
  return DataSplits{kept, held_out, std::move(test)};
}

}  // namespace

DatasetRegistry& dataset_registry() {
  static DatasetRegistry registry = [] {
    DatasetRegistry built("dataset");
    built.add("fashion_mnist",
              with_validation_fraction(Schema().string("path", kFashionMnistDirectory,
                                                       "directory holding the four gzip IDX files")),
              [](const Json& options, uint64_t seed) {
                const auto directory = options.at("path").get<std::string>();
                auto train = load_fashion_mnist(directory, FashionMnistSplit::kTrain);
                auto test = load_fashion_mnist(directory, FashionMnistSplit::kTest);
                return split(std::move(train), std::move(test), options, seed);
              });
    const SyntheticOptions defaults;
    built.add("synthetic",
              with_validation_fraction(
                  Schema()
                      .integer("train_samples", defaults.num_samples(), "examples in the training set",
                               Range::at_least(1))
                      .integer("test_samples", defaults.num_samples() / 4, "examples in the test set",
                               Range::at_least(1))
                      .integer("num_classes", defaults.num_classes(), "number of classes", Range::at_least(2))
                      .integer_list("sample_shape", defaults.sample_shape(), "shape of one input, e.g. [1, 8, 8]",
                                    Range::at_least(1))
                      .number("noise", defaults.noise(), "noise around each class centre", Range::at_least(0))),
              [](const Json& options, uint64_t seed) {
                const auto base = SyntheticOptions()
                                      .num_classes(options.at("num_classes").get<int64_t>())
                                      .sample_shape(options.at("sample_shape").get<std::vector<int64_t>>())
                                      .noise(options.at("noise").get<double>());
                // The test set shares the class centres (same seed) and draws its own examples.
                const int64_t train_count = options.at("train_samples").get<int64_t>();
                const int64_t test_count = options.at("test_samples").get<int64_t>();
                auto all = make_synthetic(SyntheticOptions(base).num_samples(train_count + test_count).seed(seed));
                auto indices = torch::arange(train_count + test_count, torch::kInt64);
                return split(all->subset(indices.slice(0, 0, train_count)),
                             all->subset(indices.slice(0, train_count)), options, seed);
              });
    return built;
  }();
  return registry;
}

}  // namespace cohort::data
