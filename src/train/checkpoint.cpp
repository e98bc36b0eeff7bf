// Checkpoint layout on top of safetensors.
#include "train/checkpoint.hpp"

#include "engine/error.hpp"

namespace fbnet {
namespace {

constexpr const char* kFormat = "fbnet-checkpoint-1";
const std::string kMomentumPrefix = "optimizer.momentum.";

std::vector<float> slice(const std::vector<float>& buffer, const ParameterInfo& info) {
  return {buffer.begin() + info.offset, buffer.begin() + info.offset + info.size()};
}

// Copies tensors named prefix + parameter name into `buffer`, checking shapes.
void copy_tensors_into(const Checkpoint& checkpoint, const std::vector<ParameterInfo>& infos, const std::string& prefix,
                       std::vector<float>& buffer) {
  for (const ParameterInfo& info : infos) {
    const NamedTensor* tensor = checkpoint.file.find(prefix + info.name);
    FBNET_CHECK(tensor != nullptr, "{}: checkpoint has no tensor '{}'; it was saved from a different architecture",
                checkpoint.path, prefix + info.name);
    FBNET_CHECK(tensor->shape == info.shape,
                "{}: tensor '{}' has shape {} in the checkpoint but the model expects {}: the checkpoint is from a "
                "different architecture",
                checkpoint.path, tensor->name, shape_string(tensor->shape), shape_string(info.shape));
    std::copy(tensor->values.begin(), tensor->values.end(), buffer.begin() + info.offset);
  }
}

}  // namespace

nlohmann::json architecture_to_json(const Architecture& a) {
  nlohmann::json edges = nlohmann::json::array();
  for (const FeedbackEdge& edge : a.feedback) edges.push_back({{"source", edge.source}, {"target", edge.target}});
  return {{"input_size", a.input_size},
          {"hidden_sizes", a.hidden_sizes},
          {"classes", a.classes},
          {"dropout", a.dropout},
          {"feedback", edges},
          {"feedback_alpha", a.feedback_alpha},
          {"feedback_combine", a.feedback_combine == FeedbackCombine::kMix ? "mix" : "add"},
          {"first_step_feedback", a.first_step_feedback == FirstStepFeedback::kNone ? "none" : "zero"},
          {"readout", a.readout == Readout::kLastStep ? "last-step" : "every-step"},
          {"steps", a.steps}};
}

Architecture architecture_from_json(const nlohmann::json& json, const std::string& source) {
  try {
    Architecture a;
    a.input_size = json.at("input_size").get<int64_t>();
    a.hidden_sizes = json.at("hidden_sizes").get<std::vector<int64_t>>();
    a.classes = json.at("classes").get<int64_t>();
    a.dropout = json.at("dropout").get<double>();
    for (const auto& edge : json.at("feedback")) a.feedback.push_back({edge.at("source").get<int>(), edge.at("target").get<int>()});
    a.feedback_alpha = json.at("feedback_alpha").get<double>();
    a.feedback_combine = json.at("feedback_combine") == "mix" ? FeedbackCombine::kMix : FeedbackCombine::kAdd;
    a.first_step_feedback = json.at("first_step_feedback") == "none" ? FirstStepFeedback::kNone : FirstStepFeedback::kZero;
    a.readout = json.at("readout") == "last-step" ? Readout::kLastStep : Readout::kEveryStep;
    a.steps = json.at("steps").get<int>();
    a.validate();
    return a;
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed architecture metadata: {}", source, error.what());
  } catch (const Error& error) {
    fail("{}: invalid architecture metadata: {}", source, error.what());
  }
}

void save_checkpoint(const std::string& path, const Network<float>& network, const std::vector<float>* velocity,
                     int epoch, const nlohmann::json& config) {
  SafetensorsFile file;
  file.metadata = {{"format", kFormat},
                   {"architecture", architecture_to_json(network.architecture()).dump()},
                   {"config", config.dump()},
                   {"epoch", std::to_string(epoch)}};
  const auto& infos = network.parameters().infos();
  for (const ParameterInfo& info : infos) file.tensors.push_back({info.name, info.shape, slice(network.parameters().values(), info)});
  if (velocity != nullptr)
    for (const ParameterInfo& info : infos)
      file.tensors.push_back({kMomentumPrefix + info.name, info.shape, slice(*velocity, info)});
  write_safetensors(path, file);
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint checkpoint;
  checkpoint.path = path;
  checkpoint.file = read_safetensors(path);
  const auto& metadata = checkpoint.file.metadata;
  auto field = [&](const char* key) -> const std::string& {
    const auto it = metadata.find(key);
    FBNET_CHECK(it != metadata.end(), "{}: not an fbnet checkpoint (metadata has no '{}')", path, key);
    return it->second;
  };
  FBNET_CHECK(field("format") == kFormat, "{}: checkpoint format '{}' is not {}", path, field("format"), kFormat);
  try {
    checkpoint.architecture = architecture_from_json(nlohmann::json::parse(field("architecture")), path);
    checkpoint.config = nlohmann::json::parse(field("config"));
    checkpoint.epoch = std::stoi(field("epoch"));
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed checkpoint metadata: {}", path, error.what());
  } catch (const std::logic_error&) {
    fail("{}: malformed checkpoint metadata: epoch '{}' is not a number", path, field("epoch"));
  }
  return checkpoint;
}

void load_weights(const Checkpoint& checkpoint, Network<float>& network) {
  copy_tensors_into(checkpoint, network.parameters().infos(), "", network.parameters().values());
}

void load_velocity(const Checkpoint& checkpoint, const Network<float>& network, std::vector<float>& velocity) {
  copy_tensors_into(checkpoint, network.parameters().infos(), kMomentumPrefix, velocity);
}

}  // namespace fbnet
