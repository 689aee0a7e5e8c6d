#pragma once
// Labelled texts from CSV files in AG_News's format: one row per text, the
// class index 1..C in one field and the text in others, e.g.
//
//   "3","Wall St. Bears Claw Back","Reuters - Short-sellers, Wall Street's dwindling\\band ..."
//
// Fields may be quoted ("..." with "" for a quote inside, and line breaks
// inside quotes) or bare. Inside the text fields `\n` stands for a line break
// and `\\` for a backslash, as in the original AG_News files.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>

namespace cohort::text {

/// What a malformed row does: stop with one sentence (kError) or be left out,
/// counted and reported (kSkip).
enum class BadRowPolicy { kError, kSkip };

/// Which fields of a row are the label and the text, and how strict to be.
struct CsvOptions {
  /// The field (counted from 0) holding the class index 1..C.
  TORCH_ARG(int64_t, label_column) = 0;
  /// The fields (counted from 0) joined with a space into the text; AG_News's
  /// title and description by default.
  TORCH_ARG(std::vector<int64_t>, text_columns) = std::vector<int64_t>{1, 2};
  /// The number of classes C (labels 1..C); 0 accepts any label >= 1.
  TORCH_ARG(int64_t, num_classes) = 0;
  /// Whether the first row names the columns (it is then not read as data).
  TORCH_ARG(bool, header) = false;
  TORCH_ARG(BadRowPolicy, on_bad_row) = BadRowPolicy::kError;
};

/// The rows of one file.
struct LabelledTexts {
  std::vector<std::string> texts;
  /// Class indices from 0: the file's 1..C minus one.
  std::vector<int64_t> labels;
  /// Malformed rows left out under BadRowPolicy::kSkip, and the sentence of the first.
  int64_t skipped_rows = 0;
  std::string first_skipped;
};

/// Reads every row of `path`. A row with another number of fields than the
/// first, a label that is no whole number or outside 1..num_classes, an
/// unterminated quote, a stray quote or bytes that are not UTF-8 raises
/// cohort::InputError "<path>:<line>:<column>: <what is wrong>." (columns
/// count bytes from 1), or is skipped and counted under kSkip. A missing or
/// empty file, or one without rows (or none left after skipping), raises
/// cohort::InputError naming the file. Blank lines are ignored.
LabelledTexts read_labelled_csv(const std::string& path, const CsvOptions& options);

/// `text` with AG_News's escapes undone: `\n` becomes a line break, `\\` a
/// backslash; any other backslash stays as it is.
std::string unescape_ag_news(const std::string& text);

/// The byte offset of the first byte of `text` that is not well-formed UTF-8
/// (overlong forms, surrogates and code points past U+10FFFF included), or
/// std::string::npos when it all is.
size_t first_invalid_utf8(const std::string& text);

}  // namespace cohort::text
