// The max-pool and nearest-upsample kernels on hand-computed planes: PyTorch's
// tie-break (the first maximum in row-major order) and NaN rule (a NaN always
// wins), overlapping windows adding into one pixel, and upsampling's block
// sums; and their channel-block versions bit for bit against the plain ones.
// (Gradients against finite differences: gradient_check_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "engine/random.hpp"
#include "model/kernels/activation_layout.hpp"
#include "model/kernels/max_pool2d.hpp"
#include "model/kernels/upsample.hpp"
#include "test_support.hpp"

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

using testing::bits_of;

// Planes full of ties, signed zeros and NaNs: NaN, -2, -1, -0, +0, 1, 2.
Tensor<float> tie_heavy_planes(const Shape& shape, Rng& rng) {
  constexpr float kDraws[] = {kNaN, -2, -1, -0.0f, 0.0f, 1, 2};
  Tensor<float> x(shape);
  for (float& pixel : x.values) pixel = kDraws[rng.below(std::size(kDraws))];
  return x;
}

// Every geometry of a table (the 2 x 2 / 2 fast path among them, at odd and
// even sizes) through the kernels, bit for bit against a pixel-by-pixel scan:
// the first maximum in row-major order wins, a NaN wins over what came before.
TEST(MaxPool2dKernel, EveryGeometryMatchesAPixelByPixelScan) {
  struct Case { int64_t kernel, stride; };
  Rng rng(7);
  for (const Case& c : {Case{2, 2}, Case{2, 1}, Case{3, 2}, Case{3, 3}})
    for (int64_t height = c.kernel; height <= 7; ++height)
      for (int64_t width = c.kernel; width <= 9; ++width) {
        const PoolGeometry g{.channels = 2, .height = height, .width = width, .kernel = c.kernel, .stride = c.stride};
        const int64_t out_h = g.out_height(), out_w = g.out_width();
        const Tensor<float> x = tie_heavy_planes({2, 2, height, width}, rng);
        Tensor<float> dy({2, 2, out_h, out_w});
        for (size_t i = 0; i < dy.values.size(); ++i) dy.values[i] = static_cast<float>(i + 1);
        std::vector<float> want_y(dy.values.size()), want_dx(x.values.size(), 0.0f);
        for (int64_t plane = 0; plane < 4; ++plane)
          for (int64_t oh = 0; oh < out_h; ++oh)
            for (int64_t ow = 0; ow < out_w; ++ow) {
              int64_t best = plane * height * width + oh * c.stride * width + ow * c.stride;
              for (int64_t ki = 0; ki < c.kernel; ++ki)
                for (int64_t kj = 0; kj < c.kernel; ++kj) {
                  const int64_t at = plane * height * width + (oh * c.stride + ki) * width + ow * c.stride + kj;
                  if (x.values[at] > x.values[best] || std::isnan(x.values[at])) best = at;
                }
              const int64_t out = (plane * out_h + oh) * out_w + ow;
              want_y[out] = x.values[best];
              want_dx[best] += dy.values[out];
            }
        Tensor<float> y({2, 2, out_h, out_w}), dx({2, 2, height, width});
        max_pool2d_forward(g, x, y);
        max_pool2d_backward(g, x, dy, dx, /*accumulate=*/false);
        const std::string where = fmt::format("kernel {}, stride {}, {} x {}", c.kernel, c.stride, height, width);
        EXPECT_EQ(bits_of(y.values), bits_of(want_y)) << where;
        EXPECT_EQ(bits_of(dx.values), bits_of(want_dx)) << where;
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
  // ((1e8 + 1) - 1e8) + 1 = 1 in float (1e8 + 1 rounds to 1e8); column by column, (1e8 - 1e8) + (1 + 1) = 2.
  EXPECT_EQ(dx.values, (std::vector<float>{1, 18}));
}

// Factor 2 on rows wide enough for the vectorised loop, against the sums written out pixel by pixel.
TEST(UpsampleKernel, FactorTwoMatchesAPixelByPixelLoopOnWideRows) {
  const UpsampleGeometry g{.channels = 3, .height = 5, .width = 19, .factor_h = 2, .factor_w = 2};
  Rng rng(11);
  Tensor<float> x({2, 3, 5, 19}), y({2, 3, 10, 38}), dy({2, 3, 10, 38}), dx({2, 3, 5, 19});
  for (float& value : x.values) value = static_cast<float>(rng.normal());
  for (float& value : dy.values) value = static_cast<float>(rng.normal() * 1e4);
  for (float& value : dx.values) value = static_cast<float>(rng.normal());
  std::vector<float> want_y(y.values.size()), want_dx = dx.values;
  for (int64_t plane = 0; plane < 6; ++plane)
    for (int64_t i = 0; i < 10; ++i)
      for (int64_t j = 0; j < 38; ++j) {
        want_y[(plane * 10 + i) * 38 + j] = x.values[(plane * 5 + i / 2) * 19 + j / 2];
        want_dx[(plane * 5 + i / 2) * 19 + j / 2] += dy.values[(plane * 10 + i) * 38 + j];  // row-major order
      }
  upsample_forward(g, x, y);
  upsample_backward(g, dy, dx, /*accumulate=*/true);
  EXPECT_EQ(bits_of(y.values), bits_of(want_y));
  EXPECT_EQ(bits_of(dx.values), bits_of(want_dx));
}

Tensor<float> in_blocks(const Tensor<float>& plain) {
  return in_layout(plain, ActivationLayout::kPlain, ActivationLayout::kChannelBlocks);
}
Tensor<float> out_of_blocks(const Tensor<float>& blocked) {
  return in_layout(blocked, ActivationLayout::kChannelBlocks, ActivationLayout::kPlain);
}

TEST(ActivationLayout, ChannelBlocksPutEachChannelInALaneOfItsPixel) {
  const int64_t channels = 32, height = 3, width = 5, sample = channels * height * width;
  Tensor<float> plain({2, channels, height, width});
  for (size_t i = 0; i < plain.values.size(); ++i) plain.values[i] = static_cast<float>(i);
  const Tensor<float> blocked = in_blocks(plain);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t pixel = 0; pixel < height * width; ++pixel)
        ASSERT_EQ(blocked.values[b * sample + ((c / 16) * height * width + pixel) * 16 + c % 16],
                  plain.values[b * sample + c * height * width + pixel]);
  EXPECT_EQ(out_of_blocks(blocked).values, plain.values);
}

// An identity op's backward across layouts (Flatten from blocks): 0 + dy when written, as Network's identity
// backward computes it, so a -0 arrives as +0; added to what is there when accumulating.
TEST(ActivationLayout, AddingAcrossLayoutsWritesZeroPlusTheGradient) {
  const SpatialShape g{.channels = 16, .height = 1, .width = 2};
  std::vector<float> plain_grad(32, -0.0f), blocked(32, 7.0f);
  plain_grad[3 * 2 + 1] = 2.5f;  // channel 3, pixel 1 (plain: channel * pixels + pixel)
  add_changing_layout(g, 1, plain_grad.data(), blocked.data(), LayoutChange::kToBlocks, /*accumulate=*/false);
  std::vector<float> want(32, 0.0f);
  want[1 * 16 + 3] = 2.5f;  // blocked: pixel * 16 + channel
  EXPECT_EQ(bits_of(blocked), bits_of(want));
  add_changing_layout(g, 1, plain_grad.data(), blocked.data(), LayoutChange::kToBlocks, /*accumulate=*/true);
  want[1 * 16 + 3] = 5.0f;
  EXPECT_EQ(bits_of(blocked), bits_of(want));
}

// Pooling in channel blocks: the same maxima, tie-breaks, NaNs and gradient sums (signed zeros too) as the plain
// kernels, for the 2 x 2 / 2 fast path at odd and even sizes and for overlapping windows, written and accumulated.
TEST(MaxPool2dKernel, ChannelBlocksGiveThePlainKernelsBits) {
  struct Case { int64_t kernel, stride; };
  Rng rng(13);
  for (const Case& c : {Case{2, 2}, Case{2, 1}, Case{3, 2}})
    for (const int64_t size : {4, 5, 7, 14})
      for (const bool accumulate : {false, true}) {
        const PoolGeometry g{.channels = 32, .height = size, .width = size + 1, .kernel = c.kernel, .stride = c.stride};
        const Tensor<float> x = tie_heavy_planes({2, 32, g.height, g.width}, rng);
        const Tensor<float> dy = tie_heavy_planes({2, 32, g.out_height(), g.out_width()}, rng);
        const Tensor<float> dx_before = tie_heavy_planes(x.shape, rng);
        Tensor<float> y(dy.shape), dx = dx_before, blocked_y(dy.shape), blocked_dx = in_blocks(dx_before);
        max_pool2d_forward(g, x, y);
        max_pool2d_backward(g, x, dy, dx, accumulate);
        max_pool2d_forward(g, in_blocks(x), blocked_y, ActivationLayout::kChannelBlocks);
        max_pool2d_backward(g, in_blocks(x), in_blocks(dy), blocked_dx, accumulate, ActivationLayout::kChannelBlocks);
        const std::string where = fmt::format("kernel {}, stride {}, {} x {}, accumulate {}", c.kernel, c.stride,
                                              g.height, g.width, accumulate);
        EXPECT_EQ(bits_of(out_of_blocks(blocked_y).values), bits_of(y.values)) << where;
        EXPECT_EQ(bits_of(out_of_blocks(blocked_dx).values), bits_of(dx.values)) << where;
      }
}

TEST(UpsampleKernel, ChannelBlocksGiveThePlainKernelsBits) {
  Rng rng(17);
  for (const auto& [factor_h, factor_w] : {std::pair<int64_t, int64_t>{2, 2}, {2, 3}, {3, 1}})
    for (const bool accumulate : {false, true}) {
      const UpsampleGeometry g{.channels = 32, .height = 5, .width = 7, .factor_h = factor_h, .factor_w = factor_w};
      Tensor<float> x({2, 32, 5, 7}), dy({2, 32, 5 * factor_h, 7 * factor_w}), dx_before({2, 32, 5, 7});
      for (auto* tensor : {&x, &dy, &dx_before})
        for (float& value : tensor->values) value = static_cast<float>(rng.normal() * 1e4);
      Tensor<float> y(dy.shape), dx = dx_before, blocked_y(dy.shape), blocked_dx = in_blocks(dx_before);
      upsample_forward(g, x, y);
      upsample_backward(g, dy, dx, accumulate);
      upsample_forward(g, in_blocks(x), blocked_y, ActivationLayout::kChannelBlocks);
      upsample_backward(g, in_blocks(dy), blocked_dx, accumulate, ActivationLayout::kChannelBlocks);
      const std::string where = fmt::format("factors {} x {}, accumulate {}", factor_h, factor_w, accumulate);
      EXPECT_EQ(bits_of(out_of_blocks(blocked_y).values), bits_of(y.values)) << where;
      EXPECT_EQ(bits_of(out_of_blocks(blocked_dx).values), bits_of(dx.values)) << where;
    }
}

}  // namespace
}  // namespace fbnet
