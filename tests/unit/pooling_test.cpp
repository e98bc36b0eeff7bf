// The max-pool and nearest-upsample kernels on hand-computed planes: PyTorch's
// tie-break (the first maximum in row-major order) and NaN rule (a NaN always
// wins), overlapping windows adding into one pixel, and upsampling's block
// sums. (Gradients against finite differences: gradient_check_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model/kernels/max_pool2d.hpp"
#include "model/kernels/upsample.hpp"

namespace fbnet {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(MaxPool2dKernel, TiesGoToTheFirstMaximumAndANaNWins) {
  const PoolGeometry g{.channels = 1, .height = 2, .width = 6, .kernel = 2, .stride = 2};
  // Windows: all ties | a NaN after a larger value | a tie between the last two pixels.
  Tensor<float> x({1, 1, 2, 6});
  x.values = {1, 1, 7, kNaN, 0, 4,
              1, 1, 2, 5,    0, 4};
  Tensor<float> y({1, 1, 1, 3});
  max_pool2d_forward(g, x, y);
  EXPECT_EQ(y.values[0], 1);
  EXPECT_TRUE(std::isnan(y.values[1]));
  EXPECT_EQ(y.values[2], 4);
  Tensor<float> dy({1, 1, 1, 3}), dx({1, 1, 2, 6});
  dy.values = {10, 20, 30};
  max_pool2d_backward(g, x, dy, dx, /*accumulate=*/false);
  EXPECT_EQ(dx.values, (std::vector<float>{10, 0, 0, 20, 0, 30,
                                           0,  0, 0, 0,  0, 0}));
}

TEST(MaxPool2dKernel, OverlappingWindowsAddIntoTheirSharedMaximum) {
  const PoolGeometry wide{.channels = 1, .height = 3, .width = 3, .kernel = 2, .stride = 1};
  Tensor<float> x({1, 1, 3, 3}), dy({1, 1, 2, 2}), dx({1, 1, 3, 3});
  x.values = {0, 0, 0, 0, 9, 0, 0, 0, 0};  // the centre is every window's maximum
  dy.values = {1, 2, 3, 4};
  dx.values.assign(9, 0.5f);
  max_pool2d_backward(wide, x, dy, dx, /*accumulate=*/true);
  EXPECT_EQ(dx.values, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f, 10.5f, 0.5f, 0.5f, 0.5f, 0.5f}));
}

TEST(UpsampleKernel, RepeatsEachPixelOverItsBlockAndSumsTheBlockBack) {
  const UpsampleGeometry g{.channels = 1, .height = 2, .width = 2, .factor_h = 2, .factor_w = 3};
  Tensor<float> x({1, 1, 2, 2}), y({1, 1, 4, 6});
  x.values = {1, 2, 3, 4};
  upsample_forward(g, x, y);
  EXPECT_EQ(y.values, (std::vector<float>{1, 1, 1, 2, 2, 2,
                                          1, 1, 1, 2, 2, 2,
                                          3, 3, 3, 4, 4, 4,
                                          3, 3, 3, 4, 4, 4}));
  Tensor<float> dy({1, 1, 4, 6}), dx({1, 1, 2, 2});
  for (size_t i = 0; i < dy.values.size(); ++i) dy.values[i] = static_cast<float>(i);
  dx.values = {100, 100, 100, 100};
  upsample_backward(g, dy, dx, /*accumulate=*/true);
  // Block (0, 0) holds 0 1 2 / 6 7 8: 24; (0, 1) 3 4 5 / 9 10 11: 42; (1, 0) 12..14 / 18..20: 96; (1, 1): 114.
  EXPECT_EQ(dx.values, (std::vector<float>{124, 142, 196, 214}));
}

}  // namespace
}  // namespace fbnet
