// 2-D max pooling (torch.nn.MaxPool2d, NCHW, no padding) as a
// forward/backward pair.
//   forward   x [B, C, H, W] -> y [B, C, OH, OW], OH = (H - K) / S + 1
//   backward  dx (+)= dy routed to each window's maximum
// Backward finds each window's maximum again from x rather than keeping
// indices per step; a tie goes to the first in row-major order and a NaN
// always wins, as in PyTorch's CPU kernel, so gradients land on the same pixel.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

struct PoolGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t kernel = 2, stride = 2;

  int64_t out_height() const { return (height - kernel) / stride + 1; }
  int64_t out_width() const { return (width - kernel) / stride + 1; }
};

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
      const bool wins = (pixel > value) | std::isnan(pixel);  // NaN wins, as in PyTorch; `|`: no branch
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
          best[ow] = value > best[ow] || std::isnan(value) ? value : best[ow];  // NaN wins, as in PyTorch
        }
      } else {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Scalar value = pixels[ow * g.stride];
          const bool wins = value > best[ow] || std::isnan(value);
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

template <class Scalar>
void max_pool2d_forward(const PoolGeometry& g, const Tensor<Scalar>& x, Tensor<Scalar>& y) {
  const int64_t out_h = g.out_height(), out_w = g.out_width(), planes = x.rows() * g.channels;
  FBNET_ASSERT(x.row_size() == g.channels * g.height * g.width && y.size() == planes * out_h * out_w,
               "max_pool2d_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
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
                         bool accumulate) {
  const int64_t out_h = g.out_height(), out_w = g.out_width(), planes = x.rows() * g.channels;
  FBNET_ASSERT(dx.size() == x.size() && dy.size() == planes * out_h * out_w,
               "max_pool2d_backward: dy {} and dx {} do not fit x {}", shape_string(dy.shape), shape_string(dx.shape),
               shape_string(x.shape));
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
