// Parsing, formatting, presets and validation of RunConfig settings.
#include "config/config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "engine/enum_names.hpp"
#include "engine/error.hpp"
#include "formats/graph_json.hpp"
#include "model/conv_presets.hpp"
#include "model/graph.hpp"
#include "model/network.hpp"
#include "model/ops/op.hpp"

namespace fbnet {
namespace {

constexpr EnumName<ModelPreset> kModelNames[] = {
    {ModelPreset::kFF, "ff"},          {ModelPreset::kFFLarge, "ff-large"}, {ModelPreset::kFB, "fb"},
    {ModelPreset::kFFDeep, "ff-deep"}, {ModelPreset::kFBUntied, "fb-untied"}, {ModelPreset::kFBFixed, "fb-fixed"},
    {ModelPreset::kB, "b"},            {ModelPreset::kBL, "bl"},            {ModelPreset::kBT, "bt"},
    {ModelPreset::kBLT, "blt"},        {ModelPreset::kBK, "b-k"},           {ModelPreset::kBF, "b-f"},
    {ModelPreset::kCustom, "custom"}};

// The conv presets and the nets they build.
constexpr std::pair<ModelPreset, ConvNet> kConvPresets[] = {
    {ModelPreset::kB, ConvNet::kB},     {ModelPreset::kBL, ConvNet::kBL}, {ModelPreset::kBT, ConvNet::kBT},
    {ModelPreset::kBLT, ConvNet::kBLT}, {ModelPreset::kBK, ConvNet::kBK}, {ModelPreset::kBF, ConvNet::kBF}};

const ConvNet* conv_net_of(ModelPreset model) {
  for (const auto& [preset, net] : kConvPresets)
    if (preset == model) return &net;
  return nullptr;
}

}  // namespace

void parse_value(const std::string& setting, const std::string& text, ModelPreset& field) { field = parse_enum(kModelNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, FeedbackCombine& field) { field = parse_feedback_combine(text, "--" + setting); }
void parse_value(const std::string& setting, const std::string& text, FirstStepFeedback& field) { field = parse_first_step_feedback(text, "--" + setting); }
nlohmann::json json_value(ModelPreset field) { return enum_name(kModelNames, field); }
nlohmann::json json_value(FeedbackCombine field) { return to_string(field); }
nlohmann::json json_value(FirstStepFeedback field) { return to_string(field); }
void parse_value(const std::string& setting, const std::string& text, Readout& field) { field = parse_readout(text, "--" + setting); }
nlohmann::json json_value(Readout field) { return to_string(field); }

namespace {

// The report's networks with the hyperparameters its grid chose (NOTES.md),
// ff-deep with those of the deeper FF net the authors ran by accident
// (NOTES.md, "An accidental control": lr 0.04, momentum 0.5, batch 128), and
// fb-untied and fb-fixed with FB's, its first layer untied or its feedback
// edge frozen.
struct Preset {
  ModelPreset model;
  std::vector<int64_t> hidden;
  const char* feedback;
  int steps;
  double feedback_alpha;
  double learning_rate;
  double momentum;
  int64_t batch_size;
  const char* frozen = "";
  const char* untied = "";
  FeedbackCombine combine = FeedbackCombine::kMix;
};
const Preset kPresets[] = {
    {ModelPreset::kFF, {500}, "", 1, 0.3, 0.02, 0.7, 128},
    {ModelPreset::kFFLarge, {1000}, "", 1, 0.3, 0.04, 0.5, 128},
    {ModelPreset::kFB, {500}, "h1->x", 2, 0.3, 0.02, 0.3, 64},
    {ModelPreset::kFFDeep, {500, 500}, "", 1, 0.3, 0.04, 0.5, 128},
    {ModelPreset::kFBUntied, {500}, "h1->x", 2, 0.3, 0.02, 0.3, 64, "", "layers.0"},
    {ModelPreset::kFBFixed, {500}, "h1->x", 2, 0.3, 0.02, 0.3, 64, "feedback.0"},
    // The conv nets: recurrent ones unrolled over 4 steps, each edge summed
    // into its target as in Spoerer et al. (add, alpha 1), trained by SGD
    // with momentum 0.9 (our choice: the paper used Adam on another task).
    {ModelPreset::kB, {500}, "", 1, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
    {ModelPreset::kBL, {500}, "", 4, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
    {ModelPreset::kBT, {500}, "", 4, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
    {ModelPreset::kBLT, {500}, "", 4, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
    {ModelPreset::kBK, {500}, "", 1, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
    {ModelPreset::kBF, {500}, "", 1, 1.0, 0.01, 0.9, 64, "", "", FeedbackCombine::kAdd},
};

void apply_preset(RunConfig& config) {
  for (const Preset& preset : kPresets) {
    if (preset.model != config.model) continue;
    config.hidden = preset.hidden;
    config.feedback = preset.feedback;
    config.steps = preset.steps;
    config.feedback_alpha = preset.feedback_alpha;
    config.training.optimizer.learning_rate = preset.learning_rate;
    config.training.optimizer.momentum = preset.momentum;
    config.training.batch_size = preset.batch_size;
    config.frozen = preset.frozen;
    config.untied = preset.untied;
    config.feedback_combine = preset.combine;
  }
}

}  // namespace

RunConfig resolve_config(const SettingList& explicit_settings) {
  RunConfig config;
  for (const auto& [name, text] : explicit_settings) {
    if (name == "graph" && !text.empty()) config.model = ModelPreset::kCustom;  // a graph file is the whole net
    if (name == "model") parse_setting(config, name, text);
  }
  apply_preset(config);
  for (const auto& [name, text] : explicit_settings) parse_setting(config, name, text);
  apply_dataset_defaults(config.data, explicit_settings);
  return config;
}

void validate(const RunConfig& config) {
  validate(config.data);
  FBNET_CHECK(config.train_limit >= 0, "--train-limit: must be >= 0, got {}", config.train_limit);
  validate(config.training);
  FBNET_CHECK(config.training.early_stopping == 0 || config.data.validation_size > 0,
              "--early-stopping: needs validation images to watch; --validation-size is 0");
  FBNET_CHECK(config.memory_limit_mb >= 0 && config.memory_limit_mb <= (int64_t{1} << 40),
              "--memory-limit: must be in 0..2^40 MiB, got {}", config.memory_limit_mb);
  // The dataset's name, then alpha, dropout, steps, hidden sizes and feedback
  // edges: the architecture's own checks, on the dataset's sizes.
  Architecture architecture;
  try {
    const DatasetShape shape = dataset_shape(config.data.dataset, config.data.data_dir.path);
    FBNET_CHECK(config.graph.path.empty() || config.model == ModelPreset::kCustom,
                "--graph: a graph file is the whole net; it goes with --model custom, not --model {}",
                model_name(config.model));
    const int64_t rows = shape.image_shape.end()[-2], cols = shape.image_shape.back();
    FBNET_CHECK(config.data.occlusion_patches == 0 || config.data.occlusion_size <= std::min(rows, cols),
                "--occlusion-size: a patch of {0}x{0} pixels does not fit the {1}x{2} images of {3}",
                config.data.occlusion_size, rows, cols, config.data.dataset);
    architecture = architecture_from(config, shape.image_shape, shape.classes);
    architecture.validate();
  } catch (const FieldError& error) {
    throw Error(message_for_user(error));
  }
  // Each frozen name is a node with weights or an edge of this net.
  const Graph graph = graph_of(architecture);
  std::vector<std::string> trainable;  // nodes with weights (every step's, when untied), then edges
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (graph.nodes[n].op != OpKind::kInput && !make_op<float>(graph, static_cast<int>(n))->parameter_shapes().empty())
      trainable.push_back(graph.nodes[n].name);
  for (const Edge& edge : graph.edges) trainable.push_back(edge.name);
  for (const std::string& name : split_names(config.frozen))
    FBNET_CHECK(std::find(trainable.begin(), trainable.end(), name) != trainable.end(),
                "--frozen: '{}' is not a node or edge with weights in this net; it has {}", name, fmt::join(trainable, ", "));
}

void refuse_unused_settings(const RunConfig& config, const SettingList& given) {
  refuse_unused_settings(config.training, given);
  const ConvNet* conv = conv_net_of(config.model);
  const bool graph_file = !config.graph.path.empty();
  const std::string net = graph_file ? "--graph " + config.graph.path : "--model " + model_name(config.model);
  for (const auto& [name, text] : given) {
    const bool mlp_setting = name == "hidden" || name == "feedback" || name == "untied";
    const bool conv_setting = name == "conv-features" || name == "conv-kernel";
    FBNET_CHECK(!(mlp_setting && (conv || graph_file)), "--{}: a setting of the MLP presets, which {} does not use",
                name, net);
    FBNET_CHECK(!(conv_setting && !conv), "--{}: a setting of the conv presets (b, bl, bt, blt, b-k, b-f), which {} "
                "does not use", name, net);
    FBNET_CHECK(!(name == "steps" && conv && !is_recurrent(*conv)), "--steps: {} is feedforward and runs one step; "
                "the recurrent conv presets (bl, bt, blt) take it", net);
    const bool architecture_setting = name == "steps" || name == "dropout" || name.starts_with("feedback-") ||
                                      name == "readout" || name == "first-step-feedback";
    FBNET_CHECK(!(architecture_setting && graph_file), "--{}: {} describes the whole net; set it in the file", name,
                net);
  }
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::string name;
  for (char c : text + ",") {
    if (c == ',') {
      if (!name.empty()) names.push_back(name);
      name.clear();
    } else if (c != ' ') {
      name += c;
    }
  }
  return names;
}

Architecture architecture_from(const RunConfig& config, const Shape& image_shape, int64_t classes) {
  Architecture arch;
  arch.input_size = element_count(image_shape);
  arch.classes = classes;
  arch.readout = config.readout;
  if (const ConvNet* net = conv_net_of(config.model)) {
    const ConvNetOptions options{.features = config.conv_features,
                                 .kernel = config.conv_kernel,
                                 .steps = config.steps,
                                 .readout = config.readout,
                                 .combine = config.feedback_combine,
                                 .alpha = config.feedback_alpha,
                                 .first_step_feedback = config.first_step_feedback,
                                 .dropout = config.dropout};
    arch.graph = std::make_shared<const Graph>(conv_net_graph(*net, image_shape, classes, options));
    return arch;
  }
  if (!config.graph.path.empty()) {
    arch.graph = std::make_shared<const Graph>(graph_from_json(read_json_file(config.graph.path), config.graph.path));
    // Its input reads the images as they are: [H, W] as [1, H, W] too, or flat.
    const std::vector<int> inputs = arch.graph->input_nodes();
    const Shape& input = arch.graph->nodes[inputs.at(0)].shape;
    Shape one_channel = image_shape;
    if (one_channel.size() == 2) one_channel.insert(one_channel.begin(), 1);
    FBNET_CHECK_FIELD(inputs.size() == 1 && (input == image_shape || input == one_channel ||
                                             input == Shape{element_count(image_shape)}),
                      "architecture", "graph", "{}: its input '{}' is {}, but the images are {} ({} or [{}] also fit)",
                      config.graph.path, arch.graph->nodes[inputs.at(0)].name, shape_string(input),
                      shape_string(image_shape), shape_string(one_channel), element_count(image_shape));
    return arch;
  }
  arch.hidden_sizes = config.hidden;
  arch.feedback = parse_feedback_edges(config.feedback, static_cast<int>(config.hidden.size()));
  arch.untied_layers = parse_untied_layers(split_names(config.untied), static_cast<int>(config.hidden.size()));
  arch.feedback_alpha = config.feedback_alpha;
  arch.feedback_combine = config.feedback_combine;
  arch.first_step_feedback = config.first_step_feedback;
  arch.steps = config.steps;
  arch.dropout = config.dropout;
  return arch;
}

std::string model_name(ModelPreset model) { return enum_name(kModelNames, model); }
bool is_conv_preset(ModelPreset model) { return conv_net_of(model) != nullptr; }

}  // namespace fbnet
