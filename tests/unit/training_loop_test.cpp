// The training loop's last line of defence: weights that overflow in
// an epoch's last update, while every loss it saw was finite, stop the run
// before a checkpoint is written. (A non-finite loss, the common case, is
// tested end to end in tests/cli/test_cli.py.)
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"
#include "train/image_run.hpp"

namespace fbnet {
namespace {

TEST(TrainingLoop, WeightsThatOverflowUnderAFiniteLossStopTheRunBeforeACheckpoint) {
  testing::TempDir dir;
  Rng rng(5);
  PreparedData data;
  data.classes = 5;
  data.input_size = 16;
  // Pixels of about +-1e4 give weight gradients far above 3.4; lr 1e38
  // (finite in float32, whose largest value is 3.4e38) times such a gradient
  // is +-Inf. The only batch's loss, taken before that update, is finite, and
  // no later batch turns the Inf into a non-finite loss.
  data.train = testing::synthetic_images(8, 16, 5, rng, 1e4);
  data.validation = testing::synthetic_images(5, 16, 5, rng);
  data.test = testing::synthetic_images(5, 16, 5, rng);
  data.noisy_test = testing::synthetic_images(5, 16, 5, rng);
  RunConfig config;
  config.hidden = {8};
  config.training.epochs = 1;
  config.training.batch_size = 8;
  config.training.learning_rate = 1e38;
  config.training.threads = 1;
  config.output.progress = ProgressMode::kNever;
  config.output.out = dir.file("run");
  testing::expect_error([&] { train_run(config, data, /*resume=*/false); },
                        "holds NaN or Inf after epoch 1, batch 1; no epoch finished, so " + config.output.out +
                            " holds no checkpoint");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/checkpoint.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/model.safetensors")));
}

}  // namespace
}  // namespace fbnet
