#include "event_encoding.h"

#include "tensorboard.pb.h"

namespace cohort::tensorboard::encoding {
namespace pb = cohort::tensorboard::proto;
namespace {

// The HParams plugin's names (tensorboard/plugins/hparams/metadata.py).
constexpr const char* kPluginName = "hparams";
constexpr int kPluginDataVersion = 0;
constexpr const char* kExperimentTag = "_hparams_/experiment";
constexpr const char* kSessionStartTag = "_hparams_/session_start_info";
constexpr const char* kSessionEndTag = "_hparams_/session_end_info";
constexpr int kDtFloat = 1;

std::string serialized(pb::Event& event, double wall_time) {
  event.set_wall_time(wall_time);
  return event.SerializeAsString();
}

/// An event with one summary value tagged `tag` holding the plugin's data. The
/// value is an empty float tensor, as TensorBoard's own hparams summaries have.
std::string plugin_event(const char* tag, const pb::HParamsPluginData& data, double wall_time) {
  pb::Event event;
  auto* value = event.mutable_summary()->add_value();
  value->set_tag(tag);
  auto* plugin = value->mutable_metadata()->mutable_plugin_data();
  plugin->set_plugin_name(kPluginName);
  plugin->set_content(data.SerializeAsString());
  auto* tensor = value->mutable_tensor();
  tensor->set_dtype(kDtFloat);
  tensor->mutable_tensor_shape()->add_dim()->set_size(0);
  return serialized(event, wall_time);
}

void set_value(google::protobuf::Value& out, const nlohmann::json& value) {
  if (value.is_boolean())
    out.set_bool_value(value.get<bool>());
  else if (value.is_number())
    out.set_number_value(value.get<double>());
  else if (value.is_string())
    out.set_string_value(value.get<std::string>());
  else
    out.set_string_value(value.dump());
}

pb::HParamDataType data_type(HParamInfo::Type type) {
  switch (type) {
    case HParamInfo::Type::kString: return pb::DATA_TYPE_STRING;
    case HParamInfo::Type::kBool: return pb::DATA_TYPE_BOOL;
    case HParamInfo::Type::kFloat: break;
  }
  return pb::DATA_TYPE_FLOAT64;
}

void set_hparam(pb::HParamInfo& out, const HParamInfo& info) {
  out.set_name(info.name);
  out.set_type(data_type(info.type));
  if (info.interval) {
    out.mutable_domain_interval()->set_min_value(info.interval->first);
    out.mutable_domain_interval()->set_max_value(info.interval->second);
  } else if (!info.values.empty()) {
    auto* list = out.mutable_domain_discrete();
    for (const auto& value : info.values) set_value(*list->add_values(), value);
  }
}

}  // namespace

std::string file_version_event(double wall_time) {
  pb::Event event;
  event.set_file_version("brain.Event:2");
  return serialized(event, wall_time);
}

std::string scalar_event(const std::string& tag, float value, int64_t step, double wall_time) {
  pb::Event event;
  event.set_step(step);
  auto* summary_value = event.mutable_summary()->add_value();
  summary_value->set_tag(tag);
  summary_value->set_simple_value(value);
  return serialized(event, wall_time);
}

std::string experiment_event(const HParamsExperiment& experiment, double wall_time) {
  pb::HParamsPluginData data;
  data.set_version(kPluginDataVersion);
  auto* out = data.mutable_experiment();
  out->set_time_created_secs(experiment.time_created);
  for (const auto& info : experiment.hparams) set_hparam(*out->add_hparam_infos(), info);
  for (const auto& tag : experiment.metrics) out->add_metric_infos()->mutable_name()->set_tag(tag);
  return plugin_event(kExperimentTag, data, wall_time);
}

std::string session_start_event(const nlohmann::json& hparams, double wall_time) {
  pb::HParamsPluginData data;
  data.set_version(kPluginDataVersion);
  auto* start = data.mutable_session_start_info();
  start->set_start_time_secs(wall_time);
  for (const auto& [name, value] : hparams.items()) set_value((*start->mutable_hparams())[name], value);
  return plugin_event(kSessionStartTag, data, wall_time);
}

std::string session_end_event(SessionStatus status, double wall_time) {
  pb::HParamsPluginData data;
  data.set_version(kPluginDataVersion);
  auto* end = data.mutable_session_end_info();
  end->set_status(pb::SessionStatus(int(status)));
  end->set_end_time_secs(wall_time);
  return plugin_event(kSessionEndTag, data, wall_time);
}

}  // namespace cohort::tensorboard::encoding
