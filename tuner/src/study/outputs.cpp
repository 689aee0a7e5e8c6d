#include "cohort/tuner/study/outputs.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "cohort/core/files.h"
#include "cohort/core/run_layout.h"

namespace cohort::tuner {
namespace {

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_value(const Json& value) { return csv_cell(value.is_string() ? value.get<std::string>() : value.dump()); }

/// HpBandSter names a configuration (iteration, 0, index within the iteration);
/// Cohort's bracket is the iteration.
std::map<int64_t, Json> hpbandster_ids(const Study& study) {
  std::map<int64_t, Json> ids;
  std::map<int, int64_t> next_index;
  for (const auto& [id, record] : study.trials()) {
    const auto& trial = record.trial;
    if (!ids.count(trial.config_id)) ids[trial.config_id] = Json::array({trial.bracket, 0, next_index[trial.bracket]++});
  }
  return ids;
}

Json best_json(const Study& study) {
  const auto best = study.best();
  if (!best) return Json::object();
  return {{"trial_id", best->trial.id}, {"config_id", best->trial.config_id}, {"budget", best->trial.budget},
          {"value", *best->value},      {"config", best->trial.config}};
}

/// The text of HpBandSter's configs.json (one line per configuration) and
/// results.json (one line per finished run).
struct HpBandSterFiles {
  std::string configs;
  std::string results;
};

HpBandSterFiles hpbandster_files(const Study& study) {
  const auto ids = hpbandster_ids(study);
  const double start = study.trials().empty() ? 0.0 : study.trials().begin()->second.submitted;
  std::ostringstream configs, runs;
  std::map<int64_t, bool> written;
  for (const auto& [id, record] : study.trials()) {
    const auto& trial = record.trial;
    if (!written[trial.config_id]) {
      configs << Json::array({ids.at(trial.config_id), trial.config, {{"model_based_pick", trial.model_based}}}).dump()
              << "\n";
      written[trial.config_id] = true;
    }
    if (record.state == TrialState::kRunning) continue;
    const Json times = {{"submitted", record.submitted - start}, {"started", record.submitted - start},
                        {"finished", record.finished - start}};
    const Json result = record.value ? Json{{"loss", study.loss_of(*record.value)}, {"info", record.info}} : Json();
    const Json exception = record.error.empty() ? Json() : Json(record.error);
    runs << Json::array({ids.at(trial.config_id), trial.budget, times, result, exception}).dump() << "\n";
  }
  return {configs.str(), runs.str()};
}

}  // namespace

std::string results_csv(const Study& study) {
  std::ostringstream out;
  out << "trial_id,config_id,budget,bracket,rung,attempt,state,value,seconds,error";
  for (const auto& p : study.space().parameters()) out << "," << csv_cell(p.path);
  out << "\n";
  for (const auto& [id, record] : study.trials()) {
    const auto& t = record.trial;
    out << t.id << "," << t.config_id << "," << Json(t.budget).dump() << "," << t.bracket << "," << t.rung << ","
        << t.attempt << "," << state_name(record.state) << "," << (record.value ? Json(*record.value).dump() : "")
        << "," << (record.finished > 0 ? Json(record.finished - record.submitted).dump() : "") << ","
        << csv_cell(record.error);
    for (const auto& p : study.space().parameters()) out << "," << csv_value(t.config.value(p.path, Json()));
    out << "\n";
  }
  return out.str();
}

void write_outputs(const Study& study, const std::string& directory) {
  const std::filesystem::path dir(directory);
  const auto hpbandster = hpbandster_files(study);
  write_file_atomically((dir / run_layout::kResults).string(), results_csv(study));
  write_file_atomically((dir / run_layout::kBest).string(), best_json(study).dump(2) + "\n");
  write_file_atomically((dir / "configs.json").string(), hpbandster.configs);
  write_file_atomically((dir / "results.json").string(), hpbandster.results);
}

}  // namespace cohort::tuner
