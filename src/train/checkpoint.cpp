// Checkpoint layout on top of safetensors.
#include "train/checkpoint.hpp"

#include <charconv>

#include "engine/error.hpp"

namespace fbnet {
namespace {

// Format 2 adds the running gradient sum G (--gradient-accumulation
// running-sum), so that a binary that knows only format 1 refuses such a
// checkpoint instead of resuming it without G.
constexpr const char* kFormat = "fbnet-checkpoint-1";
constexpr const char* kFormatWithGradientSum = "fbnet-checkpoint-2";
const std::string kMomentumPrefix = "optimizer.momentum.";
const std::string kGradientSumPrefix = "optimizer.gradient_sum.";

std::vector<float> slice(const std::vector<float>& buffer, const ParameterInfo& info) {
  return {buffer.begin() + info.offset, buffer.begin() + info.offset + info.size()};
}

// Every weight the architecture declares is in the file with its shape, so
// the metadata cannot make us allocate more than the file holds.
void check_weights_present(const Checkpoint& checkpoint) {
  for (const ParameterInfo& info : parameter_layout(checkpoint.architecture)) {
    const NamedTensor* tensor = checkpoint.file.find(info.name);
    FBNET_CHECK(tensor != nullptr && tensor->shape == info.shape,
                "{}: the architecture in its metadata needs tensor '{}' of shape {}, which the file {}",
                checkpoint.path, info.name, shape_string(info.shape), tensor == nullptr ? "lacks" : "has with another shape");
  }
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
          {"feedback_combine", to_string(a.feedback_combine)},
          {"first_step_feedback", to_string(a.first_step_feedback)},
          {"readout", to_string(a.readout)},
          {"steps", a.steps}};
}

Architecture architecture_from_json(const nlohmann::json& json, const std::string& source) {
  // Integers must be JSON integers: converting 1e30 to int64 would be undefined.
  auto integer = [&](const nlohmann::json& value, const char* field) -> int64_t {
    FBNET_CHECK(value.is_number_integer(), "{}: architecture field '{}' must be an integer, got {}", source, field,
                value.dump());
    return value.get<int64_t>();
  };
  auto small_integer = [&](const nlohmann::json& value, const char* field) -> int {
    const int64_t v = integer(value, field);
    FBNET_CHECK(v >= -(int64_t{1} << 30) && v <= (int64_t{1} << 30), "{}: architecture field '{}' = {} is out of range",
                source, field, v);
    return static_cast<int>(v);
  };
  auto text = [&](const nlohmann::json& value, const char* field) -> std::string {
    FBNET_CHECK(value.is_string(), "{}: architecture field '{}' must be a string", source, field);
    return value.get<std::string>();
  };
  try {
    Architecture a;
    a.input_size = integer(json.at("input_size"), "input_size");
    a.hidden_sizes.clear();
    FBNET_CHECK(json.at("hidden_sizes").is_array(), "{}: architecture field 'hidden_sizes' must be a list", source);
    for (const auto& size : json.at("hidden_sizes")) a.hidden_sizes.push_back(integer(size, "hidden_sizes"));
    a.classes = integer(json.at("classes"), "classes");
    a.dropout = json.at("dropout").get<double>();
    FBNET_CHECK(json.at("feedback").is_array(), "{}: architecture field 'feedback' must be a list", source);
    for (const auto& edge : json.at("feedback"))
      a.feedback.push_back({small_integer(edge.at("source"), "source"), small_integer(edge.at("target"), "target")});
    a.feedback_alpha = json.at("feedback_alpha").get<double>();
    a.feedback_combine = parse_feedback_combine(text(json.at("feedback_combine"), "feedback_combine"), source);
    a.first_step_feedback = parse_first_step_feedback(text(json.at("first_step_feedback"), "first_step_feedback"), source);
    a.readout = parse_readout(text(json.at("readout"), "readout"), source);
    a.steps = small_integer(json.at("steps"), "steps");
    a.validate();
    return a;
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed architecture metadata: {}", source, error.what());
  } catch (const Error& error) {
    fail("{}: invalid architecture metadata: {}", source, error.what());
  }
}

void save_checkpoint(const std::string& path, const Network<float>& network, const SgdMomentum<float>* optimizer,
                     int epoch, const nlohmann::json& config) {
  SafetensorsFile file;
  const bool with_gradient_sum =
      optimizer != nullptr && optimizer->accumulation() == GradientAccumulation::kRunningSum;
  file.metadata = {{"format", with_gradient_sum ? kFormatWithGradientSum : kFormat},
                   {"architecture", architecture_to_json(network.architecture()).dump()},
                   {"config", config.dump()},
                   {"epoch", std::to_string(epoch)}};
  const auto& infos = network.parameters().infos();
  for (const ParameterInfo& info : infos) file.tensors.push_back({info.name, info.shape, slice(network.parameters().values(), info)});
  if (optimizer != nullptr) {
    for (const ParameterInfo& info : infos)
      file.tensors.push_back({kMomentumPrefix + info.name, info.shape, slice(optimizer->velocity(), info)});
    if (with_gradient_sum)
      for (const ParameterInfo& info : infos)
        file.tensors.push_back({kGradientSumPrefix + info.name, info.shape, slice(optimizer->gradient_sum(), info)});
  }
  write_safetensors(path, file);
}

void save_parameters(const std::string& path, const ParameterStore<float>& parameters, const std::string& format,
                     int epoch, const nlohmann::json& config) {
  SafetensorsFile file;
  file.metadata = {{"format", format}, {"config", config.dump()}, {"epoch", std::to_string(epoch)}};
  for (const ParameterInfo& info : parameters.infos())
    file.tensors.push_back({info.name, info.shape, slice(parameters.values(), info)});
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
  FBNET_CHECK(field("format") == kFormat || field("format") == kFormatWithGradientSum,
              "{}: checkpoint format '{}' is not {} or {}", path, field("format"), kFormat, kFormatWithGradientSum);
  try {
    checkpoint.architecture = architecture_from_json(nlohmann::json::parse(field("architecture")), path);
    checkpoint.config = nlohmann::json::parse(field("config"));
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed checkpoint metadata: {}", path, error.what());
  }
  FBNET_CHECK(checkpoint.config.is_object(), "{}: checkpoint metadata 'config' must be an object", path);
  const std::string& epoch = field("epoch");
  const auto [end, error] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), checkpoint.epoch);
  FBNET_CHECK(error == std::errc() && end == epoch.data() + epoch.size() && checkpoint.epoch >= 0 &&
                  checkpoint.epoch < 1000000,
              "{}: checkpoint metadata epoch '{}' is not a number in 0..999999", path, epoch);
  check_weights_present(checkpoint);
  return checkpoint;
}

void load_weights(const Checkpoint& checkpoint, Network<float>& network, const std::string& name_prefix) {
  std::vector<ParameterInfo> wanted;
  for (const ParameterInfo& info : network.parameters().infos())
    if (info.name.rfind(name_prefix, 0) == 0) wanted.push_back(info);
  copy_tensors_into(checkpoint, wanted, "", network.parameters().values());
}

void load_optimizer_state(const Checkpoint& checkpoint, const Network<float>& network, SgdMomentum<float>& optimizer) {
  copy_tensors_into(checkpoint, network.parameters().infos(), kMomentumPrefix, optimizer.velocity());
  if (optimizer.accumulation() == GradientAccumulation::kRunningSum)
    copy_tensors_into(checkpoint, network.parameters().infos(), kGradientSumPrefix, optimizer.gradient_sum());
}

}  // namespace fbnet
