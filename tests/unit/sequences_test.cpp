// Experiment 2's data and training: the sequence sampler (sample i follows
// allowed sequence i mod K, seeds reproduce, noise only where asked), word
// lists, the partial EMNIST letters, BPTT through frozen layers by finite
// differences, frozen weights staying bit-identical through training, and
// the divergence checks and messages of a sequence run.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>

#include "data/dataset.hpp"
#include "data/sequences.hpp"
#include "data/word_list.hpp"
#include "engine/random.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "test_support.hpp"
#include "train/evaluate.hpp"
#include "train/sequence_run.hpp"

namespace fbnet {
namespace {

using testing::expect_error;

// 5 classes, 6 images each, in class order.
std::vector<int32_t> class_labels() {
  std::vector<int32_t> labels;
  for (int c = 0; c < 5; ++c)
    for (int i = 0; i < 6; ++i) labels.push_back(c);
  return labels;
}

TEST(SequenceSampler, SampleIFollowsAllowedSequenceIModK) {
  const std::vector<int32_t> labels = class_labels();
  const AllowedSequences allowed = draw_random_sequences(3, 4, 5, classes_present(labels, 5));
  ASSERT_EQ(allowed.count(), 3);
  const SequenceSamples samples = sample_sequences(allowed, labels, 10, 9, kTrainSequenceStream);
  ASSERT_EQ(samples.count(), 10);
  for (int64_t i = 0; i < 10; ++i)
    for (int p = 0; p < 4; ++p) {
      EXPECT_EQ(samples.labels[i * 4 + p], allowed.classes[i % 3][p]) << "sample " << i << " position " << p;
      EXPECT_EQ(labels[samples.image_index[i * 4 + p]], samples.labels[i * 4 + p]) << "image of another class";
    }
}

TEST(SequenceSampler, SeedsReproduceAndSamplesDoNotDependOnTheCount) {
  const std::vector<int32_t> labels = class_labels();
  const AllowedSequences allowed = draw_random_sequences(4, 5, 1, classes_present(labels, 5));
  const SequenceSamples a = sample_sequences(allowed, labels, 40, 2, kTrainSequenceStream);
  const SequenceSamples b = sample_sequences(allowed, labels, 40, 2, kTrainSequenceStream);
  EXPECT_EQ(a.image_index, b.image_index);
  EXPECT_NE(a.image_index, sample_sequences(allowed, labels, 40, 3, kTrainSequenceStream).image_index);
  EXPECT_NE(a.image_index, sample_sequences(allowed, labels, 40, 2, kTestSequenceStream).image_index);
  const SequenceSamples prefix = sample_sequences(allowed, labels, 7, 2, kTrainSequenceStream);
  EXPECT_TRUE(std::equal(prefix.image_index.begin(), prefix.image_index.end(), a.image_index.begin()));
  // The allowed sequences themselves come from the seed.
  EXPECT_EQ(allowed.classes, draw_random_sequences(4, 5, 1, classes_present(labels, 5)).classes);
  EXPECT_NE(allowed.classes, draw_random_sequences(4, 5, 2, classes_present(labels, 5)).classes);
}

TEST(SequenceSampler, RandomSequencesUseOnlyPresentClasses) {
  const std::vector<bool> present = {false, true, false, true, true};
  const AllowedSequences allowed = draw_random_sequences(50, 5, 4, present);
  for (const auto& sequence : allowed.classes)
    for (int c : sequence) EXPECT_TRUE(present[c]) << c;
}

TEST(SequenceSampler, NoiseLandsOnlyOnTheNoisyPositions) {
  const std::vector<int32_t> labels = class_labels();
  LabeledImages clean{Tensor<float>({30, 4}), labels}, noisy{Tensor<float>({30, 4}), labels};
  for (int64_t i = 0; i < clean.images.size(); ++i) {
    clean.images.values[i] = static_cast<float>(i);
    noisy.images.values[i] = static_cast<float>(i) + 1000.0f;
  }
  const AllowedSequences allowed = draw_random_sequences(3, 5, 5, classes_present(labels, 5));
  const SequenceSet set{SequenceCondition::kNoisy, allowed, sample_sequences(allowed, labels, 6, 1, kTestSequenceStream), &clean, &noisy,
                        {0, 0, 0, 1, 1}};
  std::vector<int64_t> order = {0, 1, 2, 3, 4, 5};
  std::vector<Tensor<float>> images;
  std::vector<std::vector<int32_t>> batch_labels;
  gather_sequence_batch(set, order, 0, 6, images, batch_labels);
  ASSERT_EQ(images.size(), 5u);
  for (int p = 0; p < 5; ++p)
    for (int64_t i = 0; i < 6; ++i) {
      const int64_t image = set.samples.image_index[i * 5 + p];
      const LabeledImages& expected = p >= 3 ? noisy : clean;
      for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(images[p].row(i)[d], expected.images.row(image)[d]) << "position " << p + 1;
      EXPECT_EQ(batch_labels[p][i], set.samples.labels[i * 5 + p]);
    }
}

TEST(WordList, KeepsWordsOfTheLengthInLowercaseAndRefusesOrFiltersMissingLetters) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.file("words"));
    out << "apple\nZebra\nit's\nbacon\ncab\nfjord\r\nabcde\ncafé\n";
  }
  const std::vector<std::string> words = read_words(dir.file("words"), 5);
  EXPECT_EQ(words, (std::vector<std::string>{"apple", "bacon", "fjord", "abcde"}));
  std::vector<bool> a_to_m(26, false);
  for (int c = 0; c < 13; ++c) a_to_m[c] = true;
  expect_error([&] { draw_word_sequences(words, 10, 0, a_to_m, MissingLetters::kRefuse, "my-words"); },
               "word 'apple' in my-words uses the letter 'p'");
  const AllowedSequences filtered = draw_word_sequences(words, 10, 0, a_to_m, MissingLetters::kFilter, "my-words");
  ASSERT_EQ(filtered.count(), 10);
  for (const std::string& name : filtered.names) EXPECT_EQ(name, "abcde");
  EXPECT_EQ(filtered.classes[0], (std::vector<int>{0, 1, 2, 3, 4}));
  expect_error([&] { read_words(dir.file("absent"), 5); }, "cannot read word list");
  expect_error([&] { read_words(dir.file("words"), 7); }, "has no word of 7 lowercase letters");
  const std::vector<bool> none(26, false);
  expect_error([&] { draw_word_sequences(words, 10, 0, none, MissingLetters::kFilter, "my-words"); }, "no word in my-words");
}

TEST(EmnistPartial, SplitsTheTenThousandTestImagesWithASeedAndCoversAToM) {
  const std::string dir = testing::emnist_partial_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/data/emnist-letters-partial is absent; skipping the partial EMNIST test";
  const DatasetPair pair = load_dataset("emnist-letters-partial", dir, 0);
  EXPECT_EQ(pair.train.count, 8000);
  EXPECT_EQ(pair.test.count, 2000);
  const std::vector<bool> train = classes_present(pair.train.labels, 26), test = classes_present(pair.test.labels, 26);
  for (int c = 0; c < 26; ++c) {
    EXPECT_EQ(train[c], c < 13) << "letter " << static_cast<char>('a' + c);
    EXPECT_EQ(test[c], c < 13) << "letter " << static_cast<char>('a' + c);
  }
  EXPECT_NE(load_dataset("emnist-letters-partial", dir, 1).test.labels, pair.test.labels);
  if (!std::filesystem::exists(kDefaultWordList)) GTEST_SKIP() << kDefaultWordList << " is absent (Debian's wamerican)";
  const std::vector<std::string> words = read_words(kDefaultWordList, 5);
  const AllowedSequences allowed = draw_word_sequences(words, 50, 0, train, MissingLetters::kFilter, kDefaultWordList);
  for (const std::string& word : allowed.names)
    for (char c : word) EXPECT_LE(c, 'm') << word;
  expect_error([&] { draw_word_sequences(words, 50, 0, train, MissingLetters::kRefuse, kDefaultWordList); },
               "--missing-letters filter");
}

// Finite differences of the report's sequence net (alpha 0.5, zero feedback
// at position 1, readout at every position) with its layers frozen: the
// feedback weights' gradient flows back through the frozen layers and across
// positions; the frozen layers get none.
TEST(SequenceGradients, FeedbackThroughFrozenLayersMatchesFiniteDifferences) {
  Architecture ff;
  ff.input_size = 7;
  ff.hidden_sizes = {10};
  ff.classes = 4;
  ff.dropout = 0.5;
  ff.steps = 1;
  Network<double> network(sequence_feedback_architecture(ff, 0.5, 5, "test"));
  network.initialize(21);
  // Stale garbage in every gradient: freezing zeroes the frozen layers' part,
  // and backward must overwrite the feedback edge's.
  testing::fill_with_garbage(network.parameters().grads());
  network.set_frozen("layers.0", true);
  network.set_frozen("layers.1", true);
  const int64_t batch = 6;
  Rng rng(22);
  std::vector<Tensor<double>> images;
  std::vector<std::vector<int32_t>> labels(5);
  for (int p = 0; p < 5; ++p) {
    images.emplace_back(Shape{batch, 7});
    for (double& v : images.back().values) v = rng.normal();
    for (int64_t b = 0; b < batch; ++b) labels[p].push_back(static_cast<int32_t>(rng.below(4)));
  }
  std::vector<const Tensor<double>*> inputs;
  std::vector<const int32_t*> label_pointers;
  for (int p = 0; p < 5; ++p) {
    inputs.push_back(&images[p]);
    label_pointers.push_back(labels[p].data());
  }
  auto loss = [&] {
    Rng dropout_rng(23);
    network.forward(inputs, Mode::kTrain, &dropout_rng);
    return network.loss(label_pointers).loss_sum / batch;
  };
  loss();
  std::vector<std::pair<int64_t, int64_t>> ready;
  network.backward([&](int64_t begin, int64_t end) { ready.emplace_back(begin, end); });
  const std::vector<double> analytic = network.parameters().grads();
  const ParameterInfo& first_feedback = network.parameters().info("feedback.0.weight");
  const int64_t begin = first_feedback.offset;
  for (int64_t i = 0; i < begin; ++i) ASSERT_EQ(analytic[i], 0.0) << "a frozen layer got gradient at " << i;
  ASSERT_EQ(ready.size(), 1u);  // only the feedback edge's range is reported for an update
  EXPECT_EQ(ready[0].first, begin);
  EXPECT_EQ(ready[0].second, static_cast<int64_t>(analytic.size()));
  std::span<double> values(network.parameters().values());
  const double error = testing::max_gradient_error(loss, values.subspan(begin),
                                                   std::span<const double>(analytic).subspan(begin));
  EXPECT_LT(error, 1e-6);
}

// A small fb run on synthetic images: an FF net 16 -> 8 -> 5 (saved as
// --ff-model), sequences of length 3 over 5 classes, 64 training samples
// drawn from 50 images of N(0, 1) pixels, 16 samples per test condition, and
// settings for 2 quick epochs.
class SequenceTraining : public ::testing::Test {
 protected:
  SequenceTraining() {
    ff.initialize(3);
    save_checkpoint(dir.file("ff.safetensors"), ff, nullptr, 1, nlohmann::json::object());
    data.classes = 5;
    data.input_size = 16;
    data.length = 3;
    Rng rng(4);
    data.images.train = testing::synthetic_images(50, 16, 5, rng);
    data.images.test = testing::synthetic_images(20, 16, 5, rng);
    data.images.noisy_test = testing::synthetic_images(20, 16, 5, rng);
    const std::vector<bool> present(5, true);
    const AllowedSequences allowed = draw_random_sequences(2, 3, 1, present);
    const AllowedSequences random = draw_random_sequences(2, 3, 2, present);
    data.train = {SequenceCondition::kTrain, allowed, sample_sequences(allowed, data.images.train.labels, 64, 0, kTrainSequenceStream),
                  &data.images.train, nullptr, {0, 0, 0}};
    const SequenceSamples test = sample_sequences(allowed, data.images.test.labels, 16, 0, kTestSequenceStream);
    data.tests.push_back({SequenceCondition::kNormal, allowed, test, &data.images.test, nullptr, {0, 0, 0}});
    data.tests.push_back({SequenceCondition::kNoisy, allowed, test, &data.images.test, &data.images.noisy_test, {0, 0, 1}});
    data.tests.push_back({SequenceCondition::kRandom, random, sample_sequences(random, data.images.test.labels, 16, 0, kTestSequenceStream),
                          &data.images.test, nullptr, {0, 0, 0}});

    config.ff_model.path = dir.file("ff.safetensors");
    config.length = 3;
    config.noisy_positions = {3};
    config.training.epochs = 2;
    config.training.optimizer.learning_rate = 0.05;
    config.training.batch_size = 8;
    config.training.compute.threads = 1;
    config.output.progress = ProgressMode::kNever;
    config.output.out.path = dir.file("run");
  }

  static Architecture ff_architecture() {
    Architecture architecture;
    architecture.input_size = 16;
    architecture.hidden_sizes = {8};
    architecture.classes = 5;
    return architecture;
  }

  testing::TempDir dir;
  Network<float> ff{ff_architecture()};
  SequenceData data;
  SequenceConfig config;
};

// FF weights bit-identical after training, feedback weights changed, FF and
// FB measured per position.
TEST_F(SequenceTraining, FrozenWeightsStayBitIdentical) {
  const nlohmann::ordered_json results = train_sequence_run(config, data, false);

  const Checkpoint trained = read_checkpoint(path_in(config.output.out.path, "model.safetensors"));
  for (const char* name : {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}) {
    const ParameterInfo& info = ff.parameters().info(name);
    const std::vector<float>& after = trained.file.find(name)->values;
    ASSERT_EQ(static_cast<int64_t>(after.size()), info.size());
    EXPECT_EQ(0, std::memcmp(after.data(), ff.parameters().values().data() + info.offset, after.size() * sizeof(float)))
        << name << " changed";
  }
  Network<float> initial(sequence_feedback_architecture(ff_architecture(), config.feedback_alpha, 3, "test"));
  initial.initialize(config.training.seed);
  const ParameterInfo& feedback = initial.parameters().info("feedback.0.weight");
  const std::vector<float> initial_feedback(initial.parameters().values().begin() + feedback.offset,
                                            initial.parameters().values().begin() + feedback.offset + feedback.size());
  EXPECT_NE(trained.file.find("feedback.0.weight")->values, initial_feedback) << "the feedback weights did not train";

  for (const char* condition : {"normal", "noisy", "random"})
    for (const char* net : {"fb", "ff"})
      EXPECT_EQ(results["conditions"][condition][net]["accuracy"].size(), 3u) << condition << " " << net;
  // The FF column is the FF net on each image alone.
  EXPECT_EQ(results["conditions"]["normal"]["ff"]["accuracy"].get<std::vector<double>>(),
            [&] {
              SequenceBatches normal(data.tests[0]);
              return evaluate_each_step(ff, normal, 1000).accuracy;
            }());
  // The normal and noisy conditions share samples: they differ only at the noisy position.
  EXPECT_EQ(results["conditions"]["normal"]["ff"]["accuracy"][0], results["conditions"]["noisy"]["ff"]["accuracy"][0]);
  expect_error([&] { train_sequence_run(config, data, false); }, "already holds a finished sequence run");
}

TEST_F(SequenceTraining, NonFiniteLossStopsTheRunSayingNoEpochFinished) {
  // An FF model whose output bias for class 0 is +Inf: every logit row holds
  // Inf, and log-softmax gives NaN at the first batch.
  ff.parameters().values()[ff.parameters().info("layers.1.bias").offset] = std::numeric_limits<float>::infinity();
  save_checkpoint(config.ff_model.path, ff, nullptr, 1, nlohmann::json::object());
  expect_error([&] { train_sequence_run(config, data, false); },
               "nan at epoch 1, batch 1; no epoch finished, so " + config.output.out.path + " holds no checkpoint");  // -nan or nan
}

// The feedback weights' last update of an epoch overflows while every loss
// of the epoch, taken before its update, is finite: only the check of the
// weights after the epoch sees it. (fbnet's ReLU maps NaN to 0, so even Inf
// weights need not make a later loss non-finite.) One batch per epoch and
// pixels of about +-1e6 make feedback gradients far above 3.4, so the update
// lr x v overflows float32's 3.4e38.
TEST_F(SequenceTraining, WeightsThatOverflowUnderAFiniteLossStopTheRun) {
  for (float& v : data.images.train.images.values) v *= 1e6f;
  config.training.batch_size = 64;
  config.training.epochs = 6;
  config.training.divergence_factor = 0;  // the weight check, not the loss bound, is under test

  config.training.optimizer.learning_rate = 1e38;  // finite in float32; overflows at the first update
  expect_error([&] { train_sequence_run(config, data, false); },
               "feedback.0.weight holds NaN or Inf after epoch 1, batch 1; no epoch finished, so " + config.output.out.path +
                   " holds no checkpoint");

  // At lr 3e34 the momentum buffer (0.9) has to build up over a few epochs
  // before lr x v overflows; the model of the last finished epoch is kept.
  std::filesystem::remove_all(config.output.out.path);
  config.training.optimizer.learning_rate = 3e34;
  config.training.optimizer.momentum = 0.9;
  try {
    train_sequence_run(config, data, false);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    std::smatch match;
    const std::string message = error.what();
    ASSERT_TRUE(std::regex_search(message, match, std::regex(R"(feedback.0.weight holds NaN or Inf after epoch (\d+), )"
                                                             R"(batch 1; the checkpoint of epoch (\d+) in (\S+) is kept)")))
        << message;
    const int diverged = std::stoi(match[1]), kept = std::stoi(match[2]);
    EXPECT_GE(diverged, 2);
    EXPECT_EQ(kept, diverged - 1);
    EXPECT_EQ(match[3], config.output.out.path);
    EXPECT_EQ(read_checkpoint(path_in(config.output.out.path, "model.safetensors")).epoch, kept);
    EXPECT_EQ(read_checkpoint(path_in(config.output.out.path, "checkpoint.safetensors")).epoch, kept);
  }
}

}  // namespace
}  // namespace fbnet
