// RunConfig: every setting of a training run as one plain struct, and
// for_each_setting(), the single list that drives the defaults, the command
// line flags, --help, config files (JSON or TOML) and the resolved config
// written into each run folder. A setting missing from the list does not exist.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/setting_groups.hpp"
#include "config/settings.hpp"
#include "engine/tensor.hpp"
#include "model/architecture.hpp"

namespace fbnet {

// The report's three networks, each with the hyperparameters the report's grid
// chose (NOTES.md); the controls ff-deep (FB's depth, 784-500-500-C, each
// layer its own weights), fb-untied (FB's computation, its second pass with
// first-layer weights of its own) and fb-fixed (FB with its feedback weights
// frozen at their random initial values); the conv nets after Spoerer et al.
// 2017 (model/conv_presets.hpp: b, bl, bt, blt and the controls b-k, b-f);
// `custom` leaves architecture and hyperparameters to flags, or takes the
// whole net from a graph file (--graph).
enum class ModelPreset { kFF, kFFLarge, kFB, kFFDeep, kFBUntied, kFBFixed, kB, kBL, kBT, kBLT, kBK, kBF, kCustom };
struct RunConfig {
  ModelPreset model = ModelPreset::kFF;
  ImageDataSettings data;
  int64_t train_limit = 0;
  // Architecture
  std::vector<int64_t> hidden = {500};
  std::string feedback;
  double feedback_alpha = 0.3;
  FeedbackCombine feedback_combine = FeedbackCombine::kMix;
  FirstStepFeedback first_step_feedback = FirstStepFeedback::kNone;
  int steps = 1;
  double dropout = 0.5;
  std::string frozen;  // nodes or edges that keep their initial weights, comma separated
  std::string untied;  // linear layers with weights of their own at each step, comma separated
  Readout readout = Readout::kLastStep;
  int64_t conv_features = 32;  // the conv presets'
  int64_t conv_kernel = 3;
  PathSetting graph;  // a graph file (formats/graph_json.hpp): the whole net, with --model custom
  TrainingSettings training;
  int64_t memory_limit_mb = 0;  // a run whose memory estimate exceeds it is refused (0: the machine's memory)
  OutputSettings output;
};

// Calls visit(name, field, help) for each setting, in --help order. `name` is
// the flag without dashes and the key in config files.
template <class Config, class Visitor>
  requires std::same_as<std::remove_const_t<Config>, RunConfig>
void for_each_setting(Config& c, Visitor&& visit) {
  visit("model", c.model, "network: ff, ff-large, fb (the report's nets, with its chosen hyperparameters as defaults), "
        "ff-deep (FB's depth without feedback: 784-500-500-C), fb-untied (FB with second-pass first-layer weights of its own), "
        "fb-fixed (FB with untrained, random feedback), the conv nets b, bl, bt, blt (bottom-up, + lateral, + top-down, "
        "+ both; Spoerer et al. 2017) and their feedforward controls b-k (larger kernels) and b-f (more features), "
        "or custom");
  visit_settings(c.data, visit);
  visit("train-limit", c.train_limit, "train on only the first N training images (0: all), for quick runs");
  visit("hidden", c.hidden, "hidden layer sizes, comma separated (e.g. 500 or 500,500)");
  visit("feedback", c.feedback, "feedback edges SOURCE:TARGET (or SOURCE->TARGET, quoted in a shell), comma separated (e.g. "
        "h1:x or h2:h1,h1:x); empty: feedforward");
  visit("feedback-alpha", c.feedback_alpha, "feedback strength alpha in [0, 1]");
  visit("feedback-combine", c.feedback_combine, "how feedback enters a layer's input: mix ((1-alpha) x + alpha fb), add (x + alpha fb) or gain (x (1 + alpha fb))");
  visit("first-step-feedback", c.first_step_feedback, "feedback at the first step: none (no mixing) or zero (mix with fb = 0)");
  visit("steps", c.steps, "passes over each image (the report's FB net: 2)");
  visit("dropout", c.dropout, "dropout probability before the output layer");
  visit("frozen", c.frozen, "nodes or edges whose weights keep their initial values, comma separated (e.g. "
        "feedback.0; see fbnet info)");
  visit("untied", c.untied, "linear layers with weights of their own at each step instead of shared ones, comma "
        "separated (e.g. layers.0)");
  visit("readout", c.readout, "where the loss reads the output: last-step or every-step (the mean over steps)");
  visit("conv-features", c.conv_features, "features of each conv layer of the conv presets (b-f: its own count, "
        "matching blt's parameters)");
  visit("conv-kernel", c.conv_kernel, "kernel size (odd) of the conv presets' layers and recurrent edges (b-k: 2 larger)");
  visit("graph", c.graph, "a graph file (JSON: nodes and edges, as `fbnet info --graph-json` prints) that is the whole "
        "net; implies --model custom");
  visit_settings(c.training, visit);
  visit("memory-limit", c.memory_limit_mb, "MiB a run may need by fbnet's estimate (fbnet info prints it) before it "
        "is refused (0: the machine's memory, MemTotal or the cgroup's limit)");
  visit_settings(c.output, visit);
}

// The settings machinery (settings.hpp) reads and writes these enums.
void parse_value(const std::string& setting, const std::string& text, ModelPreset& field);
void parse_value(const std::string& setting, const std::string& text, FeedbackCombine& field);
void parse_value(const std::string& setting, const std::string& text, FirstStepFeedback& field);
void parse_value(const std::string& setting, const std::string& text, Readout& field);
nlohmann::json json_value(ModelPreset field);
nlohmann::json json_value(FeedbackCombine field);
nlohmann::json json_value(FirstStepFeedback field);
nlohmann::json json_value(Readout field);

// Builds a config the way a user expects precedence: defaults, then the
// model preset, then `explicit_settings` (config file, then flags) in order.
RunConfig resolve_config(const SettingList& explicit_settings);
// Throws fbnet::Error naming the flag of the first invalid setting.
void validate(const RunConfig& config);
// Throws fbnet::Error naming the first of the `given` settings (those the user
// set) that the net or optimiser of `config` would ignore: --hidden for a conv
// preset, --steps for a feedforward one, --conv-features for an MLP, any
// architecture setting beside --graph (the file is the whole net).
void refuse_unused_settings(const RunConfig& config, const SettingList& given);

// The net of `config` for images of `image_shape` ([H, W] or [C, H, W]) and `classes` classes.
Architecture architecture_from(const RunConfig& config, const Shape& image_shape, int64_t classes);
// The names in a comma-separated list ("feedback.0, layers.0" -> both), e.g. config.frozen.
std::vector<std::string> split_names(const std::string& text);
std::string model_name(ModelPreset model);
bool is_conv_preset(ModelPreset model);  // b, bl, bt, blt, b-k, b-f

}  // namespace fbnet
