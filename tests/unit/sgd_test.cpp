// SGD with momentum against PyTorch's update rule, written out by hand.
#include <gtest/gtest.h>

#include "train/sgd.hpp"

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

}  // namespace
}  // namespace fbnet
