// The training loop's last line of defence: weights that overflow in
// an epoch's last update, while every loss it saw was finite, stop the run
// before a checkpoint is written. (A non-finite loss, the common case, is
// tested end to end in tests/cli/test_cli.py.) And a frozen edge (the
// fb-fixed control) keeps its initial weights while everything else trains.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/model_file.hpp"
#include "test_support.hpp"
#include "experiments/reported_epoch.hpp"
#include "train/image_run.hpp"
#include "train/memory_estimate.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

// 16-pixel images of 5 classes: `train_count` training images of pixel scale
// `train_scale`, 5 each for validation, test and noisy test.
PreparedData small_data(Rng& rng, int64_t train_count, double train_scale = 1.0) {
  PreparedData data;
  data.classes = 5;
  data.input_size = 16;
  data.image_shape = {4, 4};
  data.train = testing::synthetic_images(train_count, 16, 5, rng, train_scale);
  data.validation = testing::synthetic_images(5, 16, 5, rng);
  data.test = testing::synthetic_images(5, 16, 5, rng);
  data.noisy_test = testing::synthetic_images(5, 16, 5, rng);
  return data;
}

// One thread, batches of 8, no progress line, writing to `folder`.
void run_quietly_in(RunConfig& config, const std::string& folder) {
  config.training.batch_size = 8;
  config.training.compute.threads = 1;
  config.output.progress = ProgressMode::kNever;
  config.output.out.path = folder;
}

TEST(TrainingLoop, WeightsThatOverflowUnderAFiniteLossStopTheRunBeforeACheckpoint) {
  testing::TempDir dir;
  Rng rng(5);
  // Pixels of about +-1e4 give weight gradients far above 3.4; lr 1e38
  // (finite in float32, whose largest value is 3.4e38) times such a gradient
  // is +-Inf. The only batch's loss, taken before that update, is finite, and
  // no later batch turns the Inf into a non-finite loss.
  const PreparedData data = small_data(rng, 8, 1e4);
  RunConfig config;
  config.hidden = {8};
  config.training.epochs = 1;
  config.training.optimizer.learning_rate = 1e38;
  config.training.divergence_factor = 0;  // the weight check, not the loss bound, is under test
  run_quietly_in(config, dir.file("run"));
  testing::expect_error([&] { train_run(config, data, /*resume=*/false); },
                        "holds NaN or Inf after epoch 1, batch 1; no epoch finished, so " + config.output.out.path +
                            " holds no checkpoint");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/checkpoint.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/model.safetensors")));
}

TEST(TrainingLoop, FrozenFeedbackKeepsItsInitialWeightsWhileTheLayersTrain) {
  testing::TempDir dir;
  Rng rng(6);
  const PreparedData data = small_data(rng, 32);
  RunConfig config = resolve_config({{"model", "fb-fixed"}, {"hidden", "8"}});
  config.training.epochs = 2;
  run_quietly_in(config, dir.file("run"));
  train_run(config, data, /*resume=*/false);

  Network<float> initial(architecture_from(config, data.image_shape, data.classes));
  initial.initialize(config.training.seed);
  const Checkpoint trained = read_checkpoint(dir.file("run/model.safetensors"));
  for (const ParameterInfo& info : initial.parameters().infos()) {
    const std::vector<float> before(initial.parameters().values().begin() + info.offset,
                                    initial.parameters().values().begin() + info.offset + info.size());
    if (info.name.starts_with("feedback.0."))
      EXPECT_EQ(trained.file.find(info.name)->values, before) << info.name << " trained";
    else
      EXPECT_NE(trained.file.find(info.name)->values, before) << info.name << " did not train";
  }
}

// Validation accuracies 50, 70, 70, 60: the best epoch is the first of equals (2).
TEST(TrainingLoop, BestEpochEarlyStoppingAndTheReportedRecord) {
  std::vector<nlohmann::ordered_json> records;
  for (double accuracy : {50.0, 70.0, 70.0, 60.0})
    records.push_back({{"epoch", records.size() + 1}, {"validation_accuracy", accuracy}});
  EXPECT_EQ(best_epoch(records).epoch, 2);
  EXPECT_EQ(best_epoch(records).accuracy, 70.0);
  EXPECT_TRUE(stopped_early(records, 2));  // epochs 3 and 4 did not beat epoch 2
  EXPECT_FALSE(stopped_early(records, 3));
  EXPECT_FALSE(stopped_early(records, 0));  // off
  EXPECT_EQ(reported_record(records, ReportedEpoch::kLast)["epoch"], 4);
  EXPECT_EQ(reported_record(records, ReportedEpoch::kBest)["epoch"], 2);
  // Without validation there is no best epoch to report or to stop at.
  const std::vector<nlohmann::ordered_json> unvalidated = {{{"epoch", 1}}, {{"epoch", 2}}};
  EXPECT_TRUE(reported_record(unvalidated, ReportedEpoch::kBest).is_null());
  EXPECT_FALSE(stopped_early(unvalidated, 1));
}

// The memory estimate counts the weights, their gradients and each optimiser state buffer.
TEST(TrainingLoop, MemoryEstimateCountsTheOptimisersState) {
  const Graph graph = graph_of(architecture_from(resolve_config({{"model", "fb"}}), Shape{28, 28}, 10));
  const int64_t parameter_floats = 790294 * int64_t{sizeof(float)};
  TrainingSettings training;
  EXPECT_EQ(estimate_training_memory(graph, training, 0).parameter_bytes, 3 * parameter_floats);  // + momentum
  training.optimizer.kind = OptimizerKind::kAdam;
  EXPECT_EQ(estimate_training_memory(graph, training, 0).parameter_bytes, 4 * parameter_floats);  // + two moments
  training.optimizer.accumulation = GradientAccumulation::kRunningSum;
  EXPECT_EQ(estimate_training_memory(graph, training, 0).parameter_bytes, 5 * parameter_floats);  // + G
}

}  // namespace
}  // namespace fbnet
