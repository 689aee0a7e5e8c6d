#include "cohort/data/text_csv.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"

namespace cohort::data {
namespace {

constexpr const char* kStart = "text_start";  // where each text's ids begin in the flat tensor
constexpr size_t kUnknownShown = 10;          // unknown words a log line names

/// The data file at `path`, or one sentence saying it is not there and how the
/// fortunes CSVs are made.
void require_file(const std::string& path, const char* key) {
  if (std::filesystem::exists(path)) return;
  throw InputError(
      fmt::format("{}: the data file (data.{}) does not exist; python3 scripts/make_fortunes_csv.py "
                  "writes data/fortunes/train.csv and test.csv, and data.train_file and data.test_file "
                  "may name AG_News's own.",
                  path, key));
}

/// A vocabulary file must encode as the config says, or the ids would mean something else.
void check_encoder_fits(const text::TextEncoder& loaded, const TextCsvOptions& options) {
  const text::TextEncoder configured(text::Tokenizer(options.tokenizer()), loaded.vocabulary(),
                                     options.ngram_buckets());
  const auto difference = loaded.difference(configured);
  if (!difference.empty())
    throw InputError(
        fmt::format("\"data.vocabulary\": {} was made for other data keys (the file's against the "
                    "config's: {}).",
                    options.vocabulary_file(), difference));
}

std::shared_ptr<const text::TextEncoder> make_encoder(const std::vector<std::string>& training_texts,
                                                      const TextCsvOptions& options) {
  if (!options.vocabulary_file().empty()) {
    auto loaded = text::TextEncoder::load(options.vocabulary_file());
    check_encoder_fits(loaded, options);
    return std::make_shared<const text::TextEncoder>(std::move(loaded));
  }
  return std::make_shared<const text::TextEncoder>(
      text::TextEncoder::fit(training_texts, options.tokenizer(), options.vocabulary(), options.ngram_buckets()));
}

/// The texts and labels of `rows` at `indices`.
text::LabelledTexts pick(const text::LabelledTexts& rows, const torch::Tensor& indices) {
  text::LabelledTexts picked;
  const auto* index = indices.data_ptr<int64_t>();
  for (int64_t i = 0; i < indices.numel(); ++i) {
    picked.texts.push_back(rows.texts[index[i]]);
    picked.labels.push_back(rows.labels[index[i]]);
  }
  return picked;
}

std::shared_ptr<TextDataset> encode(const text::LabelledTexts& rows, int64_t num_classes,
                                    const std::shared_ptr<const text::TextEncoder>& encoder,
                                    const TextCsvOptions& options, TextSplitReport report) {
  std::vector<std::vector<int64_t>> encoded;
  encoded.reserve(rows.texts.size());
  for (const auto& text : rows.texts) encoded.push_back(encoder->encode(text, options.max_length(), &report.stats));
  return std::make_shared<TextDataset>(encoded, rows.labels, num_classes, encoder, std::move(report));
}

std::string describe(const TextSplitReport& report) {
  const auto& stats = report.stats;
  std::string line =
      fmt::format("{} ({}): {} texts, {} words, out of vocabulary {:.2f}% ({} words)", report.split, report.source,
                  stats.texts, stats.words, 100.0 * stats.oov_rate(), stats.unknown_words);
  const auto unknown = stats.most_frequent_unknown(kUnknownShown);
  if (!unknown.empty()) {
    std::vector<std::string> shown;
    for (const auto& [word, count] : unknown) shown.push_back(fmt::format("\"{}\" {}", word, count));
    line += fmt::format("; most frequent unknown: {}", fmt::join(shown, ", "));
  }
  if (stats.truncated_texts > 0) line += fmt::format("; {} texts cut to data.max_length", stats.truncated_texts);
  if (stats.empty_texts > 0) line += fmt::format("; {} texts without a token (one <unk> each)", stats.empty_texts);
  if (report.skipped_rows > 0)
    line += fmt::format("; {} malformed rows skipped, the first: {}", report.skipped_rows, report.first_skipped);
  return line;
}

}  // namespace

/// The flat ids and the per-text tensors TensorDataset keeps.
struct TextDataset::FlatTexts {
  torch::Tensor ids;
  std::map<std::string, torch::Tensor> rows;
};

TextDataset::FlatTexts TextDataset::flatten(const std::vector<std::vector<int64_t>>& encoded,
                                            const std::vector<int64_t>& labels) {
  if (encoded.size() != labels.size())
    throw std::invalid_argument(fmt::format("TextDataset: {} texts but {} labels", encoded.size(), labels.size()));
  const auto count = static_cast<int64_t>(encoded.size());
  auto starts = torch::empty({count}, torch::kInt64);
  auto lengths = torch::empty({count}, torch::kInt64);
  auto* start = starts.data_ptr<int64_t>();
  auto* length = lengths.data_ptr<int64_t>();
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (encoded[i].empty()) throw std::invalid_argument(fmt::format("TextDataset: text {} has no ids", i));
    start[i] = total;
    length[i] = static_cast<int64_t>(encoded[i].size());
    total += length[i];
  }
  auto ids = torch::empty({total}, torch::kInt64);
  auto* out = ids.data_ptr<int64_t>();
  for (const auto& text : encoded) out = std::copy(text.begin(), text.end(), out);
  return {ids, {{kStart, starts}, {kLengths, lengths}, {Batch::kTarget, torch::tensor(labels, torch::kInt64)}}};
}

TextDataset::TextDataset(const std::vector<std::vector<int64_t>>& encoded, const std::vector<int64_t>& labels,
                         int64_t num_classes, std::shared_ptr<const text::TextEncoder> encoder, TextSplitReport report)
    : TextDataset(flatten(encoded, labels), num_classes, std::move(encoder), std::move(report)) {}

TextDataset::TextDataset(FlatTexts flat, int64_t num_classes, std::shared_ptr<const text::TextEncoder> encoder,
                         TextSplitReport report)
    : TensorDataset(std::move(flat.rows), num_classes),
      ids_(std::move(flat.ids)),
      encoder_(std::move(encoder)),
      report_(std::move(report)) {}

Batch TextDataset::get_batch(const torch::Tensor& indices) const {
  auto batch = TensorDataset::get_batch(indices);
  const auto starts = batch.at(kStart).contiguous();
  const auto lengths = batch.at(kLengths).contiguous();
  const auto count = lengths.size(0);
  const auto longest = count > 0 ? lengths.max().item<int64_t>() : 1;
  auto input = torch::full({count, longest}, text::Vocabulary::kPadding, torch::kInt64);
  const auto* source = ids_.data_ptr<int64_t>();
  const auto* start = starts.data_ptr<int64_t>();
  const auto* length = lengths.data_ptr<int64_t>();
  auto* row = input.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i, row += longest) std::copy_n(source + start[i], length[i], row);
  batch.extra.erase(kStart);
  batch.set(Batch::kInput, std::move(input));
  return batch;
}

std::shared_ptr<TensorDataset> TextDataset::subset(const torch::Tensor& indices) const {
  const auto rows = TensorDataset::get_batch(indices);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& name : rows.names()) tensors.emplace(name, rows.at(name));
  TextSplitReport report;
  report.split = report_.split;
  report.source = report_.source;
  return std::shared_ptr<TextDataset>(
      new TextDataset(FlatTexts{ids_, std::move(tensors)}, num_classes(), encoder_, std::move(report)));
}

DataSplits load_text_csv(const TextCsvOptions& options) {
  require_file(options.train_file(), "train_file");
  require_file(options.test_file(), "test_file");
  const auto training = text::read_labelled_csv(options.train_file(), options.csv());
  // The training file decides the classes unless the config does; the test file must keep to them.
  const auto num_classes = options.csv().num_classes() > 0
                               ? options.csv().num_classes()
                               : *std::max_element(training.labels.begin(), training.labels.end()) + 1;
  const auto test =
      text::read_labelled_csv(options.test_file(), text::CsvOptions(options.csv()).num_classes(num_classes));

  const auto [kept, held_out] =
      validation_indices(static_cast<int64_t>(training.texts.size()), options.validation_fraction(), options.seed());
  const auto train_rows = pick(training, kept);
  const auto encoder = make_encoder(train_rows.texts, options);
  const auto report = [&](const char* split, const std::string& source, const text::LabelledTexts& read) {
    TextSplitReport made;
    made.split = split;
    made.source = source;
    made.skipped_rows = read.skipped_rows;
    made.first_skipped = read.first_skipped;
    return made;
  };
  DataSplits splits;
  splits.train = encode(train_rows, num_classes, encoder, options, report("train", options.train_file(), training));
  if (held_out.numel() > 0)
    splits.validation =
        encode(pick(training, held_out), num_classes, encoder, options, report("validation", options.train_file(), {}));
  splits.test = encode(test, num_classes, encoder, options, report("test", options.test_file(), test));
  return splits;
}

std::shared_ptr<const text::TextEncoder> text_encoder(const DataSplits& splits) {
  const auto train = std::dynamic_pointer_cast<const TextDataset>(splits.train);
  return train ? train->shared_encoder() : nullptr;
}

std::vector<std::string> describe_text_splits(const DataSplits& splits) {
  const auto encoder = text_encoder(splits);
  if (!encoder) return {};
  const auto& tokenizer = encoder->tokenizer().options();
  std::vector<std::string> lines{fmt::format(
      "vocabulary: {} tokens with <unk> and <pad>{}; tokenizer {}, ngrams {}", encoder->vocabulary().size(),
      encoder->ngram_buckets() > 0 ? fmt::format(", then {} bigram hash buckets", encoder->ngram_buckets()) : "",
      text::to_string(tokenizer.kind()), tokenizer.ngrams())};
  for (const auto& dataset : {splits.train, splits.validation, splits.test}) {
    const auto text = std::dynamic_pointer_cast<const TextDataset>(dataset);
    if (text && text->report().stats.texts > 0) lines.push_back(describe(text->report()));
  }
  return lines;
}

}  // namespace cohort::data
