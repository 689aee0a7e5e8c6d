#include "cohort/tuner/report/report.h"

#include <filesystem>
#include <fstream>

#include "assets.h"
#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "data.h"
#include "cohort/core/run_layout.h"

namespace cohort::tuner::report {
namespace {

std::string html_escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

/// JSON that can sit inside a <script> element: '<' only occurs inside JSON
/// strings, where \u003c means the same, so no "</script>" (and no "<!--")
/// in an error text can end the element early. Invalid UTF-8 (from a
/// crashing trial's output) becomes U+FFFD instead of failing the report.
std::string script_safe_json(const Json& data) {
  const auto text = data.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string safe;
  safe.reserve(text.size());
  for (char c : text) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return safe;
}

/// The page's sections; report.js fills them from the embedded data.
constexpr const char* kBody = R"(<header><h1 id="title"></h1><p id="subtitle"></p><dl id="summary"></dl></header>
<main>
<section><h2>Best so far</h2>
<p class="help">The step line is the best value found by then (at the largest budget finished by then,
as in best.json); dots are single trials.</p>
<div class="pair">
<div class="chart"><canvas id="best-time"></canvas></div>
<div class="chart"><canvas id="best-budget"></canvas></div>
</div></section>
<section><h2>Every trial against its budget</h2>
<div class="chart wide"><canvas id="value-budget"></canvas></div></section>
<section><h2>Learning curves</h2><p class="help" id="curves-note"></p>
<div class="chart wide"><canvas id="curves"></canvas></div></section>
<section><h2>Configurations</h2>
<p class="help">One line per configuration, at its largest completed budget, coloured by its value
(dark: best); the best trial is thick and red. The last axis is the objective.</p>
<div class="chart wide parallel"><canvas id="parallel"></canvas></div></section>
<section><h2>Trials</h2><div class="table"><table id="trials"></table></div></section>
</main>
)";

std::string page(const ReportInput& input) {
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + html_escape(input.title) + " — Cohort sweep report</title>\n";
  html += std::string("<style>\n") + assets::page_style() + "</style>\n</head>\n<body>\n";
  html += kBody;
  html += "<script type=\"application/json\" id=\"report-data\">";
  html += script_safe_json(report_data(input)) + "</script>\n";
  html += std::string("<script>\n") + assets::chartjs() + "\n</script>\n";
  html += std::string("<script>\n") + assets::page_script() + "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace

void write_report(const std::string& path, const ReportInput& input) {
  const auto html = page(input);
  try {
    write_file_atomically(path, html);
  } catch (const std::exception& error) {
    throw InputError(path + ": cannot write the report (" + error.what() + ").");
  }
}

ReportInput report_input(const Study& study, std::string title, std::string objective, const std::string& trials_dir) {
  ReportInput input;
  input.title = std::move(title);
  input.objective = std::move(objective);
  input.direction = study.options().direction();
  input.space = &study.space();
  for (const auto& [id, record] : study.trials()) {
    const auto metrics = run_layout::in((std::filesystem::path(trials_dir) / std::to_string(id)).string(),
                                        run_layout::kMetrics);
    input.trials.push_back({record, trials_dir.empty() ? std::vector<Json>() : read_curve(metrics)});
  }
  return input;
}

std::vector<Json> read_curve(const std::string& metrics_path) {
  std::vector<Json> records;
  std::ifstream in(metrics_path);
  for (std::string line; std::getline(in, line);) {
    // A line that is not a JSON object was torn by a crash: the last line, or
    // one that a resumed run appended after.
    auto record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

}  // namespace cohort::tuner::report
