#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cohort/core/error.h"
#include "cohort/tuner/test_functions/test_functions.h"
#include "cohort/tuner/report/report.h"
#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "common/temporary_directory.h"
#include "helpers.h"

using namespace cohort::tuner;
using namespace cohort::tuner::report;
using cohort::testing::temporary_directory;
using cohort::tuner::testing::run_sequentially;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const std::string kHostileError = "crashed: </script><script>alert(1)</script> <!-- & \"quoted\"";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

/// The text of the page's data element, as a browser would see it.
std::string embedded_json(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const auto begin = page.find(open);
  REQUIRE(begin != std::string::npos);
  const auto end = page.find("</script>", begin);
  REQUIRE(end != std::string::npos);
  return page.substr(begin + open.size(), end - begin - open.size());
}

/// A metrics.jsonl as the trainer writes it: one epoch record per line, the
/// validation loss falling towards `final_loss`.
void write_metrics(const fs::path& path, int epochs, double final_loss, bool torn_tail) {
  std::ofstream out(path);
  for (int epoch = 1; epoch <= epochs; ++epoch)
    out << Json{{"event", "epoch"}, {"epoch", epoch}, {"train_loss", 2.0 / epoch},
                {"val_loss", final_loss + 1.0 / epoch - 1.0 / epochs}}.dump() << "\n";
  if (torn_tail) out << R"({"event":"epoch","epoch":)";
}

/// Hyperband on Branin (budgets 1, 3, 9), one trial failing for good with an
/// error that tries to end the page's script element.
std::unique_ptr<Study> small_study() {
  auto study = std::make_unique<Study>(
      std::make_unique<RandomSampler>(branin().space),
      std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9).eta(3).max_brackets(2)),
      StudyOptions().seed(3).max_failures(0));
  run_sequentially(*study, [](const Trial& trial) {
    if (trial.id == 2) return Result::failed(kHostileError);
    return Result::completed(branin().evaluate(trial.config, trial.budget));
  });
  return study;
}

/// The study's report input, with a metrics.jsonl in `dir`/<trial id>/ for
/// every completed trial (the first with a torn last line), as cohort-tune lays them out.
ReportInput report_input_with_curves(const Study& study, const fs::path& dir) {
  for (const auto& [id, record] : study.trials()) {
    fs::create_directories(dir / std::to_string(id));
    const auto metrics = dir / std::to_string(id) / "metrics.jsonl";
    if (record.value) write_metrics(metrics, int(record.trial.budget), *record.value, /*torn_tail=*/id == 0);
  }
  // The objective as a sweep names it; metrics.jsonl calls it val_loss.
  return report_input(study, "branin sweep", "validation.loss", dir.string());
}

}  // namespace

TEST_CASE("a report inlines Chart.js and embeds the study's data as JSON", "[tuner][report]") {
  const auto dir = temporary_directory("report");
  const auto study = small_study();
  REQUIRE(study->trials().at(2).state == TrialState::kFailed);
  write_report((dir / "report.html").string(), report_input_with_curves(*study, dir / "trials"));
  const auto page = read_text(dir / "report.html");

  CHECK_THAT(page, Contains("Chart.js v"));  // the library's license banner
  CHECK_THAT(page, Contains(".Chart=") || Contains(".Chart ="));
  CHECK(page.size() > 150000);
  CHECK_THAT(page, Contains("<title>branin sweep"));

  const auto text = embedded_json(page);
  // No '<' at all in the data: neither the error's "</script>" nor its "<!--"
  // can end or upset the script element; the page has exactly its own three.
  CHECK(text.find('<') == std::string::npos);
  CHECK(count_of(page, "</script>") == 3);
  const auto data = Json::parse(text);

  CHECK(data["trials"].size() == study->trials().size());
  CHECK(data["counts"]["failed"] == 1);
  CHECK(data["trials"][2]["state"] == "failed");
  CHECK(data["trials"][2]["error"] == kHostileError);
  const auto best = study->best();
  REQUIRE(best);
  CHECK(data["best"]["trial_id"] == best->trial.id);
  CHECK(data["best"]["value"].get<double>() == *best->value);
  CHECK(data["best"]["config"] == best->trial.config);
  // The best-so-far trace ends at the same best, after every finished trial's budget.
  double spent = 0.0;
  for (const auto& [id, record] : study->trials()) spent += record.trial.budget;
  CHECK(data["progress"].size() == study->trials().size());
  CHECK(data["progress"].back()["best"].get<double>() == *best->value);
  CHECK(data["progress"].back()["spent"].get<double>() == Approx(spent));

  // Curves show the objective, found under the trainer's name; the torn line is gone.
  CHECK(data["curve_metric"] == "validation.loss");
  const auto& first = data["trials"][0];
  CHECK(first["curve"].size() == size_t(first["budget"].get<double>()));
  CHECK(first["curve"].back()[1].get<double>() == Approx(first["value"].get<double>()));
  CHECK(data["trials"][2]["curve"].empty());

  // One axis per parameter and one for the objective; one line per
  // configuration that completed, all positions in [0, 1].
  const auto& parallel = data["parallel"];
  CHECK(parallel["axes"].size() == study->space().size() + 1);
  std::set<int64_t> completed_configs;
  for (const auto& [id, record] : study->trials())
    if (record.value) completed_configs.insert(record.trial.config_id);
  CHECK(parallel["lines"].size() == completed_configs.size());
  for (const auto& line : parallel["lines"])
    for (const auto& at : line["at"]) CHECK((at.get<double>() >= 0.0 && at.get<double>() <= 1.0));
}

TEST_CASE("the parallel-coordinates view scales log parameters and spaces choices evenly", "[tuner][report]") {
  SearchSpace space;
  space.add(Parameter::log_uniform("optimizer.lr", 1e-4, 1e-1))
      .add(Parameter::choice("model.hidden", {Json::array({128}), Json::array({256, 256}), Json::array({512})}))
      .add(Parameter::integer("batch", 16, 64));
  ReportInput input;
  input.objective = "validation.accuracy";
  input.direction = Direction::kMaximize;
  input.space = &space;
  const auto trial = [](int64_t id, Json config, double value) {
    TrialRecord record;
    record.trial.id = id;
    record.trial.config_id = id;
    record.trial.budget = 1.0;
    record.trial.config = std::move(config);
    record.state = TrialState::kCompleted;
    record.value = value;
    record.submitted = 100.0 + double(id);
    record.finished = 101.0 + double(id);
    return ReportTrial{record, {}};
  };
  input.trials.push_back(
      trial(0, {{"optimizer.lr", std::pow(10.0, -2.5)}, {"model.hidden", {256, 256}}, {"batch", 40}}, 0.8));
  input.trials.push_back(trial(1, {{"optimizer.lr", 1e-4}, {"model.hidden", {512}}, {"batch", 16}}, 0.9));
  input.trials.push_back(trial(2, {{"optimizer.lr", 0.5}, {"model.hidden", "gone"}, {"batch", 64}}, 0.7));

  const auto dir = temporary_directory("report-parallel");
  write_report((dir / "report.html").string(), input);
  const auto data = Json::parse(embedded_json(read_text(dir / "report.html")));
  const auto& lines = data["parallel"]["lines"];
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["at"][0].get<double>() == Approx(0.5));   // 10^-2.5 halfway in log between 1e-4 and 1e-1
  CHECK(lines[0]["at"][1].get<double>() == Approx(0.5));   // the middle of three choices
  CHECK(lines[0]["at"][2].get<double>() == Approx(0.5));   // 40 halfway between 16 and 64
  CHECK(lines[1]["at"][1].get<double>() == Approx(1.0));
  CHECK(lines[1]["at"][3].get<double>() == Approx(1.0));   // the highest value tops the objective axis
  CHECK(lines[2]["at"][0].is_null());                       // outside the space's range: no position
  CHECK(lines[2]["at"][1].is_null());                       // not one of its choices: none either
  CHECK(lines[2]["at"][3].get<double>() == Approx(0.0));
  const auto& choice_ticks = data["parallel"]["axes"][1]["ticks"];
  REQUIRE(choice_ticks.size() == 3);
  CHECK(choice_ticks[1]["value"] == Json::array({256, 256}));
  CHECK(data["parallel"]["axes"][0]["label"] == "optimizer.lr (log)");
  // Maximised: the best is the highest value; no curves, so the training loss is named.
  CHECK(data["best"]["trial_id"] == 1);
  CHECK(data["direction"] == "maximize");
  CHECK(data["curve_metric"] == "train_loss");
  CHECK(data["wall_seconds"].get<double>() == Approx(3.0));
}

TEST_CASE("a second report replaces the first atomically", "[tuner][report]") {
  const auto dir = temporary_directory("report-replace");
  const auto path = dir / "report.html";
  ReportInput input;
  input.title = "first";
  input.objective = "loss";
  write_report(path.string(), input);
  std::ifstream reader(path, std::ios::binary);  // a reader that has the first page open
  input.title = "second";
  write_report(path.string(), input);
  // The open reader still reads the whole first page: the file was replaced
  // by a rename, not rewritten in place.
  std::ostringstream old_page;
  old_page << reader.rdbuf();
  CHECK_THAT(old_page.str(), Contains("<title>first"));
  CHECK_THAT(old_page.str(), Contains("</html>"));
  CHECK_THAT(read_text(path), Contains("<title>second"));
  for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().filename() == "report.html");
}

TEST_CASE("a report that cannot be written is an input error naming the file", "[tuner][report]") {
  const auto dir = temporary_directory("report-unwritable");
  std::ofstream(dir / "a-file") << "not a directory";
  const auto path = (dir / "a-file" / "report.html").string();
  CHECK_THROWS_AS(write_report(path, ReportInput{}), cohort::InputError);
  CHECK_THROWS_WITH(write_report(path, ReportInput{}), Contains(path + ": cannot write the report"));
}

TEST_CASE("read_curve reads metrics records and skips torn lines", "[tuner][report]") {
  const auto dir = temporary_directory("report-curve");
  CHECK(read_curve((dir / "missing.jsonl").string()).empty());
  // A run torn after epoch 2, resumed, and torn again at its end.
  std::ofstream(dir / "metrics.jsonl") << R"({"epoch":1,"train_loss":1.5})" "\n"
                                       << R"({"epoch":2,"train_loss":1.0})" "\n"
                                       << R"({"epoch":3,"tra)" "\n"
                                       << R"({"epoch":3,"train_loss":0.8})" "\n"
                                       << R"({"epoch":4,"train_)";
  const auto curve = read_curve((dir / "metrics.jsonl").string());
  REQUIRE(curve.size() == 3);
  CHECK(curve[2]["epoch"] == 3);
  CHECK(curve[2]["train_loss"] == 0.8);
}

TEST_CASE("learning curves: a nested metric, epochs run again, and at most 100 curves, best first", "[tuner][report]") {
  ReportInput input;
  input.objective = "validation.accuracy";
  input.direction = Direction::kMaximize;
  for (int64_t id = 0; id < 120; ++id) {
    TrialRecord record;
    record.trial.id = id;
    record.trial.config_id = id;
    record.trial.budget = 2.0;
    record.state = TrialState::kCompleted;
    record.value = 0.5 + 0.001 * double((id * 37) % 120);  // trial 107 is the best (0.619)
    // Epoch 2 ran twice (a resume from the epoch-1 checkpoint): the later record counts.
    std::vector<Json> curve = {{{"epoch", 1}, {"validation", {{"accuracy", 0.3}}}},
                               {{"epoch", 2}, {"validation", {{"accuracy", 0.1}}}},
                               {{"epoch", 2}, {"validation", {{"accuracy", *record.value}}}}};
    input.trials.push_back({record, curve});
  }
  const auto dir = temporary_directory("report-curves");
  write_report((dir / "report.html").string(), input);
  const auto data = Json::parse(embedded_json(read_text(dir / "report.html")));
  CHECK(data["curve_metric"] == "validation.accuracy");
  CHECK(data["curves_total"] == 120);
  CHECK(data["best"]["trial_id"] == 107);
  size_t shown = 0;
  double lowest_shown = 1.0;
  for (const auto& trial : data["trials"]) {
    if (trial["curve"].empty()) continue;
    ++shown;
    lowest_shown = std::min(lowest_shown, trial["value"].get<double>());
    REQUIRE(trial["curve"].size() == 2);
    CHECK(trial["curve"][1] == Json::array({2.0, trial["value"]}));
  }
  CHECK(shown == 100);
  CHECK(lowest_shown == Approx(0.52));  // the 20 lowest values (0.500 .. 0.519) are left out
  CHECK(data["trials"][107]["curve"].size() == 2);
}

TEST_CASE("an error text that is not UTF-8 still gives a report", "[tuner][report]") {
  TrialRecord record;
  record.state = TrialState::kFailed;
  record.error = "killed by signal \xff\xfe";  // raw bytes from a crashing process
  ReportInput input;
  input.objective = "loss";
  input.trials.push_back({record, {}});
  const auto dir = temporary_directory("report-utf8");
  REQUIRE_NOTHROW(write_report((dir / "report.html").string(), input));
  const auto data = Json::parse(embedded_json(read_text(dir / "report.html")));
  CHECK_THAT(data["trials"][0]["error"].get<std::string>(), Contains("killed by signal \xEF\xBF\xBD"));
}
