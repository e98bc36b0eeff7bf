// SequenceConfig: every setting of an experiment-2 run (a network trained on
// sequences of images, NOTES.md "Sequences"), with its own for_each_setting()
// list driving defaults, flags, --help, config files and the run folder's
// config.json, as RunConfig's does for experiment 1. Defaults are the report's.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

#include "data/sequences.hpp"
#include "train/config.hpp"
#include "train/settings.hpp"

namespace fbnet {

enum class SequenceNet {
  kFeedback,  // the report's: FF weights copied and frozen, feedback h_top -> x trained
  kLstm,      // baseline: an LSTM trained from scratch on the same sequences
};

struct SequenceConfig {
  SequenceNet net = SequenceNet::kFeedback;
  // Data: images
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  int64_t validation_size = 10000;
  uint64_t split_seed = 0;
  double noise_scale = 4.0;
  uint64_t noise_seed = 0;
  // Data: sequences
  int length = 5;
  int64_t allowed = 50;
  std::string words = "/usr/share/dict/words";
  MissingLetters missing_letters = MissingLetters::kRefuse;
  uint64_t sequence_seed = 0;
  int64_t train_sequences = 50000;
  int64_t test_sequences = 10000;
  int64_t validation_sequences = 10000;
  std::vector<int64_t> noisy_positions = {4, 5};
  // Networks
  std::string ff_model;
  double feedback_alpha = 0.5;
  int64_t lstm_hidden = 200;
  // Training
  int epochs = 30;
  double learning_rate = 0.00001;
  double momentum = 0.5;
  GradientAccumulation gradient_accumulation = GradientAccumulation::kZeroed;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int64_t eval_batch_size = 1000;
  int threads = 0;
  // Output
  std::string out;
  ProgressMode progress = ProgressMode::kAuto;
};

template <class Config, class Visitor>
  requires std::same_as<std::remove_const_t<Config>, SequenceConfig>
void for_each_setting(Config& c, Visitor&& visit) {
  visit("net", c.net, "network: fb (the report's: frozen FF weights from --ff-model, feedback trained) or lstm (trained from scratch)");
  visit("dataset", c.dataset, "image dataset (as fbnet train --dataset); letter datasets use words as sequences");
  visit("data-dir", c.data_dir, "folder with the dataset's gzip IDX files (empty: the dataset's default folder)");
  visit("validation-size", c.validation_size, "training images held out as in experiment 1; validation sequences are drawn from them");
  visit("split-seed", c.split_seed, "seed of the validation split (and of emnist-letters-partial's train/test split)");
  visit("noise-scale", c.noise_scale, "noise scale s of the noisy positions: clip(x + s * N(0, 64), 0, 255)");
  visit("noise-seed", c.noise_seed, "seed of the noisy test images");
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
  visit_training_settings(c, visit);  // batch sizes count sequences
  visit("out", c.out, "run folder (empty: runs/sequences-NET-seedSEED)");
  visit("progress", c.progress, "progress display: auto (live line on a terminal), always or never");
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
