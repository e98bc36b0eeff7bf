// 2-D max pooling (torch.nn.MaxPool2d, no padding) as a forward/backward
// pair, on plain NCHW tensors or channel blocks (activation_layout.hpp).
//   forward   x [B, C, H, W] -> y [B, C, OH, OW], OH = (H - K) / S + 1
//   backward  dx (+)= dy routed to each window's maximum
// Backward finds each window's maximum again from x rather than keeping
// indices per step; a tie goes to the first in row-major order and a NaN
// always wins, as in PyTorch's CPU kernel, so gradients land on the same pixel.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"
#include "model/kernels/activation_layout.hpp"

namespace fbnet {

struct PoolGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t kernel = 2, stride = 2;

  int64_t out_height() const { return (height - kernel) / stride + 1; }
  int64_t out_width() const { return (width - kernel) / stride + 1; }
};

// Whether `pixel` replaces `best` as its window's maximum: a larger value, or a NaN, which always wins (PyTorch's
// rule). `|`, not `||`: no branch, so the loops that ask stay vector loops.
template <class Scalar>
bool replaces_maximum(Scalar pixel, Scalar best) {
  return (pixel > best) | std::isnan(pixel);
}

// window_row_maxima for 2 x 2 windows at stride 2 (every preset's pooling): a
// window's four pixels in one pass, in the same row-major order, so that the
// compiler sees each row's pairs as interleaved loads and vectorises them.
template <class Scalar, bool kOffsets>
void pair_window_row_maxima(const PoolGeometry& g, const Scalar* plane, int64_t oh, Scalar* best, int32_t* best_at) {
  const int64_t out_w = g.out_width();
  const Scalar* top = plane + 2 * oh * g.width;
  const Scalar* bottom = top + g.width;
  const auto top_at = static_cast<int32_t>(2 * oh * g.width), bottom_at = top_at + static_cast<int32_t>(g.width);
  for (int64_t ow = 0; ow < out_w; ++ow) {
    Scalar value = top[2 * ow];
    int32_t at = top_at + static_cast<int32_t>(2 * ow);
    auto visit = [&](Scalar pixel, int32_t offset) {
      const bool wins = replaces_maximum(pixel, value);
      value = wins ? pixel : value;
      if constexpr (kOffsets) at = wins ? offset : at;
    };
    visit(top[2 * ow + 1], top_at + static_cast<int32_t>(2 * ow + 1));
    visit(bottom[2 * ow], bottom_at + static_cast<int32_t>(2 * ow));
    visit(bottom[2 * ow + 1], bottom_at + static_cast<int32_t>(2 * ow + 1));
    best[ow] = value;
    if constexpr (kOffsets) best_at[ow] = at;
  }
}

// Any window and stride: the maxima of one row of windows (oh) of a channel plane [H, W]: value and,
// unless best_at is null, offset in the plane of each of the OW windows. The
// window's pixels are visited in row-major order, each against all OW windows
// at once (a loop the compiler vectorises), so each window sees the
// comparisons, and keeps the tie-break, of a pixel-by-pixel scan.
template <class Scalar>
void any_window_row_maxima(const PoolGeometry& g, const Scalar* plane, int64_t oh, Scalar* best, int32_t* best_at) {
  const int64_t out_w = g.out_width();
  for (int64_t ki = 0; ki < g.kernel; ++ki)
    for (int64_t kj = 0; kj < g.kernel; ++kj) {
      const Scalar* pixels = plane + (oh * g.stride + ki) * g.width + kj;  // window 0's pixel (ki, kj)
      const auto first = static_cast<int32_t>(pixels - plane);  // a plane is far smaller than 2^31 pixels
      if (ki == 0 && kj == 0) {
        for (int64_t ow = 0; ow < out_w; ++ow) best[ow] = pixels[ow * g.stride];
        if (best_at != nullptr)
          for (int64_t ow = 0; ow < out_w; ++ow) best_at[ow] = first + static_cast<int32_t>(ow * g.stride);
      } else if (best_at == nullptr) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Scalar value = pixels[ow * g.stride];
          best[ow] = replaces_maximum(value, best[ow]) ? value : best[ow];
        }
      } else {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Scalar value = pixels[ow * g.stride];
          const bool wins = replaces_maximum(value, best[ow]);
          best[ow] = wins ? value : best[ow];
          best_at[ow] = wins ? first + static_cast<int32_t>(ow * g.stride) : best_at[ow];
        }
      }
    }
}

// The maxima of one row of windows, by the kernel for its geometry.
template <class Scalar>
void window_row_maxima(const PoolGeometry& g, const Scalar* plane, int64_t oh, Scalar* best, int32_t* best_at) {
  if (g.kernel != 2 || g.stride != 2) return any_window_row_maxima(g, plane, oh, best, best_at);
  if (best_at == nullptr) return pair_window_row_maxima<Scalar, false>(g, plane, oh, best, nullptr);
  pair_window_row_maxima<Scalar, true>(g, plane, oh, best, best_at);
}

// Channel blocks: the maximum of window (oh, ow) in each channel of a block [H, W, 16], and unless kOffsets is
// false its pixel in the plane. The window's pixels are visited in row-major order with the comparisons of a
// pixel-by-pixel scan, 16 channels at once.
template <class Scalar, bool kOffsets>
void block_window_maxima(const PoolGeometry& g, const Scalar* block, int64_t oh, int64_t ow, Scalar* best,
                         int32_t* best_at) {
  for (int64_t ki = 0; ki < g.kernel; ++ki)
    for (int64_t kj = 0; kj < g.kernel; ++kj) {
      const auto at = static_cast<int32_t>((oh * g.stride + ki) * g.width + ow * g.stride + kj);
      const Scalar* __restrict pixel = block + at * kChannelBlock;
      if (ki == 0 && kj == 0) {
        std::copy_n(pixel, kChannelBlock, best);
        if constexpr (kOffsets) std::fill_n(best_at, kChannelBlock, at);
        continue;
      }
      for (int64_t lane = 0; lane < kChannelBlock; ++lane) {
        const bool wins = replaces_maximum(pixel[lane], best[lane]);
        best[lane] = wins ? pixel[lane] : best[lane];
        if constexpr (kOffsets) best_at[lane] = wins ? at : best_at[lane];
      }
    }
}

// block_window_maxima for 2 x 2 windows at stride 2 (every preset's pooling): the four pixels from the top left
// one, in the same row-major order, lane by lane without a branch.
template <class Scalar>
void block_pair_window_maxima(const Scalar* __restrict top_left, int64_t width, Scalar* __restrict best) {
  const Scalar* __restrict bottom = top_left + width * kChannelBlock;
  for (int64_t lane = 0; lane < kChannelBlock; ++lane) {
    Scalar value = top_left[lane];
    for (const Scalar pixel : {top_left[kChannelBlock + lane], bottom[lane], bottom[kChannelBlock + lane]})
      value = replaces_maximum(pixel, value) ? pixel : value;
    best[lane] = value;
  }
}

// `grad` where `won`, else -0, which added changes no value (not even a zero's sign), by bit masks: a select the
// compiler cannot turn into a branch around the addition, so the loop below stays a vector loop.
template <class Scalar>
Scalar grad_or_negative_zero(Scalar grad, bool won) {
  using Bits = std::conditional_t<sizeof(Scalar) == 4, uint32_t, uint64_t>;
  const Bits mask = Bits{0} - static_cast<Bits>(won), sign = Bits{1} << (8 * sizeof(Scalar) - 1);
  return std::bit_cast<Scalar>((std::bit_cast<Bits>(grad) & mask) | (sign & ~mask));
}

// Backward of one 2 x 2 window at stride 2 in channel blocks: each lane's winner found again as forward finds
// it, and each of the four pixels += the window's gradient where it won and += -0 where it lost: a scatter's
// additions, as one vector loop.
template <class Scalar>
void block_pair_window_backward(const Scalar* __restrict top_left, int64_t width, const Scalar* __restrict window_grad,
                                Scalar* __restrict top_left_grad) {
  const Scalar* __restrict bottom = top_left + width * kChannelBlock;
  Scalar* __restrict bottom_grad = top_left_grad + width * kChannelBlock;
  for (int64_t lane = 0; lane < kChannelBlock; ++lane) {
    Scalar value = top_left[lane];
    int32_t winner = 0;
    auto visit = [&](Scalar pixel, int32_t place) {
      const bool wins = replaces_maximum(pixel, value);
      value = wins ? pixel : value;
      winner = wins ? place : winner;
    };
    visit(top_left[kChannelBlock + lane], 1);
    visit(bottom[lane], 2);
    visit(bottom[kChannelBlock + lane], 3);
    const Scalar grad = window_grad[lane];
    top_left_grad[lane] = top_left_grad[lane] + grad_or_negative_zero(grad, winner == 0);
    top_left_grad[kChannelBlock + lane] = top_left_grad[kChannelBlock + lane] + grad_or_negative_zero(grad, winner == 1);
    bottom_grad[lane] = bottom_grad[lane] + grad_or_negative_zero(grad, winner == 2);
    bottom_grad[kChannelBlock + lane] = bottom_grad[kChannelBlock + lane] + grad_or_negative_zero(grad, winner == 3);
  }
}

template <class Scalar>
void max_pool2d_forward(const PoolGeometry& g, const Tensor<Scalar>& x, Tensor<Scalar>& y,
                        ActivationLayout layout = ActivationLayout::kPlain) {
  const int64_t out_h = g.out_height(), out_w = g.out_width(), planes = x.rows() * g.channels;
  FBNET_ASSERT(x.row_size() == g.channels * g.height * g.width && y.size() == planes * out_h * out_w,
               "max_pool2d_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
  if (layout == ActivationLayout::kChannelBlocks) {
    FBNET_ASSERT(g.channels % kChannelBlock == 0, "max_pool2d_forward: {} channels are not whole blocks", g.channels);
    const bool pairs = g.kernel == 2 && g.stride == 2;
    parallel_rows(planes / kChannelBlock, kChannelBlock * g.height * g.width, [&](int64_t begin, int64_t end) {
      for (int64_t block = begin; block < end; ++block) {
        const Scalar* in = x.data() + block * kChannelBlock * g.height * g.width;
        Scalar* out = y.data() + block * kChannelBlock * out_h * out_w;
        for (int64_t oh = 0; oh < out_h; ++oh)
          for (int64_t ow = 0; ow < out_w; ++ow) {
            Scalar* best = out + (oh * out_w + ow) * kChannelBlock;
            if (pairs) {
              block_pair_window_maxima<Scalar>(in + (2 * oh * g.width + 2 * ow) * kChannelBlock, g.width, best);
            } else {
              block_window_maxima<Scalar, false>(g, in, oh, ow, best, nullptr);
            }
          }
      }
    });
    return;
  }
  parallel_rows(planes, g.height * g.width, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const Scalar* in = x.data() + plane * g.height * g.width;
      Scalar* out = y.data() + plane * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) window_row_maxima<Scalar>(g, in, oh, out + oh * out_w, nullptr);
    }
  });
}

template <class Scalar>
void max_pool2d_backward(const PoolGeometry& g, const Tensor<Scalar>& x, const Tensor<Scalar>& dy, Tensor<Scalar>& dx,
                         bool accumulate, ActivationLayout layout = ActivationLayout::kPlain) {
  const int64_t out_h = g.out_height(), out_w = g.out_width(), planes = x.rows() * g.channels;
  FBNET_ASSERT(dx.size() == x.size() && dy.size() == planes * out_h * out_w,
               "max_pool2d_backward: dy {} and dx {} do not fit x {}", shape_string(dy.shape), shape_string(dx.shape),
               shape_string(x.shape));
  if (layout == ActivationLayout::kChannelBlocks) {
    FBNET_ASSERT(g.channels % kChannelBlock == 0, "max_pool2d_backward: {} channels are not whole blocks", g.channels);
    // Windows in the plain kernel's order, (oh, ow): overlapping windows add into a pixel in the same order.
    parallel_rows(planes / kChannelBlock, kChannelBlock * g.height * g.width, [&](int64_t begin, int64_t end) {
      Scalar best[kChannelBlock] = {};  // (every window writes them: kernel >= 1)
      int32_t best_at[kChannelBlock] = {};
      for (int64_t block = begin; block < end; ++block) {
        const Scalar* in = x.data() + block * kChannelBlock * g.height * g.width;
        Scalar* d_in = dx.data() + block * kChannelBlock * g.height * g.width;
        const Scalar* d_out = dy.data() + block * kChannelBlock * out_h * out_w;
        if (!accumulate) std::fill(d_in, d_in + kChannelBlock * g.height * g.width, Scalar{0});
        if (g.kernel == 2 && g.stride == 2) {
          for (int64_t oh = 0; oh < out_h; ++oh)
            for (int64_t ow = 0; ow < out_w; ++ow) {
              const int64_t top_left = (2 * oh * g.width + 2 * ow) * kChannelBlock;
              block_pair_window_backward<Scalar>(in + top_left, g.width, d_out + (oh * out_w + ow) * kChannelBlock,
                                                 d_in + top_left);
            }
          continue;
        }
        for (int64_t oh = 0; oh < out_h; ++oh)
          for (int64_t ow = 0; ow < out_w; ++ow) {
            block_window_maxima<Scalar, true>(g, in, oh, ow, best, best_at);
            const Scalar* window_grad = d_out + (oh * out_w + ow) * kChannelBlock;
            for (int64_t lane = 0; lane < kChannelBlock; ++lane)
              d_in[best_at[lane] * kChannelBlock + lane] += window_grad[lane];
          }
      }
    });
    return;
  }
  // Split over planes: overlapping windows add into one plane on one thread.
  parallel_rows(planes, g.height * g.width, [&](int64_t begin, int64_t end) {
    std::vector<Scalar> best(out_w);
    std::vector<int32_t> best_at(out_w);
    for (int64_t plane = begin; plane < end; ++plane) {
      const Scalar* in = x.data() + plane * g.height * g.width;
      Scalar* d_in = dx.data() + plane * g.height * g.width;
      const Scalar* d_out = dy.data() + plane * out_h * out_w;
      if (!accumulate) std::fill(d_in, d_in + g.height * g.width, Scalar{0});
      for (int64_t oh = 0; oh < out_h; ++oh) {
        window_row_maxima(g, in, oh, best.data(), best_at.data());
        for (int64_t ow = 0; ow < out_w; ++ow) d_in[best_at[ow]] += d_out[oh * out_w + ow];
      }
    }
  });
}

}  // namespace fbnet
