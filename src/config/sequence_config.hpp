// SequenceConfig: every setting of an experiment-2 run (a network trained on
// sequences of images, NOTES.md "Sequences"), with its own for_each_setting()
// list driving defaults, flags, --help, config files and the run folder's
// config.json, as RunConfig's does for experiment 1. Defaults are the report's.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/settings.hpp"
#include "data/sequences.hpp"

namespace fbnet {

enum class SequenceNet {
  kFeedback,  // the report's: FF weights copied and frozen, feedback h_top -> x trained
  kLstm,      // baseline: an LSTM trained from scratch on the same sequences
};

struct SequenceConfig {
  SequenceNet net = SequenceNet::kFeedback;
  ImageDataSettings data = {.noise_scale = 4.0};
  // Sequences
  int length = 5;
  int64_t allowed = 50;
  PathSetting words = {"/usr/share/dict/words"};
  MissingLetters missing_letters = MissingLetters::kRefuse;
  uint64_t sequence_seed = 0;
  int64_t train_sequences = 50000;
  int64_t test_sequences = 10000;
  int64_t validation_sequences = 10000;
  std::vector<int64_t> noisy_positions = {4, 5};
  // Networks
  PathSetting ff_model;
  double feedback_alpha = 0.5;
  int64_t lstm_hidden = 200;
  // Batches of sequences. The loss bound is off: experiment 2's runs (the
  // authors' running-sum update) were reproduced before it existed.
  TrainingSettings training = {
      .optimizer = {.learning_rate = 0.00001, .momentum = 0.5}, .batch_size = 64, .divergence_factor = 0};
  OutputSettings output;
};

template <class Config, class Visitor>
  requires std::same_as<std::remove_const_t<Config>, SequenceConfig>
void for_each_setting(Config& c, Visitor&& visit) {
  visit("net", c.net, "network: fb (the report's: frozen FF weights from --ff-model, feedback trained) or lstm (trained from scratch)");
  visit_settings(c.data, visit);
  visit("length", c.length, "images per sequence");
  visit("allowed", c.allowed, "number K of allowed sequences; sample i follows allowed sequence i mod K");
  visit("words", c.words, "word list (one word per line) for letter datasets; words of --length lowercase letters are used");
  visit("missing-letters", c.missing_letters, "a word with a letter the dataset lacks: refuse (error) or filter (drop the word)");
  visit("sequence-seed", c.sequence_seed, "seed of the allowed sequences and of the images drawn for each sample");
  visit("train-sequences", c.train_sequences, "training sequence samples, drawn from the training images");
  visit("test-sequences", c.test_sequences, "test sequence samples per condition, drawn from the test images");
  visit("validation-sequences", c.validation_sequences, "validation sequence samples (allowed sequences, clean), drawn "
        "from the held-out training images, for choosing hyperparameters (0: none)");
  visit("noisy-positions", c.noisy_positions, "positions (1-based) whose images are noisy in the noisy condition");
  visit("ff-model", c.ff_model, "model.safetensors of an experiment-1 FF run (fbnet train --model ff); needed by --net fb");
  visit("feedback-alpha", c.feedback_alpha, "feedback strength alpha in [0, 1] (fb)");
  visit("lstm-hidden", c.lstm_hidden, "LSTM hidden units (lstm; 200 gives about the FB net's parameter count)");
  visit_settings(c.training, visit);
  visit_settings(c.output, visit);
}

void parse_value(const std::string& setting, const std::string& text, SequenceNet& field);
void parse_value(const std::string& setting, const std::string& text, MissingLetters& field);
nlohmann::json json_value(SequenceNet field);
nlohmann::json json_value(MissingLetters field);
std::string net_name(SequenceNet net);

// Defaults, then `explicit_settings` in order (config file, then flags).
SequenceConfig resolve_sequence_config(const SettingList& explicit_settings);
// Throws fbnet::Error naming the flag of the first invalid setting.
void validate(const SequenceConfig& config);

}  // namespace fbnet
