// The image sequences one experiment-2 run trains and is tested on: training
// samples from the training images (minus experiment 1's validation split),
// validation samples of the allowed sequences from that held-out split (for
// choosing hyperparameters without looking at the test images), and three
// test conditions from the test images: normal (the allowed sequences), noisy
// (the same samples with noisy images at --noisy-positions) and random
// (samples of K random sequences the network never trained on).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/sequence_config.hpp"
#include "data/sequences.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

// Which set of sequences: the training samples, the validation samples, or a
// test condition.
enum class SequenceCondition { kTrain, kValidation, kNormal, kNoisy, kRandom };
// "train", "validation", "normal", "noisy", "random": the keys of results.json and metrics.
const char* to_string(SequenceCondition condition);
// Throws fbnet::Error naming `what` and the spellings of the test conditions.
SequenceCondition parse_test_condition(const std::string& text, const std::string& what);

struct SequenceSet {
  SequenceCondition condition = SequenceCondition::kTrain;
  AllowedSequences allowed;
  SequenceSamples samples;
  const LabeledImages* clean = nullptr;
  const LabeledImages* noisy = nullptr;  // where noisy_position[p] is set
  std::vector<char> noisy_position;      // [length]
  int64_t count() const { return samples.count(); }
  const char* name() const { return to_string(condition); }
};

struct SequenceData {
  int classes = 0;
  int64_t input_size = 0;
  int length = 0;
  PreparedData images;  // its noisy_test has --noise-scale
  SequenceSet train;
  SequenceSet validation;          // count() == 0 without held-out images or --validation-sequences 0
  std::vector<SequenceSet> tests;  // normal, noisy, random

  SequenceData() = default;
  SequenceData(const SequenceData&) = delete;  // the sets point into `images`
  SequenceData& operator=(const SequenceData&) = delete;
};

std::unique_ptr<SequenceData> prepare_sequence_data(const SequenceConfig& config);

// Samples order[begin, begin + batch) of `set`, one [batch, D] tensor and one
// label array per position.
void gather_sequence_batch(const SequenceSet& set, const std::vector<int64_t>& order, int64_t begin, int64_t batch,
                           std::vector<Tensor<float>>& images, std::vector<std::vector<int32_t>>& labels);

}  // namespace fbnet
