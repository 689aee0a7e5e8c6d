// Reading configs as untrusted input (core: config::parse_json, --set,
// Schema's number checks, excerpt). In this LibTorch-free binary because
// core needs no LibTorch (issue 19, items 1, 5, 10, 13).

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "cohort/config/config.h"
#include "cohort/core/error.h"
#include "cohort/core/excerpt.h"

using cohort::InputError;
using cohort::config::Json;
using cohort::config::Range;
using cohort::config::Schema;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

std::string nested(const std::string& open, const std::string& close, int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += open;
  text += "1";
  for (int i = 0; i < depth; ++i) text += close;
  return text;
}

std::string parse_error_of(const std::string& text) {
  return error_of([&] { cohort::config::parse_json(text, "c.json"); });
}

Schema numbers() {
  return Schema()
      .integer("count", 1, "a count", Range::at_least(1))
      .integer("seed", 0, "a seed", Range::at_least(0).widened())
      .integer("open", 1, "open bounds", Range{0.0, 10.0, true, true})
      .number("rate", 0.1, "a rate", Range::positive())
      .number("any", 0.0, "anything");
}

std::string validation_error_of(const Json& config) {
  return error_of([&] { numbers().validate(config, "c.json"); });
}

}  // namespace

TEST_CASE("nesting deeper than a config needs is refused while parsing", "[config][input]") {
  using cohort::config::kMaxJsonDepth;
  CHECK_NOTHROW(cohort::config::parse_json(nested("[", "]", kMaxJsonDepth), "c.json"));
  CHECK_THAT(parse_error_of(nested("[", "]", kMaxJsonDepth + 1)),
             Equals("c.json: the JSON nests objects and lists deeper than 64 levels, more than a config can need."));
  // The reproducers: 100,000 objects crashed validation with SIGSEGV, 300,000 lists crashed too.
  CHECK_THAT(parse_error_of("{\"model\":{\"name\":\"mlp\",\"dropout\":" + nested("{\"a\":", "}", 100000) + "}}"),
             Contains("deeper than 64 levels"));
  CHECK_THAT(parse_error_of(nested("[", "]", 300000)), Contains("deeper than 64 levels"));
}

TEST_CASE("what JSON allows but a config must not hold is refused", "[config][input]") {
  CHECK_THAT(parse_error_of("{\"optimizer\": {\"lr\": 0.1, \"lr\": 0.2}}"),
             Equals("c.json: the key \"optimizer.lr\" is given twice in one object; JSON keeps only one of them, so "
                    "write it once."));
  CHECK_THAT(parse_error_of("{\"a\": [{\"x\": 1}, {\"x\": 2, \"x\": 3}]}"), Contains("the key \"a[].x\" is given twice"));
  // The same key in two objects is fine.
  CHECK_NOTHROW(cohort::config::parse_json("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}, \"x\": [{\"x\": 1}, {\"x\": 2}]}", "c"));
  CHECK_THAT(parse_error_of(std::string("{\"seed\": 1}\0", 12)),
             Equals("c.json: byte 11 is a NUL character, which JSON text cannot hold."));
  CHECK_THAT(parse_error_of(std::string("{\"seed\": 1}\0{\"seed\": 2}", 23)), Contains("byte 11 is a NUL"));
  CHECK_THAT(parse_error_of("{\"seed\": 1e309}"),
             Equals("c.json: the number '1e309' is too large for a double (at most about 1.8e308)."));
  CHECK_THROWS_AS(cohort::config::parse_json("{\"seed\": }", "c.json"), Json::parse_error);
}

TEST_CASE("a directory given as a config is called one", "[config][input]") {
  const auto directory = std::filesystem::temp_directory_path().string();
  CHECK_THAT(error_of([&] { cohort::config::read_json_file(directory); }),
             Equals(directory + ": is a directory, not a config file."));
}

TEST_CASE("an override (--set) refuses what would break later, and reads everything else", "[config][input]") {
  Json config = Json::object();
  CHECK_THAT(error_of([&] { cohort::config::apply_override(config, "output_dir=\xff"); }),
             Contains("not valid UTF-8 text"));
  CHECK_THAT(error_of([&] { cohort::config::apply_override(config, "model.hidden=" + nested("[", "]", 100)); }),
             Contains("deeper than 64 levels"));
  CHECK_THAT(error_of([&] { cohort::config::apply_override(config, "seed=1e309"); }),
             Contains("--set seed=1e309: the number '1e309' is too large"));
  CHECK_THAT(error_of([&] { cohort::config::apply_override(config, "a.=1"); }), Contains("the key path has an empty part"));
  std::string deep_path;
  for (int i = 0; i < 60000; ++i) deep_path += "a.";
  CHECK_THAT(error_of([&] { cohort::config::apply_override(config, deep_path + "b=1"); }),
             Contains("the key path has 60001 parts, more than the 64 levels a config may nest."));
  cohort::config::apply_override(config, "a.b=[1, 2");  // not JSON: the text itself
  CHECK(config["a"]["b"] == "[1, 2");
  const auto assignment = cohort::config::parse_assignment("space.optimizer.lr={\"type\": \"fixed\", \"value\": 1}");
  CHECK(assignment.path == "space.optimizer.lr");
  CHECK(assignment.value["value"] == 1);
}

TEST_CASE("integer keys refuse what their type cannot hold, never wrap", "[config][input]") {
  CHECK_THAT(validation_error_of({{"count", 4294967297LL}}),
             Equals("c.json: \"count\" must be an integer between 1 and 2147483647, got 4294967297."));
  CHECK_THAT(validation_error_of({{"count", 1e19}}), Contains("between 1 and 2147483647, got 1e+19."));
  CHECK_THAT(validation_error_of({{"count", -3e9}}), Contains("\"count\" must be at least 1, got -3000000000."));
  CHECK_THAT(validation_error_of({{"count", 0}}), Equals("c.json: \"count\" must be at least 1, got 0."));
  CHECK_THAT(validation_error_of({{"seed", 18446744073709551615ULL}}),
             Contains("\"seed\" must be an integer between 0 and 9223372036854775807, got 18446744073709551615."));
  CHECK_THAT(validation_error_of({{"seed", 9223372036854775808.0}}), Contains("between 0 and 9223372036854775807"));
  CHECK_THAT(validation_error_of({{"open", 0}}), Contains("\"open\" must be in (0, 10), got 0."));
  const auto valid = numbers().validate({{"seed", 9223372036854775807LL}, {"count", 2147483647}, {"open", 9}}, "c");
  CHECK(valid["seed"].get<int64_t>() == 9223372036854775807LL);
  CHECK(valid["count"].get<int64_t>() == 2147483647);
  CHECK(numbers().validate({{"count", 3.0}}, "c")["count"].is_number_integer());
}

TEST_CASE("number keys refuse what a float32 cannot hold", "[config][input]") {
  CHECK_THAT(validation_error_of({{"rate", 1e308}}),
             Equals("c.json: \"rate\" must be a finite number of at most 3.40282e+38 in magnitude (what a float32 "
                    "holds), got 1e+308."));
  CHECK_THAT(validation_error_of({{"any", -1e39}}), Contains("\"any\" must be a finite number"));
  CHECK_THAT(validation_error_of({{"rate", 0}}), Contains("\"rate\" must be greater than 0, got 0."));
  CHECK(numbers().validate({{"any", -3e38}}, "c")["any"].get<double>() == -3e38);
}

TEST_CASE("a section that takes no keys says so", "[config][input]") {
  const auto schema = Schema()
                          .variant("scheduler", "asha", {{"asha", Schema()}, {"hyperband", Schema().integer("max_brackets", 0, "")}}, "")
                          .object("empty", Schema(), "");
  CHECK_THAT(error_of([&] { schema.validate({{"scheduler", {{"name", "asha"}, {"max_brackets", 2}}}}, "s.json"); }),
             Equals("s.json: unknown key \"scheduler.max_brackets\": \"scheduler\" with \"name\": \"asha\" takes no "
                    "other keys."));
  CHECK_THAT(error_of([&] { schema.validate({{"empty", {{"x", 1}}}}, "s.json"); }),
             Equals("s.json: unknown key \"empty.x\": no keys are allowed there."));
}

TEST_CASE("values quoted in messages are short and on one line", "[config][input]") {
  CHECK(cohort::excerpt("abc") == "abc");
  CHECK(cohort::excerpt("a\nb\tc\x01") == "a\\nb\\tc\\x01");
  CHECK(cohort::excerpt(std::string(100, 'x')) == std::string(80, 'x') + "…");
  CHECK(cohort::excerpt(std::string(80, 'x')) == std::string(80, 'x'));
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";
  std::string expected;
  for (int i = 0; i < 80; ++i) expected += "é";
  CHECK(cohort::excerpt(accents) == expected + "…");  // cut between characters, not inside one
  const auto message = validation_error_of({{"count", std::string(16 << 20, 'm')}});
  CHECK(message.size() < 200);
  CHECK_THAT(message, Contains("\"" + std::string(80, 'm') + "…\""));
}

TEST_CASE("UTF-8 is checked as JSON requires", "[config][input]") {
  CHECK(cohort::is_valid_utf8("plain ascii"));
  CHECK(cohort::is_valid_utf8("é € 𝄞"));
  CHECK_FALSE(cohort::is_valid_utf8("\xff"));
  CHECK_FALSE(cohort::is_valid_utf8("\xc0\x80"));          // an overlong NUL
  CHECK_FALSE(cohort::is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(cohort::is_valid_utf8("\xe2\x82"));          // cut short
  CHECK_FALSE(cohort::is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
}

TEST_CASE("bytes that are not UTF-8 are quoted as escapes", "[config][input]") {
  CHECK(cohort::excerpt("a\xff" "b") == "a\\xffb");
  CHECK(cohort::excerpt("\xe2\x82") == "\\xe2\\x82");
  CHECK(cohort::excerpt("€") == "€");
}
