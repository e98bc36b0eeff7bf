// Building the sequence sets and gathering their batches.
#include "train/sequence_data.hpp"

#include <algorithm>

#include "data/dataset.hpp"
#include "data/word_list.hpp"
#include "engine/enum_names.hpp"
#include "engine/error.hpp"
#include "engine/random.hpp"

namespace fbnet {
namespace {

constexpr EnumName<SequenceCondition> kConditionNames[] = {
    {SequenceCondition::kTrain, "train"}, {SequenceCondition::kValidation, "validation"},
    {SequenceCondition::kNormal, "normal"}, {SequenceCondition::kNoisy, "noisy"}, {SequenceCondition::kRandom, "random"}};
constexpr EnumName<SequenceCondition> kTestConditionNames[] = {
    {SequenceCondition::kNormal, "normal"}, {SequenceCondition::kNoisy, "noisy"}, {SequenceCondition::kRandom, "random"}};

}  // namespace

const char* to_string(SequenceCondition condition) { return enum_name(kConditionNames, condition); }
SequenceCondition parse_test_condition(const std::string& text, const std::string& what) {
  return parse_enum(kTestConditionNames, what, text);
}
namespace {

std::vector<bool> present_in_both(const LabeledImages& train, const LabeledImages& test, int classes) {
  std::vector<bool> present = classes_present(train.labels, classes);
  const std::vector<bool> in_test = classes_present(test.labels, classes);
  for (int c = 0; c < classes; ++c) present[c] = present[c] && in_test[c];
  return present;
}

}  // namespace

std::unique_ptr<SequenceData> prepare_sequence_data(const SequenceConfig& config) {
  RunConfig images_config;
  images_config.data.dataset = config.data.dataset;
  images_config.data.data_dir = config.data.data_dir;
  images_config.data.validation_size = config.data.validation_size;
  images_config.data.split_seed = config.data.split_seed;
  images_config.data.noise_scale = config.data.noise_scale;
  images_config.data.noise_seed = config.data.noise_seed;
  auto data = std::make_unique<SequenceData>();
  data->images = prepare_data(images_config);
  data->classes = data->images.classes;
  data->input_size = data->images.input_size;
  data->length = config.length;

  const std::vector<bool> present = present_in_both(data->images.train, data->images.test, data->classes);
  AllowedSequences allowed =
      is_letter_dataset(config.data.dataset)
          ? draw_word_sequences(read_words(config.words.path, config.length), config.allowed, config.sequence_seed, present,
                                config.missing_letters, config.words.path)
          : draw_random_sequences(config.allowed, config.length, config.sequence_seed, present);
  // The random condition's sequences: drawn like a non-letter dataset's, from another seed.
  AllowedSequences random = draw_random_sequences(config.allowed, config.length, config.sequence_seed + 1, present);

  const std::vector<char> all_clean(config.length, 0);
  std::vector<char> noisy_positions(config.length, 0);
  for (int64_t position : config.noisy_positions) noisy_positions[position - 1] = 1;
  const LabeledImages& train_images = data->images.train;
  const LabeledImages& test_images = data->images.test;
  const uint64_t seed = config.sequence_seed;
  data->train = {SequenceCondition::kTrain, allowed,
                 sample_sequences(allowed, train_images.labels, config.train_sequences, seed, kTrainSequenceStream),
                 &train_images, nullptr, all_clean};
  data->validation = {SequenceCondition::kValidation, allowed, {}, &data->images.validation, nullptr, all_clean};
  if (config.validation_sequences > 0 && data->images.validation.count() > 0) {
    const std::vector<bool> held_out = classes_present(data->images.validation.labels, data->classes);
    for (const std::vector<int>& sequence : allowed.classes)
      for (int c : sequence)
        FBNET_CHECK(held_out[c], "--validation-size: the {} held-out training images have no image of class {}, which "
                    "the allowed sequences use; hold out more images or pass --validation-sequences 0",
                    data->images.validation.count(), c);
    data->validation.samples = sample_sequences(allowed, data->images.validation.labels, config.validation_sequences,
                                                seed, kValidationSequenceStream);
  }
  const SequenceSamples test_samples =
      sample_sequences(allowed, test_images.labels, config.test_sequences, seed, kTestSequenceStream);
  data->tests.push_back({SequenceCondition::kNormal, allowed, test_samples, &test_images, nullptr, all_clean});
  data->tests.push_back({SequenceCondition::kNoisy, allowed, test_samples, &test_images, &data->images.noisy_test, noisy_positions});
  data->tests.push_back({SequenceCondition::kRandom, random,
                         sample_sequences(random, test_images.labels, config.test_sequences, seed, kTestSequenceStream),
                         &test_images, nullptr, all_clean});
  return data;
}

void gather_sequence_batch(const SequenceSet& set, const std::vector<int64_t>& order, int64_t begin, int64_t batch,
                           std::vector<Tensor<float>>& images, std::vector<std::vector<int32_t>>& labels) {
  const int length = set.samples.length;
  const int64_t width = set.clean->images.cols();
  images.resize(length);
  labels.resize(length);
  for (int p = 0; p < length; ++p) {
    const LabeledImages& source = set.noisy_position[p] ? *set.noisy : *set.clean;
    images[p].resize({batch, width});
    labels[p].resize(batch);
    for (int64_t i = 0; i < batch; ++i) {
      const int64_t sample = order[begin + i];
      const int64_t image = set.samples.image_index[sample * length + p];
      std::copy_n(source.images.row(image), width, images[p].row(i));
      labels[p][i] = set.samples.labels[sample * length + p];
    }
  }
}

}  // namespace fbnet
