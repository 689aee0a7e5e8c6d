#include "cohort/text/csv_reader.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::text {
namespace {

/// A malformed row: where (a byte offset into the file), what, and where
/// reading may go on when such rows are skipped.
struct RowError {
  static constexpr size_t kAfterRow = std::string::npos;  // the row was read whole: go on after it
  size_t offset;
  std::string what;
  size_t resume = kAfterRow;
};

struct Field {
  std::string value;
  size_t offset;  // of its first byte (the opening quote of a quoted field)
};

/// Cuts a file's contents into rows of fields, knowing every line's start so
/// any byte offset can be told as line and column.
class CsvScanner {
 public:
  CsvScanner(std::string path, std::string content) : path_(std::move(path)), text_(std::move(content)) {
    if (text_.rfind("\xEF\xBB\xBF", 0) == 0) position_ = 3;  // a UTF-8 byte-order mark is no data
    line_starts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  /// Skips blank lines; false at the end of the file.
  bool next_row() {
    while (position_ < text_.size()) {
      const size_t end = line_end(position_);
      if (text_.find_first_not_of(" \t\r", position_) < end) return true;
      position_ = std::min(end + 1, text_.size());
    }
    return false;
  }

  /// The row starting at the current position, which moves past it; RowError
  /// when it is malformed. Bytes that are not UTF-8 are refused here too.
  std::vector<Field> read_row() {
    const size_t start = position_;
    std::vector<Field> fields;
    while (true) {
      fields.push_back(text_[position_] == '"' ? quoted_field() : bare_field());
      if (position_ < text_.size() && text_[position_] == ',') {
        ++position_;
        continue;
      }
      break;
    }
    const size_t end = position_;
    if (position_ < text_.size() && text_[position_] == '\r') ++position_;
    if (position_ < text_.size() && text_[position_] == '\n') ++position_;
    const auto invalid = first_invalid_utf8(text_.substr(start, end - start));
    if (invalid != std::string::npos)
      throw RowError{start + invalid, "a byte that is not UTF-8 (the file must be UTF-8 text)"};
    return fields;
  }

  /// The byte offset reading is at.
  size_t position() const { return position_; }

  /// Moves on to where a malformed row says reading may go on.
  /// (An unterminated quote has read to the end of the file: it goes back.)
  void resume_at(size_t offset) {
    if (offset != RowError::kAfterRow) position_ = offset;
  }

  /// "<path>:<line>:<column>" of a byte offset (both from 1; columns count bytes).
  std::string where(size_t offset) const {
    const auto line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin();
    return fmt::format("{}:{}:{}", path_, line, offset - line_starts_[line - 1] + 1);
  }

 private:
  /// The offset of the '\n' ending the line that holds `offset` (or the file's size).
  size_t line_end(size_t offset) const { return std::min(text_.find('\n', offset), text_.size()); }
  size_t after_line(size_t offset) const { return std::min(line_end(offset) + 1, text_.size()); }

  bool at_field_end(size_t offset) const {
    if (offset >= text_.size() || text_[offset] == ',' || text_[offset] == '\n') return true;
    return text_[offset] == '\r' && (offset + 1 == text_.size() || text_[offset + 1] == '\n');
  }

  Field quoted_field() {
    Field field{"", position_};
    ++position_;
    while (true) {
      if (position_ >= text_.size())
        throw RowError{field.offset, "unterminated quote: the field that opens here never closes",
                       after_line(field.offset)};
      const char c = text_[position_++];
      if (c != '"') {
        field.value += c;
      } else if (position_ < text_.size() && text_[position_] == '"') {
        field.value += '"';
        ++position_;
      } else {
        break;
      }
    }
    if (!at_field_end(position_))
      throw RowError{position_, "text after a closing quote (a quote inside a field is written twice: \"\")",
                     after_line(position_)};
    return field;
  }

  Field bare_field() {
    Field field{"", position_};
    while (!at_field_end(position_)) {
      if (text_[position_] == '"')
        throw RowError{position_,
                       "a quote inside a field that does not start with one (quote the whole field and write the "
                       "quote twice)",
                       after_line(position_)};
      field.value += text_[position_++];
    }
    return field;
  }

  std::string path_;
  std::string text_;
  std::vector<size_t> line_starts_;
  size_t position_ = 0;
};

std::string read_whole_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(fmt::format("{}: the data file does not exist.", path));
  std::ifstream file(path, std::ios::binary);
  if (!file || std::filesystem::is_directory(path))
    throw InputError(fmt::format("{}: cannot read the data file.", path));
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

/// The class index of a label field, from 0; RowError when it is no whole
/// number in 1..num_classes.
int64_t parse_label(const Field& field, int64_t num_classes) {
  const auto first = field.value.find_first_not_of(" \t");
  const auto last = field.value.find_last_not_of(" \t");
  const auto digits = first == std::string::npos ? std::string() : field.value.substr(first, last - first + 1);
  int64_t label = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), label);
  const auto classes = num_classes > 0 ? fmt::format("1..{}", num_classes) : std::string("1 or more");
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size())
    throw RowError{field.offset, fmt::format("the label \"{}\" is not a class number ({})", field.value, classes)};
  if (label < 1 || (num_classes > 0 && label > num_classes))
    throw RowError{field.offset, fmt::format("the label {} is outside the classes {}", label, classes)};
  return label - 1;
}

/// Reads rows into `result`, checking each against the first row's field count.
class RowReader {
 public:
  explicit RowReader(const CsvOptions& options) : options_(options) {
    needed_ = options.label_column() + 1;
    for (const auto column : options.text_columns()) needed_ = std::max(needed_, column + 1);
  }

  /// Adds one parsed row to `result` (the header is only counted).
  void add(const std::vector<Field>& fields, size_t row_offset, LabelledTexts& result) {
    const auto count = static_cast<int64_t>(fields.size());
    if (expected_ == 0 && count < needed_)
      throw RowError{row_offset, fmt::format("the row has {} field(s), but the label and text columns need at least {}",
                                             count, needed_)};
    if (expected_ != 0 && count != expected_)
      throw RowError{row_offset, fmt::format("the row has {} field(s), the file's first row {}", count, expected_)};
    const bool is_header = expected_ == 0 && options_.header();
    expected_ = count;
    if (is_header) return;
    const auto label = parse_label(fields[options_.label_column()], options_.num_classes());
    std::string text;
    for (const auto column : options_.text_columns()) {
      if (!text.empty()) text += ' ';
      text += unescape_ag_news(fields[column].value);
    }
    result.texts.push_back(std::move(text));
    result.labels.push_back(label);
  }

 private:
  const CsvOptions& options_;
  int64_t needed_ = 1;
  int64_t expected_ = 0;  // fields per row, from the first row
};

}  // namespace

std::string unescape_ag_news(const std::string& text) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 'n' || text[i + 1] == '\\')) {
      result += text[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      result += text[i];
    }
  }
  return result;
}

size_t first_invalid_utf8(const std::string& text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t low = 0;  // the least code point of this length: anything below is an overlong form
    if ((lead & 0xE0) == 0xC0)
      length = 2, low = 0x80;
    else if ((lead & 0xF0) == 0xE0)
      length = 3, low = 0x800;
    else if ((lead & 0xF8) == 0xF0)
      length = 4, low = 0x10000;
    else
      return i;
    if (i + length > size) return i;
    uint32_t code = lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return i;
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    if (code < low || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::string::npos;
}

LabelledTexts read_labelled_csv(const std::string& path, const CsvOptions& options) {
  auto content = read_whole_file(path);
  if (content.find_first_not_of(" \t\r\n") == std::string::npos)
    throw InputError(fmt::format("{}: the data file is empty.", path));
  CsvScanner scanner(path, std::move(content));
  RowReader rows(options);
  LabelledTexts result;
  while (scanner.next_row()) {
    try {
      const auto start = scanner.position();
      rows.add(scanner.read_row(), start, result);
    } catch (const RowError& error) {
      const auto sentence = fmt::format("{}: {}.", scanner.where(error.offset), error.what);
      if (options.on_bad_row() == BadRowPolicy::kError) throw InputError(sentence);
      if (result.skipped_rows++ == 0) result.first_skipped = sentence;
      scanner.resume_at(error.resume);
    }
  }
  if (!result.texts.empty()) return result;
  if (result.skipped_rows > 0)
    throw InputError(fmt::format("{}: every row is malformed ({} skipped; the first: {})", path, result.skipped_rows,
                                 result.first_skipped));
  throw InputError(fmt::format("{}: the data file has no rows{}.", path, options.header() ? " after its header" : ""));
}

}  // namespace cohort::text
