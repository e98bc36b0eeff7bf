// Nearest-neighbour upsampling by integer factors (torch.nn.Upsample,
// mode="nearest"), the first half of a top-down conv adapter.
//   forward   x [B, C, H, W] -> y [B, C, H*FH, W*FW], y[c, i, j] = x[c, i / FH, j / FW]
//   backward  dx (+)= dy summed over each FH x FW block
#pragma once

#include <algorithm>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

struct UpsampleGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t factor_h = 1, factor_w = 1;
};

template <class Scalar>
void upsample_forward(const UpsampleGeometry& g, const Tensor<Scalar>& x, Tensor<Scalar>& y) {
  const int64_t out_h = g.height * g.factor_h, out_w = g.width * g.factor_w, planes = x.rows() * g.channels;
  FBNET_ASSERT(x.row_size() == g.channels * g.height * g.width && y.size() == planes * out_h * out_w,
               "upsample_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
  parallel_rows(planes, out_h * out_w, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const Scalar* in = x.data() + plane * g.height * g.width;
      Scalar* out = y.data() + plane * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) out[i * out_w + j] = in[(i / g.factor_h) * g.width + j / g.factor_w];
    }
  });
}

template <class Scalar>
void upsample_backward(const UpsampleGeometry& g, const Tensor<Scalar>& dy, Tensor<Scalar>& dx, bool accumulate) {
  const int64_t out_h = g.height * g.factor_h, out_w = g.width * g.factor_w, planes = dx.rows() * g.channels;
  FBNET_ASSERT(dx.row_size() == g.channels * g.height * g.width && dy.size() == planes * out_h * out_w,
               "upsample_backward: dy {} and dx {} do not fit the geometry", shape_string(dy.shape),
               shape_string(dx.shape));
  parallel_rows(planes, out_h * out_w, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      Scalar* d_in = dx.data() + plane * g.height * g.width;
      const Scalar* d_out = dy.data() + plane * out_h * out_w;
      if (!accumulate) std::fill(d_in, d_in + g.height * g.width, Scalar{0});
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) d_in[(i / g.factor_h) * g.width + j / g.factor_w] += d_out[i * out_w + j];
    }
  });
}

}  // namespace fbnet
