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

#include "model/architecture.hpp"
#include "train/settings.hpp"
#include "train/sgd.hpp"

namespace fbnet {

// The report's three networks, each with the hyperparameters the report's grid
// chose (NOTES.md); `custom` leaves architecture and hyperparameters to flags.
enum class ModelPreset { kFF, kFFLarge, kFB, kCustom };
enum class ProgressMode { kAuto, kAlways, kNever };

struct RunConfig {
  ModelPreset model = ModelPreset::kFF;
  // Data
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  int64_t validation_size = 10000;
  uint64_t split_seed = 0;
  int64_t train_limit = 0;
  double noise_scale = 2.0;
  uint64_t noise_seed = 0;
  // Architecture
  std::vector<int64_t> hidden = {500};
  std::string feedback;
  double feedback_alpha = 0.3;
  FeedbackCombine feedback_combine = FeedbackCombine::kMix;
  FirstStepFeedback first_step_feedback = FirstStepFeedback::kNone;
  int steps = 1;
  double dropout = 0.5;
  // Training
  int epochs = 30;
  double learning_rate = 0.02;
  double momentum = 0.7;
  GradientAccumulation gradient_accumulation = GradientAccumulation::kZeroed;
  int64_t batch_size = 128;
  uint64_t seed = 0;
  int64_t eval_batch_size = 1000;
  int threads = 0;
  // Output
  std::string out;
  ProgressMode progress = ProgressMode::kAuto;
};

// The optimiser and run settings every kind of run has (RunConfig,
// SequenceConfig), in --help order.
template <class Config, class Visitor>
void visit_training_settings(Config& c, Visitor& visit) {
  visit("epochs", c.epochs, "training epochs");
  visit("learning-rate", c.learning_rate, "SGD learning rate");
  visit("momentum", c.momentum, "SGD momentum (PyTorch semantics)");
  visit("gradient-accumulation", c.gradient_accumulation, "gradient each step uses: zeroed (the batch's, as with "
        "zero_grad() every step) or running-sum (the sum of every gradient so far: the authors' experiment-2 loop, "
        "which never called zero_grad; NOTES.md)");
  visit("batch-size", c.batch_size, "training batch size");
  visit("seed", c.seed, "seed of initialisation, shuffling and dropout");
  visit("eval-batch-size", c.eval_batch_size, "batch size for evaluation");
  visit("threads", c.threads, "OpenBLAS threads (0: one per core)");
}

// Calls visit(name, field, help) for each setting, in --help order. `name` is
// the flag without dashes and the key in config files.
template <class Config, class Visitor>
  requires std::same_as<std::remove_const_t<Config>, RunConfig>
void for_each_setting(Config& c, Visitor&& visit) {
  visit("model", c.model, "network: ff, ff-large, fb (the report's nets, with its chosen hyperparameters as defaults) or custom");
  visit("dataset", c.dataset, "dataset: fashion-mnist, mnist, emnist-letters, emnist-digits, emnist-mnist, emnist-balanced, emnist-bymerge, emnist-byclass, emnist-letters-partial");
  visit("data-dir", c.data_dir, "folder with the dataset's gzip IDX files (empty: the dataset's default folder)");
  visit("validation-size", c.validation_size, "images drawn (seeded) from the training set for validation");
  visit("split-seed", c.split_seed, "seed of the validation split (and of the train/test split of emnist-letters-partial)");
  visit("train-limit", c.train_limit, "train on only the first N training images (0: all), for quick runs");
  visit("noise-scale", c.noise_scale, "scale s of the noisy test set: clip(x + s * N(0, 64), 0, 255)");
  visit("noise-seed", c.noise_seed, "seed of the noisy test set's noise");
  visit("hidden", c.hidden, "hidden layer sizes, comma separated (e.g. 500 or 500,500)");
  visit("feedback", c.feedback, "feedback edges SOURCE->TARGET, comma separated (e.g. h1->x or h2->h1,h1->x); empty: feedforward");
  visit("feedback-alpha", c.feedback_alpha, "feedback strength alpha in [0, 1]");
  visit("feedback-combine", c.feedback_combine, "how feedback enters a layer's input: mix ((1-alpha) x + alpha fb) or add (x + alpha fb)");
  visit("first-step-feedback", c.first_step_feedback, "feedback at the first step: none (no mixing) or zero (mix with fb = 0)");
  visit("steps", c.steps, "passes over each image (the report's FB net: 2)");
  visit("dropout", c.dropout, "dropout probability before the output layer");
  visit_training_settings(c, visit);
  visit("out", c.out, "run folder (empty: runs/MODEL-seedSEED)");
  visit("progress", c.progress, "progress display: auto (live line on a terminal), always or never");
}

// The settings machinery (settings.hpp) reads and writes these enums.
void parse_value(const std::string& setting, const std::string& text, ModelPreset& field);
void parse_value(const std::string& setting, const std::string& text, ProgressMode& field);
void parse_value(const std::string& setting, const std::string& text, FeedbackCombine& field);
void parse_value(const std::string& setting, const std::string& text, FirstStepFeedback& field);
void parse_value(const std::string& setting, const std::string& text, GradientAccumulation& field);
nlohmann::json json_value(ModelPreset field);
nlohmann::json json_value(ProgressMode field);
nlohmann::json json_value(FeedbackCombine field);
nlohmann::json json_value(FirstStepFeedback field);
nlohmann::json json_value(GradientAccumulation field);

// Builds a config the way a user expects precedence: defaults, then the
// model preset, then `explicit_settings` (config file, then flags) in order.
RunConfig resolve_config(const SettingList& explicit_settings);
// Throws fbnet::Error naming the flag of the first invalid setting.
void validate(const RunConfig& config);

Architecture architecture_from(const RunConfig& config, int64_t input_size, int classes);
std::string model_name(ModelPreset model);

}  // namespace fbnet
