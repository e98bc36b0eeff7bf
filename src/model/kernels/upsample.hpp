// Nearest-neighbour upsampling by integer factors (torch.nn.Upsample,
// mode="nearest"), the first half of a top-down conv adapter, on plain NCHW
// tensors or channel blocks (activation_layout.hpp).
//   forward   x [B, C, H, W] -> y [B, C, H*FH, W*FW], y[c, i, j] = x[c, i / FH, j / FW]
//   backward  dx (+)= dy summed over each FH x FW block
#pragma once

#include <algorithm>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"
#include "model/kernels/activation_layout.hpp"

namespace fbnet {

struct UpsampleGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t factor_h = 1, factor_w = 1;
};

// Row by row, without a division per pixel: an input row becomes one output
// row (each value FW times), copied FH - 1 times.
template <class Scalar>
void upsample_forward(const UpsampleGeometry& g, const Tensor<Scalar>& x, Tensor<Scalar>& y,
                      ActivationLayout layout = ActivationLayout::kPlain) {
  const int64_t out_h = g.height * g.factor_h, out_w = g.width * g.factor_w, planes = x.rows() * g.channels;
  FBNET_ASSERT(x.row_size() == g.channels * g.height * g.width && y.size() == planes * out_h * out_w,
               "upsample_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
  if (layout == ActivationLayout::kChannelBlocks) {
    FBNET_ASSERT(g.channels % kChannelBlock == 0, "upsample_forward: {} channels are not whole blocks", g.channels);
    // A pixel is 16 channels: an input row becomes one output row (each pixel FW times), copied FH - 1 times.
    parallel_rows(planes / kChannelBlock, kChannelBlock * out_h * out_w, [&](int64_t begin, int64_t end) {
      for (int64_t block = begin; block < end; ++block)
        for (int64_t i = 0; i < g.height; ++i) {
          const Scalar* __restrict in = x.data() + (block * g.height + i) * g.width * kChannelBlock;
          Scalar* __restrict out = y.data() + (block * out_h + i * g.factor_h) * out_w * kChannelBlock;
          for (int64_t j = 0; j < g.width; ++j)
            for (int64_t block_column = 0; block_column < g.factor_w; ++block_column)
              for (int64_t lane = 0; lane < kChannelBlock; ++lane)  // (a lane loop: copy_n of 16 became a call)
                out[(j * g.factor_w + block_column) * kChannelBlock + lane] = in[j * kChannelBlock + lane];
          for (int64_t copy = 1; copy < g.factor_h; ++copy)
            std::copy_n(out, out_w * kChannelBlock, out + copy * out_w * kChannelBlock);
        }
    });
    return;
  }
  parallel_rows(planes, out_h * out_w, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane)
      for (int64_t i = 0; i < g.height; ++i) {
        const Scalar* in = x.data() + (plane * g.height + i) * g.width;
        Scalar* out = y.data() + (plane * out_h + i * g.factor_h) * out_w;
        if (g.factor_w == 2) {  // every top-down edge of the presets: interleaved stores the compiler vectorises
          for (int64_t j = 0; j < g.width; ++j) out[2 * j] = out[2 * j + 1] = in[j];
        } else {
          for (int64_t j = 0; j < g.width; ++j) std::fill(out + j * g.factor_w, out + (j + 1) * g.factor_w, in[j]);
        }
        for (int64_t copy = 1; copy < g.factor_h; ++copy) std::copy(out, out + out_w, out + copy * out_w);
      }
  });
}

// Each dx pixel sums its block in the order the block's rows and columns run
// (row-major), whatever the loop shape.
template <class Scalar>
void upsample_backward(const UpsampleGeometry& g, const Tensor<Scalar>& dy, Tensor<Scalar>& dx, bool accumulate,
                       ActivationLayout layout = ActivationLayout::kPlain) {
  const int64_t out_h = g.height * g.factor_h, out_w = g.width * g.factor_w, planes = dx.rows() * g.channels;
  FBNET_ASSERT(dx.row_size() == g.channels * g.height * g.width && dy.size() == planes * out_h * out_w,
               "upsample_backward: dy {} and dx {} do not fit the geometry", shape_string(dy.shape),
               shape_string(dx.shape));
  if (layout == ActivationLayout::kChannelBlocks) {
    FBNET_ASSERT(g.channels % kChannelBlock == 0, "upsample_backward: {} channels are not whole blocks", g.channels);
    parallel_rows(planes / kChannelBlock, kChannelBlock * out_h * out_w, [&](int64_t begin, int64_t end) {
      for (int64_t block = begin; block < end; ++block)
        for (int64_t i = 0; i < g.height; ++i) {
          Scalar* d_in = dx.data() + (block * g.height + i) * g.width * kChannelBlock;  // a row of W pixels
          if (!accumulate) std::fill(d_in, d_in + g.width * kChannelBlock, Scalar{0});
          for (int64_t block_row = 0; block_row < g.factor_h; ++block_row) {
            const Scalar* d_out = dy.data() + (block * out_h + i * g.factor_h + block_row) * out_w * kChannelBlock;
            for (int64_t j = 0; j < g.width; ++j)
              for (int64_t block_column = 0; block_column < g.factor_w; ++block_column)
                for (int64_t lane = 0; lane < kChannelBlock; ++lane)
                  d_in[j * kChannelBlock + lane] += d_out[(j * g.factor_w + block_column) * kChannelBlock + lane];
          }
        }
    });
    return;
  }
  parallel_rows(planes, out_h * out_w, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane)
      for (int64_t i = 0; i < g.height; ++i) {
        Scalar* d_in = dx.data() + (plane * g.height + i) * g.width;
        if (!accumulate) std::fill(d_in, d_in + g.width, Scalar{0});
        for (int64_t block_row = 0; block_row < g.factor_h; ++block_row) {
          const Scalar* d_out = dy.data() + (plane * out_h + i * g.factor_h + block_row) * out_w;
          if (g.factor_w == 2) {  // the same two additions in the same order, as interleaved loads
            for (int64_t j = 0; j < g.width; ++j) d_in[j] = (d_in[j] + d_out[2 * j]) + d_out[2 * j + 1];
          } else {
            for (int64_t j = 0; j < g.width; ++j)
              for (int64_t block_column = 0; block_column < g.factor_w; ++block_column)
                d_in[j] += d_out[j * g.factor_w + block_column];
          }
        }
      }
  });
}

}  // namespace fbnet
