// The max-pool and nearest-upsample kernels on hand-computed planes: PyTorch's
// tie-break (the first maximum in row-major order) and NaN rule (a NaN always
// wins), overlapping windows adding into one pixel, and upsampling's block
// sums. (Gradients against finite differences: gradient_check_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/random.hpp"
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

// The 2 x 2 / 2 kernel visits a window's pixels in one pass; the general one
// pixel position by pixel position. On planes full of ties and NaNs (and an
// odd width, whose last column no window covers) they must agree exactly.
TEST(MaxPool2dKernel, PairWindowsAgreeWithTheGeneralScan) {
  const PoolGeometry g{.channels = 1, .height = 6, .width = 9, .kernel = 2, .stride = 2};
  const int64_t out_w = g.out_width();
  Rng rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> plane(g.height * g.width);
    for (float& pixel : plane) {
      const double draw = rng.uniform(0, 5);
      pixel = draw < 0.5 ? kNaN : static_cast<float>(std::floor(draw) - 2);  // NaN, -1, 0, 1, 2: many ties
    }
    for (int64_t oh = 0; oh < g.out_height(); ++oh) {
      std::vector<float> pair_best(out_w), any_best(out_w), unindexed(out_w);
      std::vector<int32_t> pair_at(out_w), any_at(out_w);
      pair_window_row_maxima<float, true>(g, plane.data(), oh, pair_best.data(), pair_at.data());
      pair_window_row_maxima<float, false>(g, plane.data(), oh, unindexed.data(), nullptr);
      any_window_row_maxima(g, plane.data(), oh, any_best.data(), any_at.data());
      EXPECT_EQ(pair_at, any_at) << "trial " << trial << ", row " << oh;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        EXPECT_EQ(std::isnan(pair_best[ow]), std::isnan(any_best[ow]));
        if (!std::isnan(any_best[ow])) EXPECT_EQ(pair_best[ow], any_best[ow]);
        EXPECT_EQ(std::isnan(unindexed[ow]), std::isnan(any_best[ow]));
        if (!std::isnan(any_best[ow])) EXPECT_EQ(unindexed[ow], any_best[ow]);
      }
    }
  }
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

// Factor 2 (the presets' top-down edges) has a loop of its own; its block sums
// must still add row by row, left to right, in float.
TEST(UpsampleKernel, FactorTwoAddsEachBlockInRowMajorOrder) {
  const UpsampleGeometry g{.channels = 1, .height = 1, .width = 2, .factor_h = 2, .factor_w = 2};
  Tensor<float> x({1, 1, 1, 2}), y({1, 1, 2, 4});
  x.values = {5, -6};
  upsample_forward(g, x, y);
  EXPECT_EQ(y.values, (std::vector<float>{5, 5, -6, -6, 5, 5, -6, -6}));
  Tensor<float> dy({1, 1, 2, 4}), dx({1, 1, 1, 2});
  dy.values = {1e8f, 1, 3, 4,
               -1e8f, 1, 5, 6};
  upsample_backward(g, dy, dx, /*accumulate=*/false);
  // ((1e8 + 1) - 1e8) + 1 = 1 in float (1e8 + 1 rounds to 1e8); any other order gives 2.
  EXPECT_EQ(dx.values, (std::vector<float>{1, 18}));
}

}  // namespace
}  // namespace fbnet
