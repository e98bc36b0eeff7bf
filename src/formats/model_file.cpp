// Checkpoint layout on top of safetensors.
#include "formats/model_file.hpp"

#include <charconv>

#include "engine/error.hpp"

namespace fbnet {
namespace {

constexpr const char* kGraphFormat = "fbnet-checkpoint";
// Each state buffer B of the optimiser is stored as "optimizer.B.NAME".
const std::string kOptimizerPrefix = "optimizer.";
// Adam's step count t, which its bias corrections need on resume.
const char* kOptimizerStepsKey = "optimizer_steps";

bool keeps_gradient_sum(const Optimizer<float>& optimizer) {
  return optimizer.settings().accumulation == GradientAccumulation::kRunningSum;
}

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

}  // namespace

void copy_tensors(const ModelFile& checkpoint, const std::vector<ParameterInfo>& infos, const std::string& prefix,
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

ModelFormat graph_model_format(const Architecture& architecture) {
  return {kGraphFormat, architecture_to_json(architecture)};
}

void save_checkpoint(const std::string& path, const ParameterStore<float>& parameters, const ModelFormat& format,
                     const Optimizer<float>* optimizer, int epoch, const nlohmann::json& config) {
  SafetensorsFile file;
  const bool with_gradient_sum = optimizer != nullptr && keeps_gradient_sum(*optimizer);
  const bool with_adam = optimizer != nullptr && optimizer->settings().kind != OptimizerKind::kSgd;
  file.metadata = {{"format", format.name + (with_adam ? "-3" : with_gradient_sum ? "-2" : "-1")},
                   {"architecture", format.architecture.dump()},
                   {"config", config.dump()},
                   {"epoch", std::to_string(epoch)}};
  if (with_adam) file.metadata[kOptimizerStepsKey] = std::to_string(optimizer->steps());
  const auto& infos = parameters.infos();
  for (const ParameterInfo& info : infos) file.tensors.push_back({info.name, info.shape, slice(parameters.values(), info)});
  if (optimizer != nullptr)
    for (const OptimizerState<float>& state : optimizer->state())
      for (const ParameterInfo& info : infos)
        file.tensors.push_back({kOptimizerPrefix + state.name + "." + info.name, info.shape, slice(state.values, info)});
  write_safetensors(path, file);
}

ModelFile read_model_file(const std::string& path, const std::string& format_name) {
  ModelFile model;
  model.path = path;
  model.file = read_safetensors(path);
  const auto& metadata = model.file.metadata;
  auto field = [&](const char* key) -> const std::string& {
    const auto it = metadata.find(key);
    FBNET_CHECK(it != metadata.end(), "{}: not an fbnet model file (metadata has no '{}')", path, key);
    return it->second;
  };
  model.format = field("format");
  FBNET_CHECK(model.format == format_name + "-1" || model.format == format_name + "-2" || model.format == format_name + "-3",
              "{}: file format '{}' is not {}-1, -2 or -3", path, model.format, format_name);
  try {
    model.architecture_json = nlohmann::json::parse(field("architecture"));
    model.config = nlohmann::json::parse(field("config"));
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed metadata: {}", path, error.what());
  }
  FBNET_CHECK(model.config.is_object(), "{}: metadata 'config' must be an object", path);
  const std::string& epoch = field("epoch");
  const auto [end, error] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), model.epoch);
  FBNET_CHECK(error == std::errc() && end == epoch.data() + epoch.size() && model.epoch >= 0 && model.epoch < 1000000,
              "{}: metadata epoch '{}' is not a number in 0..999999", path, epoch);
  return model;
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint checkpoint;
  static_cast<ModelFile&>(checkpoint) = read_model_file(path, kGraphFormat);
  checkpoint.architecture = architecture_from_json(checkpoint.architecture_json, path);
  check_weights_present(checkpoint);
  return checkpoint;
}

void load_weights(const Checkpoint& checkpoint, Network<float>& network, const std::string& name_prefix) {
  std::vector<ParameterInfo> wanted;
  for (const ParameterInfo& info : network.parameters().infos())
    if (info.name.rfind(name_prefix, 0) == 0) wanted.push_back(info);
  copy_tensors(checkpoint, wanted, "", network.parameters().values());
}

void load_optimizer_state(const ModelFile& file, const std::vector<ParameterInfo>& infos, Optimizer<float>& optimizer) {
  for (OptimizerState<float>& state : optimizer.state())
    copy_tensors(file, infos, kOptimizerPrefix + state.name + ".", state.values);
  if (optimizer.settings().kind == OptimizerKind::kSgd) return;
  const auto steps = file.file.metadata.find(kOptimizerStepsKey);
  int64_t count = -1;
  if (steps != file.file.metadata.end()) {
    const std::string& text = steps->second;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size()) count = -1;
  }
  FBNET_CHECK(count >= 0, "{}: metadata '{}' must hold Adam's step count, a number >= 0", file.path, kOptimizerStepsKey);
  optimizer.set_steps(count);
}

}  // namespace fbnet
