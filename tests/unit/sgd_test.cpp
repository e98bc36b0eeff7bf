// SGD with momentum against PyTorch's update rule, written out by hand.
#include <gtest/gtest.h>

#include "optim/sgd.hpp"

namespace fbnet {
namespace {

TEST(SgdMomentum, FollowsPyTorchSemantics) {
  SgdMomentum<double> sgd(0.1, 0.9, 1);
  std::vector<double> w = {1.0};
  // Step 1: v = g = 2, w = 1 - 0.1 * 2 = 0.8.
  sgd.step(w, {2.0});
  EXPECT_DOUBLE_EQ(sgd.velocity()[0], 2.0);
  EXPECT_DOUBLE_EQ(w[0], 0.8);
  // Step 2: v = 0.9 * 2 + 1 = 2.8, w = 0.8 - 0.28 = 0.52.
  sgd.step(w, {1.0});
  EXPECT_DOUBLE_EQ(sgd.velocity()[0], 2.8);
  EXPECT_NEAR(w[0], 0.52, 1e-15);
  // No dampening, no Nesterov: a zero gradient still moves by lr * m * v.
  sgd.step(w, {0.0});
  EXPECT_NEAR(sgd.velocity()[0], 2.52, 1e-15);
  EXPECT_NEAR(w[0], 0.52 - 0.252, 1e-15);
}

// NOTES.md: a loop that never calls zero_grad steps with G, the sum of every
// gradient so far:  G += g;  v = m v + G;  w -= lr v.
TEST(SgdMomentum, RunningSumFollowsALoopWithoutZeroGrad) {
  SgdMomentum<double> sgd(0.1, 0.5, 2, GradientAccumulation::kRunningSum);
  std::vector<double> w = {1.0, -1.0};
  // Step 1: G = 2, v = 2, w = 1 - 0.2 = 0.8.
  sgd.step(w, {2.0, 0.0});
  EXPECT_DOUBLE_EQ(sgd.gradient_sum()[0], 2.0);
  EXPECT_DOUBLE_EQ(w[0], 0.8);
  // Step 2: G = 2 + 1 = 3, v = 0.5 * 2 + 3 = 4, w = 0.8 - 0.4 = 0.4.
  sgd.step(w, {1.0, 0.0});
  EXPECT_DOUBLE_EQ(sgd.gradient_sum()[0], 3.0);
  EXPECT_DOUBLE_EQ(sgd.velocity()[0], 4.0);
  EXPECT_NEAR(w[0], 0.4, 1e-15);
  // Step 3 with a zero gradient still applies G: v = 2 + 3 = 5, w = 0.4 - 0.5.
  sgd.step(w, {0.0, 0.0});
  EXPECT_DOUBLE_EQ(sgd.velocity()[0], 5.0);
  EXPECT_NEAR(w[0], -0.1, 1e-15);
  EXPECT_EQ(w[1], -1.0);  // a parameter that never had a gradient never moves
}

// A range update (as backward reports ranges) adds only that range to G.
TEST(SgdMomentum, RunningSumOfARangeLeavesTheRestAlone) {
  SgdMomentum<float> sgd(1.0, 0.0, 3, GradientAccumulation::kRunningSum);
  std::vector<float> w = {0, 0, 0};
  sgd.step(w, {1, 1, 1}, 1, 2);
  EXPECT_EQ(sgd.gradient_sum(), (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(w, (std::vector<float>{0, -1, 0}));
  EXPECT_TRUE(SgdMomentum<float>(1.0, 0.0, 3).gradient_sum().empty());  // zeroed keeps no sum
}

}  // namespace
}  // namespace fbnet
