#include "cohort/data/registry.h"

#include "cohort/data/fashion_mnist.h"
#include "cohort/data/synthetic.h"
#include "cohort/data/text_csv.h"

#include <torch/torch.h>

#include "cohort/core/error.h"

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

Schema text_csv_schema() {
  const TextCsvOptions defaults;
  const text::VocabularyOptions vocabulary;
  return with_validation_fraction(
      Schema()
          .string("train_file", defaults.train_file(),
                  "the training CSV (AG_News format: class index 1..C, title, description); validation is held out "
                  "of it")
          .string("test_file", defaults.test_file(), "the test CSV, in the same format")
          .integer("label_column", defaults.csv().label_column(), "the field holding the class index 1..C, from 0",
                   Range::at_least(0))
          .integer_list("text_columns", defaults.csv().text_columns(),
                        "the fields joined with a space into the text, from 0", Range::at_least(0))
          .integer("num_classes", 0, "the number of classes C (0 = the largest label of the training file)",
                   Range::at_least(0))
          .boolean("header", defaults.csv().header(), "whether each file's first row names the columns")
          .choice("on_bad_row", "error", {"error", "skip"},
                  "a malformed row: stop naming its file, line and column (error), or leave it out and count it "
                  "(skip)")
          .choice("tokenizer", "basic_english", {"basic_english", "whitespace"},
                  "basic_english: lower case, punctuation split off (as torchtext's); whitespace: split only")
          .integer("ngrams", 1, "1 = words; 2 = words and bigrams (fastText's)", Range::between(1, 2))
          .integer("ngram_buckets", defaults.ngram_buckets(),
                   "bigrams hashed into this many ids after the vocabulary's (0 = bigrams kept in the vocabulary)",
                   Range::at_least(0))
          .integer("min_freq", vocabulary.min_freq(), "the fewest times a token must occur in the training split",
                   Range::at_least(1))
          .integer("max_size", vocabulary.max_size(),
                   "the most tokens in the vocabulary besides the two specials (ids 0 and 1), the most frequent "
                   "(0 = all)",
                   Range::at_least(0))
          .string("vocabulary", "",
                  "a vocabulary.json (e.g. a run's) used instead of building one from the training split")
          .integer("max_length", defaults.max_length(), "words kept per text, the first ones (0 = all)",
                   Range::at_least(0)));
}

TextCsvOptions text_csv_options(const Json& options, uint64_t seed) {
  if (options.at("text_columns").empty())
    throw InputError("\"data.text_columns\": the list is empty; it names the fields that hold the text.");
  const auto on_bad_row =
      options.at("on_bad_row").get<std::string>() == "skip" ? text::BadRowPolicy::kSkip : text::BadRowPolicy::kError;
  return TextCsvOptions()
      .train_file(options.at("train_file").get<std::string>())
      .test_file(options.at("test_file").get<std::string>())
      .csv(text::CsvOptions()
               .label_column(options.at("label_column").get<int64_t>())
               .text_columns(options.at("text_columns").get<std::vector<int64_t>>())
               .num_classes(options.at("num_classes").get<int64_t>())
               .header(options.at("header").get<bool>())
               .on_bad_row(on_bad_row))
      .tokenizer(text::TokenizerOptions()
                     .kind(text::parse_tokenizer_kind(options.at("tokenizer").get<std::string>()))
                     .ngrams(options.at("ngrams").get<int64_t>()))
      .vocabulary(text::VocabularyOptions()
                      .min_freq(options.at("min_freq").get<int64_t>())
                      .max_size(options.at("max_size").get<int64_t>()))
      .ngram_buckets(options.at("ngram_buckets").get<int64_t>())
      .vocabulary_file(options.at("vocabulary").get<std::string>())
      .max_length(options.at("max_length").get<int64_t>())
      .validation_fraction(options.at("validation_fraction").get<double>())
      .seed(seed);
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
    built.add("text_csv", text_csv_schema(), [](const Json& options, uint64_t seed) {
      return load_text_csv(text_csv_options(options, seed));
    });
    return built;
  }();
  return registry;
}

}  // namespace cohort::data
