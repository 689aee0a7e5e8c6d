// Text data (issue 15): the AG_News CSV reader and every malformed row, the
// tokenizers, the vocabulary and its <unk>, the encoder's file, and the
// text_csv dataset's batches and splits.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/data/text_csv.h"
#include "cohort/text/csv_reader.h"
#include "cohort/text/encoder.h"
#include "cohort/text/tokenizer.h"
#include "cohort/text/vocabulary.h"
#include "cohort/trainer/vocabulary_callback.h"
#include "helpers.h"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using Catch::Matchers::Equals;
using cohort::InputError;
using namespace cohort::text;
using Words = std::vector<std::string>;

namespace {

std::string write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

/// A CSV in `dir` holding `content`, read with `options`.
LabelledTexts read_csv(const std::string& content, const CsvOptions& options = CsvOptions()) {
  const auto dir = cohort::testing::temporary_directory("csv");
  return read_labelled_csv(write_file(dir / "rows.csv", content), options);
}

/// The one sentence reading `content` gives, with the file's path cut to "rows.csv".
std::string csv_error(const std::string& content, const CsvOptions& options = CsvOptions()) {
  const auto dir = cohort::testing::temporary_directory("csv");
  const auto path = write_file(dir / "rows.csv", content);
  try {
    read_labelled_csv(path, options);
  } catch (const InputError& error) {
    std::string message = error.what();
    return message.rfind(path, 0) == 0 ? "rows.csv" + message.substr(path.size()) : message;
  }
  return "no error";
}

TextEncoder encoder_of(const Words& training_texts, int64_t ngrams = 1, int64_t buckets = 0, int64_t min_freq = 1) {
  return TextEncoder::fit(training_texts, TokenizerOptions().ngrams(ngrams), VocabularyOptions().min_freq(min_freq),
                          buckets);
}

}  // namespace

TEST_CASE("basic_english lower-cases and splits punctuation off as torchtext does", "[text][tokenizer]") {
  const Tokenizer tokenizer;
  CHECK_THAT(tokenizer.words("Hello, World! It's (great)."),
             Equals(Words{"hello", ",", "world", "!", "it", "'", "s", "(", "great", ")", "."}));
  CHECK_THAT(tokenizer.words("Q: \"quoted\"; done?<br />next\tline\nend"),
             Equals(Words{"q", "quoted", "done", "?", "next", "line", "end"}));
  // Bytes past ASCII pass through untouched: UTF-8 words stay whole.
  CHECK_THAT(tokenizer.words("Café über Ünïcode"), Equals(Words{"café", "über", "Ünïcode"}));
  CHECK(tokenizer.words("  \n\t ").empty());
}

TEST_CASE("the whitespace tokenizer only splits", "[text][tokenizer]") {
  const Tokenizer tokenizer(TokenizerOptions().kind(TokenizerKind::kWhitespace));
  CHECK_THAT(tokenizer.words("Hello, World!  It's\n(great)."), Equals(Words{"Hello,", "World!", "It's", "(great)."}));
  CHECK(parse_tokenizer_kind("whitespace") == TokenizerKind::kWhitespace);
  CHECK_THROWS_WITH(parse_tokenizer_kind("bpe"), Contains("no tokenizer \"bpe\""));
}

TEST_CASE("bigrams follow the words, from the words kept", "[text][tokenizer]") {
  const Tokenizer tokenizer(TokenizerOptions().ngrams(2));
  const auto tokens = tokenizer.tokenize("a b c");
  CHECK_THAT(tokens.words, Equals(Words{"a", "b", "c"}));
  CHECK_THAT(tokens.bigrams, Equals(Words{"a b", "b c"}));
  CHECK_FALSE(tokens.truncated);
  const auto cut = tokenizer.tokenize("a b c d", 2);
  CHECK_THAT(cut.words, Equals(Words{"a", "b"}));
  CHECK_THAT(cut.bigrams, Equals(Words{"a b"}));
  CHECK(cut.truncated);
  CHECK(Tokenizer().tokenize("a b").bigrams.empty());
}

TEST_CASE("the vocabulary: specials first, then by count, ties by word", "[text][vocabulary]") {
  const TokenCounts counts{{"the", 5}, {"cat", 2}, {"bat", 2}, {"rare", 1}};
  const auto all = Vocabulary::build(counts);
  CHECK_THAT(all.words(), Equals(Words{"<unk>", "<pad>", "the", "bat", "cat", "rare"}));
  CHECK(all.id("<unk>") == Vocabulary::kUnknown);
  CHECK(all.id("<pad>") == Vocabulary::kPadding);
  CHECK(all.id("cat") == 4);
  CHECK(all.id("dog") == Vocabulary::kUnknown);
  CHECK(all.token(3) == "bat");

  CHECK_THAT(Vocabulary::build(counts, VocabularyOptions().min_freq(2)).words(),
             Equals(Words{"<unk>", "<pad>", "the", "bat", "cat"}));
  CHECK_THAT(Vocabulary::build(counts, VocabularyOptions().max_size(2)).words(),
             Equals(Words{"<unk>", "<pad>", "the", "bat"}));
  CHECK(Vocabulary::build({}).size() == 2);
}

TEST_CASE("a vocabulary without its specials or with a word twice is refused", "[text][vocabulary]") {
  CHECK_THROWS_WITH(Vocabulary(Words{"a", "b"}), Contains("starts with \"<unk>\" (id 0) and \"<pad>\" (id 1)"));
  CHECK_THROWS_WITH(Vocabulary(Words{"<unk>", "<pad>", "a", "a"}), Contains("holds \"a\" twice (ids 2 and 3)"));
}

TEST_CASE("words outside the vocabulary become <unk>, empty texts one <unk>", "[text][encoder]") {
  const auto encoder = encoder_of({"the cat sat", "the dog"});
  const auto& vocabulary = encoder.vocabulary();
  EncodingStats stats;
  // "zebra" appears only at test time: it is <unk>, never an error, never dropped.
  const auto ids = encoder.encode("The zebra sat, the zebra!", 0, &stats);
  CHECK(ids == std::vector<int64_t>{vocabulary.id("the"), 0, vocabulary.id("sat"), 0, vocabulary.id("the"), 0, 0});
  CHECK(stats.words == 7);
  CHECK(stats.unknown_words == 4);  // zebra twice, "," and "!"
  CHECK(stats.oov_rate() == Approx(4.0 / 7.0));
  const auto unknown = stats.most_frequent_unknown(2);
  REQUIRE(unknown.size() == 2);
  CHECK(unknown[0] == std::make_pair(std::string("zebra"), int64_t(2)));
  CHECK(unknown[1] == std::make_pair(std::string("!"), int64_t(1)));

  CHECK(encoder.encode("", 0, &stats) == std::vector<int64_t>{Vocabulary::kUnknown});
  CHECK(encoder.encode(" ;:\" ", 0, &stats) == std::vector<int64_t>{Vocabulary::kUnknown});
  CHECK(stats.empty_texts == 2);
  CHECK(stats.texts == 3);
  CHECK(encoder.encode("the the the", 2, &stats).size() == 2);
  CHECK(stats.truncated_texts == 1);
}

TEST_CASE("bigrams are kept in the vocabulary or hashed into buckets after it", "[text][encoder]") {
  const auto kept = encoder_of({"new york times", "new york"}, 2);
  CHECK(kept.vocabulary().contains("new york"));
  CHECK(kept.encode("new york city").back() == Vocabulary::kUnknown);  // "york city" was never seen
  CHECK(kept.size() == kept.vocabulary().size());

  const auto hashed = encoder_of({"new york times", "new york"}, 2, 50);
  CHECK_FALSE(hashed.vocabulary().contains("new york"));
  CHECK(hashed.size() == hashed.vocabulary().size() + 50);
  const auto ids = hashed.encode("new york city");
  REQUIRE(ids.size() == 5);
  for (size_t i = 3; i < 5; ++i) {
    CHECK(ids[i] >= hashed.vocabulary().size());
    CHECK(ids[i] < hashed.size());
  }
  // The same bigram always lands in the same bucket.
  CHECK(hashed.encode("york city")[2] == ids[4]);
}

TEST_CASE("a vocabulary saved and loaded maps every text identically", "[text][encoder]") {
  const auto dir = cohort::testing::temporary_directory("vocabulary");
  const auto encoder = encoder_of({"Héllo wörld, hello again", "a \"quoted\" word"}, 2, 7);
  const auto path = (dir / "vocabulary.json").string();
  encoder.save(path);
  const auto loaded = TextEncoder::load(path);
  CHECK(loaded.difference(encoder).empty());
  CHECK(loaded.vocabulary() == encoder.vocabulary());
  CHECK(loaded.ngram_buckets() == 7);
  CHECK(loaded.tokenizer().options().ngrams() == 2);
  for (const auto* text : {"hello wörld again", "unseen words here", ""})
    CHECK(loaded.encode(text) == encoder.encode(text));

  const auto other = encoder_of({"hello world"});
  CHECK_THAT(other.difference(encoder), Contains("ngrams 1 against 2"));
  CHECK_THAT(encoder_of({"a b"}).difference(encoder_of({"a c"})), Contains("id 3 being \"b\" against \"c\""));
  CHECK_THAT(encoder_of({"a b"}).difference(encoder_of({"a"})), Contains("4 tokens against 3"));
}

TEST_CASE("a file that is no vocabulary is refused in one sentence naming it", "[text][encoder]") {
  const auto dir = cohort::testing::temporary_directory("vocabulary");
  const auto missing = (dir / "none.json").string();
  CHECK_THROWS_WITH(TextEncoder::load(missing), Equals(missing + ": the vocabulary file does not exist."));
  const auto garbage = write_file(dir / "garbage.json", "{not json");
  CHECK_THROWS_WITH(TextEncoder::load(garbage), Equals(garbage + ": the vocabulary file is not valid JSON."));
  const auto no_words = write_file(
      dir / "no_words.json",
      R"({"format": "cohort-text-vocabulary-1", "tokenizer": "basic_english", "ngrams": 1, "ngram_buckets": 0})");
  CHECK_THROWS_WITH(TextEncoder::load(no_words), Contains(no_words + ": not a Cohort vocabulary file: \"words\""));
  const auto no_specials =
      write_file(dir / "no_specials.json", R"({"format": "cohort-text-vocabulary-1", "tokenizer": "basic_english", )"
                                           R"("ngrams": 1, "ngram_buckets": 0, "words": ["a"]})");
  CHECK_THROWS_WITH(TextEncoder::load(no_specials), Contains(no_specials + ": not a usable vocabulary: a vocabulary "
                                                                           "starts with \"<unk>\""));
}

TEST_CASE("AG_News rows: quotes doubled, \\n and \\\\ escapes, title and description joined", "[text][csv]") {
  const auto rows = read_csv(
      "\"3\",\"Wall St. Bears\",\"Reuters - Short-sellers, \"\"dwindling\"\"\\\\band\\nof ultra-cynics.\"\n"
      "1,bare title,bare text\n"
      "\n"
      "\"4\",\"Two\nlines\",\"\"\n");
  REQUIRE(rows.texts.size() == 3);
  CHECK(rows.texts[0] == "Wall St. Bears Reuters - Short-sellers, \"dwindling\"\\band\nof ultra-cynics.");
  CHECK(rows.texts[1] == "bare title bare text");
  CHECK(rows.texts[2] == "Two\nlines ");
  CHECK(rows.labels == std::vector<int64_t>{2, 0, 3});
  CHECK(rows.skipped_rows == 0);
}

TEST_CASE("the label and text columns, a header, CRLF and a byte-order mark", "[text][csv]") {
  const auto options = CsvOptions().label_column(2).text_columns({0}).header(true);
  const auto rows = read_csv("\xEF\xBB\xBFtext,ignored,label\r\n\"first, text\",x,2\r\nsecond,y,1\r\n", options);
  CHECK(rows.texts == Words{"first, text", "second"});
  CHECK(rows.labels == std::vector<int64_t>{1, 0});
  CHECK(unescape_ag_news("a\\nb\\\\n\\$c\\") == "a\nb\\n\\$c\\");
}

TEST_CASE("UTF-8: well-formed text is read, every ill-formed byte found", "[text][csv][utf8]") {
  CHECK(first_invalid_utf8("plain ascii") == std::string::npos);
  CHECK(first_invalid_utf8("café – 日本 😀") == std::string::npos);
  CHECK(first_invalid_utf8("ab\x80") == 2);              // a lone continuation byte
  CHECK(first_invalid_utf8("a\xC3") == 1);               // cut off
  CHECK(first_invalid_utf8("a\xC0\xAF") == 1);           // overlong '/'
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);        // a surrogate
  CHECK(first_invalid_utf8("xy\xF4\x90\x80\x80") == 2);  // past U+10FFFF
  CHECK(first_invalid_utf8("\xFF") == 0);
  CHECK(read_csv("1,\"日本語のニュース\",😀\n").texts == Words{"日本語のニュース 😀"});
}

TEST_CASE("every malformed row is one sentence naming the file, line and column", "[text][csv]") {
  const std::string good = "1,\"a\",\"b\"\n";
  // Wrong number of fields: the row's start.
  CHECK(csv_error(good + "2,\"a\"\n") == "rows.csv:2:1: the row has 2 field(s), the file's first row 3.");
  CHECK(csv_error("1,\"a\"\n") ==
        "rows.csv:1:1: the row has 2 field(s), but the label and text columns need at least 3.");
  // Labels: not a number, out of range, none.
  CHECK(csv_error(good + "\"x3\",\"a\",\"b\"\n") ==
        "rows.csv:2:1: the label \"x3\" is not a class number (1 or more).");
  CHECK(csv_error(good + "2.5,a,b\n") == "rows.csv:2:1: the label \"2.5\" is not a class number (1 or more).");
  CHECK(csv_error(good + ",a,b\n") == "rows.csv:2:1: the label \"\" is not a class number (1 or more).");
  CHECK(csv_error(good + "0,a,b\n") == "rows.csv:2:1: the label 0 is outside the classes 1 or more.");
  CHECK(csv_error("a,b,1\na,b,5\n", CsvOptions().label_column(2).text_columns({0}).num_classes(4)) ==
        "rows.csv:2:5: the label 5 is outside the classes 1..4.");
  // Quotes: unterminated, text after a closing quote, a stray quote in a bare field.
  CHECK(csv_error(good + "2,\"a\",\"never closed\n3,x,y\n") ==
        "rows.csv:2:7: unterminated quote: the field that opens here never closes.");
  CHECK(csv_error(good + "2,\"a\"b,c\n") ==
        "rows.csv:2:6: text after a closing quote (a quote inside a field is written twice: \"\").");
  CHECK_THAT(csv_error(good + "2,a\"b,c\n"),
             Equals("rows.csv:2:4: a quote inside a field that does not start with one (quote the whole field and "
                    "write the quote twice)."));
  // Bytes that are not UTF-8: the byte itself.
  CHECK(csv_error(good + "2,\"ab\xFF\",c\n") ==
        "rows.csv:2:6: a byte that is not UTF-8 (the file must be UTF-8 text).");
  CHECK(csv_error(good + "2,\"a\nb\xC3\",c\n") ==
        "rows.csv:3:2: a byte that is not UTF-8 (the file must be UTF-8 text).");
}

TEST_CASE("a missing, empty or rowless file is one sentence", "[text][csv]") {
  const auto dir = cohort::testing::temporary_directory("csv");
  const auto missing = (dir / "missing.csv").string();
  CHECK_THROWS_WITH(read_labelled_csv(missing, {}), Equals(missing + ": the data file does not exist."));
  const auto empty = write_file(dir / "empty.csv", "");
  CHECK_THROWS_WITH(read_labelled_csv(empty, {}), Equals(empty + ": the data file is empty."));
  const auto blank = write_file(dir / "blank.csv", "\n  \r\n\n");
  CHECK_THROWS_WITH(read_labelled_csv(blank, {}), Equals(blank + ": the data file is empty."));
  const auto header = write_file(dir / "header.csv", "label,title,text\n\n");
  CHECK_THROWS_WITH(read_labelled_csv(header, CsvOptions().header(true)),
                    Equals(header + ": the data file has no rows after its header."));
  CHECK_THROWS_AS(read_labelled_csv(header, {}), InputError);  // the header read as data: its label is no number
}

TEST_CASE("on_bad_row skip leaves malformed rows out, counts them and keeps the rest", "[text][csv]") {
  const auto skip = CsvOptions().on_bad_row(BadRowPolicy::kSkip).num_classes(3);
  // A quote that never closes runs to the end of the file: only its own line is skipped.
  const auto rows = read_csv(
      "1,a,b\n"
      "9,out of,range\n"
      "3,c,d\n"
      "2,e\n"
      "2,\"f\xFF\",g\n"
      "1,h,i\n"
      "2,\"unterminated,x\n"
      "1,j,k\n",
      skip);
  CHECK(rows.texts == Words{"a b", "c d", "h i", "j k"});
  CHECK(rows.labels == std::vector<int64_t>{0, 2, 0, 0});
  CHECK(rows.skipped_rows == 4);
  CHECK_THAT(rows.first_skipped, Contains("rows.csv:2:1: the label 9 is outside the classes 1..3."));
  CHECK_THAT(csv_error("7,a,b\n8,c,d\n", skip),
             StartsWith("rows.csv: every row is malformed (2 skipped; the first: ") &&
                 EndsWith("rows.csv:1:1: the label 7 is outside the classes 1..3.)"));
}

namespace {

/// A train.csv and test.csv in `dir`; returns the options reading them.
cohort::data::TextCsvOptions small_corpus(const std::filesystem::path& dir) {
  write_file(dir / "train.csv",
             "1,\"red apple\",\"a red apple\"\n"
             "2,\"blue sky\",\"the blue sky\"\n"
             "1,\"red cherry\",\"\"\n"
             "2,\"blue sea\",\"deep blue sky\"\n"
             "1,\"apple pie\",\"red red\"\n"
             "2,\"sky high\",\"blue\"\n"
             "1,\"validationonly\",\"red\"\n"
             "2,\"\",\"\"\n");
  write_file(dir / "test.csv", "1,\"red zebra\",\"\"\n2,\"blue unicorn\",\"sky\"\n");
  return cohort::data::TextCsvOptions()
      .train_file((dir / "train.csv").string())
      .test_file((dir / "test.csv").string())
      .validation_fraction(0.25)
      .seed(3);
}

}  // namespace

TEST_CASE("text batches: ids padded to the batch's longest text, lengths and classes", "[text][dataset]") {
  auto encoder = std::make_shared<const TextEncoder>(encoder_of({"a b c", "a b", "a"}));
  const cohort::data::TextDataset dataset({{2, 3, 4}, {2}, {0, 3}}, {0, 1, 1}, 2, encoder);
  CHECK(dataset.size() == 3);
  CHECK(dataset.input_names() == Words{"input", "lengths"});
  CHECK(dataset.num_classes() == 2);

  const auto batch = dataset.get_batch(torch::tensor({1, 2}, torch::kInt64));
  CHECK(batch.names() == Words{"input", "target", "lengths"});
  CHECK(torch::equal(batch.at("input"), torch::tensor({2, 1, 0, 3}, torch::kInt64).view({2, 2})));
  CHECK(torch::equal(batch.at("lengths"), torch::tensor({1, 2}, torch::kInt64)));
  CHECK(torch::equal(batch.target, torch::tensor({1, 1}, torch::kInt64)));

  const auto all = dataset.get_batch(torch::tensor({0, 1, 2}, torch::kInt64));
  CHECK(all.at("input").sizes() == torch::IntArrayRef({3, 3}));
  CHECK(torch::equal(all.at("input")[1], torch::tensor({2, 1, 1}, torch::kInt64)));
  // A micro-batch (or a ddp shard) is a cut along the first dimension: the same texts.
  const auto cut = all.slice(1, 3);
  CHECK(torch::equal(cut.at("input").narrow(1, 0, 2), batch.at("input")));

  const auto subset = dataset.subset(torch::tensor({2, 0}, torch::kInt64));
  CHECK(subset->input_names() == Words{"input", "lengths"});
  CHECK(torch::equal(subset->get_batch(torch::tensor({0}, torch::kInt64)).at("input"),
                     torch::tensor({0, 3}, torch::kInt64).view({1, 2})));
  const auto [train, validation] = cohort::data::split_validation(dataset, 0.0, 1);
  CHECK(validation == nullptr);
  CHECK(train->input_names() == Words{"input", "lengths"});
}

TEST_CASE("text_csv: the vocabulary comes from the training split only", "[text][dataset]") {
  const auto dir = cohort::testing::temporary_directory("text_csv");
  const auto splits = cohort::data::load_text_csv(small_corpus(dir));
  REQUIRE(splits.validation);
  CHECK(splits.train->size() == 6);
  CHECK(splits.validation->size() == 2);
  CHECK(splits.test->size() == 2);
  CHECK(splits.train->num_classes() == 2);
  const auto encoder = cohort::data::text_encoder(splits);
  REQUIRE(encoder);
  const auto& train = dynamic_cast<const cohort::data::TextDataset&>(*splits.train);
  const auto& validation = dynamic_cast<const cohort::data::TextDataset&>(*splits.validation);
  const auto& test = dynamic_cast<const cohort::data::TextDataset&>(*splits.test);
  CHECK(train.report().stats.oov_rate() == 0.0);
  // Words of the held-out rows that the training split lacks count as unknown there.
  for (const auto& word : validation.report().stats.unknown_counts)
    CHECK_FALSE(encoder->vocabulary().contains(word.first));
  CHECK(test.report().stats.unknown_counts.at("zebra") == 1);
  CHECK(test.report().stats.unknown_counts.at("unicorn") == 1);
  CHECK_FALSE(encoder->vocabulary().contains("zebra"));
  const auto test_batch = test.get_batch(torch::arange(2, torch::kInt64));
  CHECK(test_batch.at("input")[0][1].item<int64_t>() == Vocabulary::kUnknown);
  CHECK(torch::equal(test_batch.target, torch::tensor({0, 1}, torch::kInt64)));
  // The empty row is one <unk>, with length 1.
  int64_t empty_texts = train.report().stats.empty_texts + validation.report().stats.empty_texts;
  CHECK(empty_texts == 1);
  CHECK(train.get_batch(torch::arange(6, torch::kInt64)).at("lengths").min().item<int64_t>() >= 1);

  const auto lines = cohort::data::describe_text_splits(splits);
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[3], Contains("test (") && Contains("2 texts, 5 words, out of vocabulary 40.00% (2 words)") &&
                           Contains("most frequent unknown: \"unicorn\" 1, \"zebra\" 1"));
}

TEST_CASE("text_csv: test labels past the training file's classes, missing files, a vocabulary file",
          "[text][dataset]") {
  const auto dir = cohort::testing::temporary_directory("text_csv");
  auto options = small_corpus(dir);
  const auto test_path = write_file(dir / "test3.csv", "1,a,b\n3,c,d\n");
  CHECK_THROWS_WITH(cohort::data::load_text_csv(cohort::data::TextCsvOptions(options).test_file(test_path)),
                    Equals(test_path + ":2:1: the label 3 is outside the classes 1..2."));
  const auto missing = (dir / "nothing.csv").string();
  CHECK_THROWS_WITH(cohort::data::load_text_csv(cohort::data::TextCsvOptions(options).train_file(missing)),
                    Contains(missing + ": the data file (data.train_file) does not exist; python3 "
                                       "scripts/make_fortunes_csv.py writes"));

  // A saved vocabulary replaces the one the training split would give.
  const auto vocabulary_path = (dir / "vocabulary.json").string();
  encoder_of({"red zebra unicorn"}).save(vocabulary_path);
  const auto splits =
      cohort::data::load_text_csv(cohort::data::TextCsvOptions(options).vocabulary_file(vocabulary_path));
  CHECK(cohort::data::text_encoder(splits)->vocabulary().contains("zebra"));
  CHECK_FALSE(cohort::data::text_encoder(splits)->vocabulary().contains("blue"));
  CHECK_THROWS_WITH(
      cohort::data::load_text_csv(cohort::data::TextCsvOptions(options)
                                      .vocabulary_file(vocabulary_path)
                                      .tokenizer(TokenizerOptions().kind(TokenizerKind::kWhitespace))),
      Equals("\"data.vocabulary\": " + vocabulary_path +
             " was made for other data keys (the file's against the config's: tokenizer basic_english against "
             "whitespace)."));
}

TEST_CASE("a checkpoint's vocabulary must be the job's", "[text][checkpoint]") {
  auto encoder = std::make_shared<const TextEncoder>(encoder_of({"a b c"}));
  cohort::trainer::VocabularyCallback callback(encoder);
  const auto state = nlohmann::json::parse(callback.state().dump());  // as a checkpoint gives it back
  CHECK_NOTHROW(callback.load_state(state));
  cohort::trainer::VocabularyCallback other(std::make_shared<const TextEncoder>(encoder_of({"a b d"})));
  CHECK_THROWS_AS(other.load_state(state), cohort::trainer::VocabularyMismatch);
  CHECK_THROWS_WITH(other.load_state(state), Contains("its vocabulary is not the one this job built (the checkpoint's "
                                                      "against the job's: 5 tokens against 5, id 4 being \"c\" "
                                                      "against \"d\")"));
  CHECK_THROWS_AS(callback.load_state(nlohmann::json{{"words", 3}}), cohort::trainer::VocabularyMismatch);
}

namespace {

/// A learnable corpus: each class has words of its own, every text some
/// shared filler too; the test file adds words no training text has.
void write_separable_corpus(const std::filesystem::path& dir, const std::string& first_word = "apple") {
  const std::vector<Words> class_words{{first_word, "banana", "cherry", "grape"},
                                       {"bolt", "nut", "screw", "washer"},
                                       {"rain", "snow", "wind", "hail"}};
  const Words filler{"the", "a", "of", "and", "today"};
  std::mt19937 engine(11);
  const auto rows = [&](int count, bool unseen) {
    std::string csv;
    for (int i = 0; i < count; ++i) {
      const auto label = i % 3;
      std::string text;
      for (int w = 0; w < 6; ++w) {
        const auto& pool = engine() % 2 ? class_words[label] : filler;
        text += (text.empty() ? "" : " ") + pool[engine() % pool.size()];
      }
      if (unseen) text += " zebra";
      csv += std::to_string(label + 1) + ",\"Title\",\"" + text + "\"\n";
    }
    return csv;
  };
  write_file(dir / "train.csv", rows(120, false));
  write_file(dir / "test.csv", rows(30, true));
}

cohort::config::Json text_job_config(const std::filesystem::path& data, const std::filesystem::path& run,
                                     const cohort::config::Json& data_overrides = cohort::config::Json::object()) {
  cohort::config::Json data_section = {{"name", "text_csv"},
                                       {"train_file", (data / "train.csv").string()},
                                       {"test_file", (data / "test.csv").string()},
                                       {"validation_fraction", 0.2},
                                       {"ngrams", 2}};
  data_section.merge_patch(data_overrides);
  return cohort::testing::synthetic_config({{"output_dir", run.string()},
                                            {"data", data_section},
                                            {"loader", {{"batch_size", 8}, {"eval_batch_size", 32}}},
                                            {"model", {{"name", "embedding_bag"}, {"embedding_dim", 16}}},
                                            {"optimizer", {{"name", "adam"}, {"lr", 0.05}}},
                                            {"trainer", {{"epochs", 3}}}});
}

}  // namespace

TEST_CASE("a text job trains on CSV files and writes its vocabulary", "[text][job]") {
  const auto data = cohort::testing::temporary_directory("text_data");
  const auto run = cohort::testing::temporary_directory("text_run");
  write_separable_corpus(data);
  cohort::job::TrainingJob job(text_job_config(data, run), "test config");
  CHECK(job.trainer().options().task().inputs() == Words{"input", "lengths"});
  job.fit();
  const auto tested = job.test();
  // Every test text carries "zebra", a word no training text has: <unk>, not an error.
  CHECK(cohort::testing::accuracy(job, tested) >= 0.9);
  const auto saved = TextEncoder::load((run / "vocabulary.json").string());
  CHECK(saved.difference(*cohort::data::text_encoder(job.data())).empty());
  CHECK_FALSE(saved.vocabulary().contains("zebra"));
}

TEST_CASE("a resumed text job keeps its vocabulary or is refused", "[text][job][checkpoint]") {
  const auto data = cohort::testing::temporary_directory("text_data");
  const auto run = cohort::testing::temporary_directory("text_run");
  write_separable_corpus(data);
  auto first = text_job_config(data, run);
  first["trainer"]["epochs"] = 1;
  cohort::job::TrainingJob(first, "test config").fit();
  REQUIRE(std::filesystem::exists(run / "checkpoints" / "epoch-0001.pt"));

  // The same data: the same vocabulary, the run goes on.
  cohort::job::TrainingJob same(text_job_config(data, run), "test config");
  same.resume(run.string());
  CHECK(same.fit().front().epoch == 2);
  const auto checkpoint = (run / "checkpoints" / "epoch-0003.pt").string();
  REQUIRE(std::filesystem::exists(checkpoint));

  // The training file changed ("apple" became "apricot", as often): as many
  // tokens, other ids. The checkpoint is refused, naming it.
  const auto changed = cohort::testing::temporary_directory("text_data");
  write_separable_corpus(changed, "apricot");
  const auto other_run = cohort::testing::temporary_directory("text_run");
  cohort::job::TrainingJob other(text_job_config(changed, other_run), "test config");
  REQUIRE(cohort::data::text_encoder(other.data())->size() == cohort::data::text_encoder(same.data())->size());
  CHECK_THROWS_AS(other.resume(checkpoint), InputError);
  CHECK_THROWS_WITH(other.resume(checkpoint),
                    StartsWith(checkpoint + ": its vocabulary is not the one this job built (the checkpoint's against "
                                            "the job's: ") &&
                        Contains("set data.vocabulary to the run's vocabulary.json."));

  // With the run's vocabulary.json the new file maps as the checkpoint's model learned.
  cohort::job::TrainingJob reusing(
      text_job_config(changed, other_run, {{"vocabulary", (run / "vocabulary.json").string()}}), "test config");
  CHECK_NOTHROW(reusing.resume(checkpoint));
}
