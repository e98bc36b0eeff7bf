// The optimisers and schedules against PyTorch's update rules, written out by
// hand (tests/peer/graph_parity.py checks them against torch.optim itself).
#include <gtest/gtest.h>

#include <cmath>

#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace fbnet {
namespace {

const std::vector<double>& momentum_of(Optimizer<double>& optimizer) { return *optimizer.find_state("momentum"); }

TEST(Optimizer, SgdFollowsPyTorchSemantics) {
  Optimizer<double> sgd({.learning_rate = 0.1, .momentum = 0.9}, 1);
  std::vector<double> w = {1.0};
  // Step 1: v = g = 2, w = 1 - 0.1 * 2 = 0.8.
  sgd.step(w, {2.0});
  EXPECT_DOUBLE_EQ(momentum_of(sgd)[0], 2.0);
  EXPECT_DOUBLE_EQ(w[0], 0.8);
  // Step 2: v = 0.9 * 2 + 1 = 2.8, w = 0.8 - 0.28 = 0.52.
  sgd.step(w, {1.0});
  EXPECT_DOUBLE_EQ(momentum_of(sgd)[0], 2.8);
  EXPECT_NEAR(w[0], 0.52, 1e-15);
  // No dampening, no Nesterov: a zero gradient still moves by lr * m * v.
  sgd.step(w, {0.0});
  EXPECT_NEAR(momentum_of(sgd)[0], 2.52, 1e-15);
  EXPECT_NEAR(w[0], 0.52 - 0.252, 1e-15);
}

// g' = g + wd w;  b = m b + g';  w -= lr (g' + m b).
TEST(Optimizer, SgdNesterovWithWeightDecay) {
  Optimizer<double> sgd({.learning_rate = 0.1, .momentum = 0.5, .nesterov = true, .weight_decay = 0.1}, 1);
  std::vector<double> w = {2.0};
  // g' = 1 + 0.2 = 1.2, b = 1.2, step 1.2 + 0.6 = 1.8: w = 2 - 0.18 = 1.82.
  sgd.step(w, {1.0});
  EXPECT_DOUBLE_EQ(momentum_of(sgd)[0], 1.2);
  EXPECT_NEAR(w[0], 1.82, 1e-15);
  // g' = 0 + 0.182, b = 0.6 + 0.182 = 0.782, step 0.182 + 0.391 = 0.573: w = 1.82 - 0.0573.
  sgd.step(w, {0.0});
  EXPECT_NEAR(momentum_of(sgd)[0], 0.782, 1e-15);
  EXPECT_NEAR(w[0], 1.7627, 1e-14);
}

// The first Adam step moves each weight by lr in the gradient's direction
// (m/(1-b1) = g, sqrt(v/(1-b2)) = |g|); the second by the bias-corrected ratio.
TEST(Optimizer, AdamIsBiasCorrected) {
  Optimizer<double> adam({.kind = OptimizerKind::kAdam, .learning_rate = 0.01, .epsilon = 0}, 2);
  std::vector<double> w = {1.0, -1.0};
  adam.begin_step();
  adam.step(w, {4.0, -0.5});
  EXPECT_NEAR(w[0], 0.99, 1e-15);
  EXPECT_NEAR(w[1], -0.99, 1e-15);
  adam.begin_step();
  adam.step(w, {2.0, -0.5});
  const double m = 0.9 * 0.1 * 4 + 0.1 * 2, v = 0.999 * 0.001 * 16 + 0.001 * 4;
  const double expected = 0.99 - 0.01 * (m / (1 - 0.81)) / std::sqrt(v / (1 - 0.999 * 0.999));
  EXPECT_NEAR(w[0], expected, 1e-15);
  EXPECT_NEAR(w[1], -0.98, 1e-15);  // a constant gradient keeps moving by lr
  EXPECT_EQ(adam.steps(), 2);
}

// Adam adds wd w to the gradient (and normalises it away); AdamW shrinks the weight first.
TEST(Optimizer, AdamWDecouplesWeightDecay) {
  const OptimizerSettings settings = {.kind = OptimizerKind::kAdamW, .learning_rate = 0.1, .weight_decay = 0.5, .epsilon = 0};
  Optimizer<double> adamw(settings, 1);
  std::vector<double> w = {2.0};
  adamw.begin_step();
  adamw.step(w, {3.0});
  EXPECT_NEAR(w[0], 2.0 * (1 - 0.05) - 0.1, 1e-15);
  Optimizer<double> adam({.kind = OptimizerKind::kAdam, .learning_rate = 0.1, .weight_decay = 0.5, .epsilon = 0}, 1);
  std::vector<double> v = {2.0};
  adam.begin_step();
  adam.step(v, {-0.5});  // g + wd w = 0.5: the decay flips the step's direction
  EXPECT_NEAR(v[0], 1.9, 1e-15);
}

// NOTES.md: a loop that never calls zero_grad steps with G, the sum of every
// gradient so far:  G += g;  v = m v + G;  w -= lr v.
TEST(Optimizer, RunningSumFollowsALoopWithoutZeroGrad) {
  Optimizer<double> sgd({.learning_rate = 0.1, .momentum = 0.5, .accumulation = GradientAccumulation::kRunningSum}, 2);
  std::vector<double> w = {1.0, -1.0};
  const std::vector<double>& sum = *sgd.find_state("gradient_sum");
  // Step 1: G = 2, v = 2, w = 1 - 0.2 = 0.8.
  sgd.step(w, {2.0, 0.0});
  EXPECT_DOUBLE_EQ(sum[0], 2.0);
  EXPECT_DOUBLE_EQ(w[0], 0.8);
  // Step 2: G = 2 + 1 = 3, v = 0.5 * 2 + 3 = 4, w = 0.8 - 0.4 = 0.4.
  sgd.step(w, {1.0, 0.0});
  EXPECT_DOUBLE_EQ(sum[0], 3.0);
  EXPECT_DOUBLE_EQ(momentum_of(sgd)[0], 4.0);
  EXPECT_NEAR(w[0], 0.4, 1e-15);
  // Step 3 with a zero gradient still applies G: v = 2 + 3 = 5, w = 0.4 - 0.5.
  sgd.step(w, {0.0, 0.0});
  EXPECT_DOUBLE_EQ(momentum_of(sgd)[0], 5.0);
  EXPECT_NEAR(w[0], -0.1, 1e-15);
  EXPECT_EQ(w[1], -1.0);  // a parameter that never had a gradient never moves
}

// A range update (as backward reports ranges) adds only that range to G.
TEST(Optimizer, RunningSumOfARangeLeavesTheRestAlone) {
  Optimizer<float> sgd({.learning_rate = 1.0, .accumulation = GradientAccumulation::kRunningSum}, 3);
  std::vector<float> w = {0, 0, 0};
  sgd.step(w, {1, 1, 1}, 1, 2);
  EXPECT_EQ(*sgd.find_state("gradient_sum"), (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(w, (std::vector<float>{0, -1, 0}));
  EXPECT_EQ(Optimizer<float>({.learning_rate = 1.0}, 3).find_state("gradient_sum"), nullptr);  // zeroed keeps no sum
}

// PyTorch's closed forms, epoch by epoch (epoch 1 has had no scheduler.step()).
TEST(Schedule, StepCosineAndWarmup) {
  const ScheduleSettings step = {.kind = ScheduleKind::kStep, .step_epochs = 2, .gamma = 0.5};
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.1, step, 1, 6), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.1, step, 2, 6), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.1, step, 3, 6), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.1, step, 6, 6), 0.025);
  const ScheduleSettings cosine = {.kind = ScheduleKind::kCosine};
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.1, cosine, 1, 4), 0.1);
  EXPECT_NEAR(scheduled_learning_rate(0.1, cosine, 3, 4), 0.05, 1e-15);  // halfway: cos(pi/2) = 0
  // Warmup 2: rates 1/3 and 2/3 of the base, then the cosine over the remaining 4 epochs.
  const ScheduleSettings warm = {.kind = ScheduleKind::kCosine, .warmup_epochs = 2};
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.3, warm, 1, 6), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.3, warm, 2, 6), 0.2);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.3, warm, 3, 6), 0.3);
  EXPECT_NEAR(scheduled_learning_rate(0.3, warm, 5, 6), 0.15, 1e-15);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0.3, {}, 9, 10), 0.3);  // constant
}

}  // namespace
}  // namespace fbnet
