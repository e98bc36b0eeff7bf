// 2-D convolution (torch.nn.Conv2d, NCHW, no dilation or groups) as a
// forward/backward pair, by im2col: the receptive fields of a chunk of n
// samples become the columns of one matrix, so every product goes through
// the BLAS door, and each is large enough to run well on every core.
//   cols     [C*K*K, n*OH*OW]  row (c*K + ki)*K + kj (the weight's own flattening),
//                              sample s in columns [s*P, (s+1)*P), P = OH*OW
//   forward  y (+)= scale * (W [OC, C*K*K] cols + b), scattered to [B, OC, OH, OW]
//   backward dW (+)= scale * dY cols^T ;  db (+)= scale * sum dY ;  dx (+)= col2im(scale * W^T dY)
//            with dY [OC, n*P] gathered once from dy [B, OC, OH, OW] for both halves
// Chunks hold about kConvChunkValues column values whatever the thread count,
// so results do not depend on it beyond the products' own.
// With --conv-engine onednn or onednn-nchw, float32 calls go to oneDNN's primitives instead
// (conv2d_onednn.hpp): same shapes, same scale and accumulate semantics, and
// tensors in channel blocks (ConvLayouts) as well as plain ones.
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/blas.hpp"
#include "engine/compute.hpp"
#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"
#include "model/kernels/conv_geometry.hpp"
#ifdef FBNET_WITH_ONEDNN
#include "model/kernels/conv2d_onednn.hpp"
#endif
#include "model/parameters.hpp"

namespace fbnet {

// The output columns [begin, end) whose input column ow * stride - padding + kj
// lies inside [0, width): outside it a row reads the zero padding.
inline std::pair<int64_t, int64_t> inside_columns(const ConvGeometry& g, int64_t kj) {
  const int64_t first = g.padding - kj;  // ow * stride >= first
  const int64_t begin = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
  const int64_t last = g.width - 1 + g.padding - kj;  // ow * stride <= last
  const int64_t end = last < 0 ? 0 : std::min(g.out_width(), last / g.stride + 1);
  return {std::min(begin, end), end};
}

// One row of the columns: for kernel offset (ki, kj), the value each output
// position reads from one channel plane [H, W] (0 in the padding).
template <class Scalar>
void im2col_row(const ConvGeometry& g, const Scalar* plane, int64_t ki, int64_t kj, Scalar* row) {
  const int64_t out_h = g.out_height(), out_w = g.out_width();
  const auto [begin, end] = inside_columns(g, kj);
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t ih = oh * g.stride - g.padding + ki;
    Scalar* __restrict out = row + oh * out_w;
    if (ih < 0 || ih >= g.height) {
      std::fill(out, out + out_w, Scalar{0});
      continue;
    }
    // Input column of output column ow: ow * stride + shift, inside the row for ow in [begin, end).
    const Scalar* __restrict in = plane + ih * g.width;
    const int64_t shift = kj - g.padding;
    std::fill(out, out + begin, Scalar{0});
    if (begin == end) {
      // No column reads inside the row (and in + begin + shift might point before it).
    } else if (g.stride == 1) {
      std::copy(in + begin + shift, in + end + shift, out + begin);
    } else {
      for (int64_t ow = begin; ow < end; ++ow) out[ow] = in[ow * g.stride + shift];
    }
    std::fill(out + end, out + out_w, Scalar{0});
  }
}

// The transpose of im2col_row: the plane += each position's value at the pixel it read.
template <class Scalar>
void col2im_row_add(const ConvGeometry& g, const Scalar* row, int64_t ki, int64_t kj, Scalar* plane) {
  const int64_t out_h = g.out_height(), out_w = g.out_width();
  const auto [begin, end] = inside_columns(g, kj);
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t ih = oh * g.stride - g.padding + ki;
    if (ih < 0 || ih >= g.height) continue;
    Scalar* __restrict in = plane + ih * g.width;
    const Scalar* __restrict out = row + oh * out_w;
    const int64_t shift = kj - g.padding;
    for (int64_t ow = begin; ow < end; ++ow) in[ow * g.stride + shift] += out[ow];
  }
}

// Column values per chunk (8 MB of floats): several samples of a small layer,
// one of a large one.
inline constexpr int64_t kConvChunkValues = int64_t{1} << 21;

// Scratch of a conv op: a chunk's columns, and its outputs or their gradients.
template <class Scalar>
struct ConvScratch {
  std::vector<Scalar> cols, outputs;  // [C*K*K, n*P] and [OC, n*P]
  int64_t chunk_values = kConvChunkValues;  // column values per chunk (tests make it small)
};

// p.weight viewed as [OC, C*K*K] (ParameterStore::linear), p.bias [OC].
template <class Scalar>
void check_conv_parameters(const ConvGeometry& g, const LinearParameters<Scalar>& p) {
  FBNET_ASSERT(p.weight.rows == g.out_channels && p.weight.cols == g.patch_size(),
               "conv2d: weight is [{}, {}], the geometry needs [{}, {}]", p.weight.rows, p.weight.cols, g.out_channels,
               g.patch_size());
}

// Calls body(first, count) for chunks of samples of [0, batch), after sizing
// the scratch for the largest chunk.
template <class Scalar, class Body>
void for_each_chunk(const ConvGeometry& g, int64_t batch, ConvScratch<Scalar>& scratch, Body&& body) {
  const int64_t per_sample = g.patch_size() * g.positions();
  const int64_t chunk = std::clamp<int64_t>(scratch.chunk_values / per_sample, 1, std::max<int64_t>(batch, 1));
  scratch.cols.resize(chunk * per_sample);
  scratch.outputs.resize(chunk * g.out_channels * g.positions());
  for (int64_t first = 0; first < batch; first += chunk) body(first, std::min(chunk, batch - first));
}

// cols of samples [first, first + count) of x, one sample per thread.
template <class Scalar>
void chunk_im2col(const ConvGeometry& g, const Tensor<Scalar>& x, int64_t first, int64_t count, Scalar* cols) {
  const int64_t positions = g.positions(), width = count * positions;
  parallel_for(count, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      // im2col writes rows of P values; a chunk's rows are n*P long, so write
      // each sample's block through a row-strided view.
      const Scalar* in = x.row(first + s);
      for (int64_t c = 0; c < g.channels; ++c)
        for (int64_t ki = 0; ki < g.kernel; ++ki)
          for (int64_t kj = 0; kj < g.kernel; ++kj) {
            Scalar* row = cols + ((c * g.kernel + ki) * g.kernel + kj) * width + s * positions;
            im2col_row(g, in + c * g.height * g.width, ki, kj, row);
          }
    }
  }, count * g.patch_size() * positions, 1);
}

// Whether this call runs on oneDNN's primitives; else im2col, which takes plain tensors only.
template <class Scalar>
bool runs_on_onednn(const ConvLayouts& layouts) {
  bool onednn = false;
#ifdef FBNET_WITH_ONEDNN
  onednn = std::is_same_v<Scalar, float> && uses_onednn(current_convolution_engine());
#endif
  FBNET_ASSERT(onednn || layouts.plain(), "conv2d: tensors in channel blocks need oneDNN's primitives (float32), and "
               "the engine became {} after the network chose their layouts",
               convolution_engine_name(current_convolution_engine()));
  return onednn;
}

// y [B, OC, OH, OW] (+)= scale * conv(x [B, C, H, W]).
template <class Scalar>
void conv2d_forward(const ConvGeometry& g, const Tensor<Scalar>& x, const LinearParameters<Scalar>& p, Tensor<Scalar>& y,
                    ConvScratch<Scalar>& scratch, Scalar scale = 1, bool accumulate = false, ConvLayouts layouts = {}) {
  check_conv_parameters(g, p);
  const int64_t batch = x.rows(), positions = g.positions();
  FBNET_ASSERT(x.row_size() == g.input_size() && y.rows() == batch && y.row_size() == g.output_size(),
               "conv2d_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
  const bool onednn = runs_on_onednn<Scalar>(layouts);
#ifdef FBNET_WITH_ONEDNN
  if constexpr (std::is_same_v<Scalar, float>)
    if (onednn) return onednn_conv2d_forward(g, batch, x.data(), p.weight.data, p.bias, y.data(), scale, accumulate, layouts);
#endif
  (void)onednn;
  for_each_chunk(g, batch, scratch, [&](int64_t first, int64_t count) {
    const int64_t width = count * positions;
    chunk_im2col(g, x, first, count, scratch.cols.data());
    gemm<Scalar>(p.weight, Transpose::kNo, {scratch.cols.data(), g.patch_size(), width}, Transpose::kNo,
                 {scratch.outputs.data(), g.out_channels, width}, scale, Scalar{0});
    parallel_for(count, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s)
        for (int64_t oc = 0; oc < g.out_channels; ++oc) {
          const Scalar* from = scratch.outputs.data() + oc * width + s * positions;
          Scalar* to = y.row(first + s) + oc * positions;
          const Scalar shift = scale * p.bias[oc];
          for (int64_t i = 0; i < positions; ++i) to[i] = (accumulate ? to[i] : Scalar{0}) + (from[i] + shift);
        }
    }, count * g.output_size(), 1);
  });
}

// dY [OC, count*P] of samples [first, first + count) of dy [B, OC, OH, OW].
template <class Scalar>
void gather_outputs(const ConvGeometry& g, const Tensor<Scalar>& dy, int64_t first, int64_t count, Scalar* outputs) {
  const int64_t positions = g.positions(), width = count * positions;
  parallel_for(count, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s)
      for (int64_t oc = 0; oc < g.out_channels; ++oc)
        std::copy_n(dy.row(first + s) + oc * positions, positions, outputs + oc * width + s * positions);
  }, count * g.output_size(), 1);
}

// What conv2d_backward computes: the parameter gradients, dx, or both, each added to what it holds or written.
template <class Scalar>
struct ConvGradients {
  bool parameter_grads;        // dW, db into p.weight_grad, p.bias_grad
  bool accumulate_parameters;
  Tensor<Scalar>* dx;          // [B, C, H, W], or null when not wanted
  bool accumulate_input;
};

// From dy [B, OC, OH, OW], read once for both halves:
//   dW [OC, C*K*K], db [OC] (+)= scale * their gradients (x [B, C, H, W] is read only for these)
//   dx [B, C, H, W]         (+)= scale * dL/dx
template <class Scalar>
void conv2d_backward(const ConvGeometry& g, const Tensor<Scalar>& x, const LinearParameters<Scalar>& p,
                     const Tensor<Scalar>& dy, const ConvGradients<Scalar>& want, ConvScratch<Scalar>& scratch,
                     Scalar scale = 1, ConvLayouts layouts = {}) {
  check_conv_parameters(g, p);
  const int64_t batch = dy.rows(), positions = g.positions();
  FBNET_ASSERT(dy.row_size() == g.output_size(), "conv2d_backward: dy {} does not fit the geometry",
               shape_string(dy.shape));
  FBNET_ASSERT(!want.parameter_grads || (x.rows() == batch && x.row_size() == g.input_size()),
               "conv2d_backward: x {} and dy {} do not fit the geometry", shape_string(x.shape), shape_string(dy.shape));
  Tensor<Scalar>* dx = want.dx;
  FBNET_ASSERT(!dx || (dx->rows() == batch && dx->row_size() == g.input_size()),
               "conv2d_backward: dx {} does not fit the geometry", shape_string(dx->shape));
  const bool onednn = runs_on_onednn<Scalar>(layouts);
#ifdef FBNET_WITH_ONEDNN
  if constexpr (std::is_same_v<Scalar, float>)
    if (onednn)
      return onednn_conv2d_backward(g, batch, x.data(), p.weight.data, dy.data(),
                                    want.parameter_grads ? p.weight_grad.data : nullptr, p.bias_grad,
                                    want.accumulate_parameters, dx ? dx->data() : nullptr, want.accumulate_input, scale,
                                    layouts);
#endif
  (void)onednn;
  if (want.parameter_grads && !want.accumulate_parameters) std::fill(p.bias_grad, p.bias_grad + g.out_channels, Scalar{0});
  bool weight_grad_written = want.accumulate_parameters;
  for_each_chunk(g, batch, scratch, [&](int64_t first, int64_t count) {
    const int64_t width = count * positions;
    gather_outputs(g, dy, first, count, scratch.outputs.data());
    if (want.parameter_grads) {
      chunk_im2col(g, x, first, count, scratch.cols.data());
      gemm<Scalar>({scratch.outputs.data(), g.out_channels, width}, Transpose::kNo,
                   {scratch.cols.data(), g.patch_size(), width}, Transpose::kYes, p.weight_grad, scale,
                   weight_grad_written ? Scalar{1} : Scalar{0});
      weight_grad_written = true;
      // Split over channels: each channel's sum runs over its samples in order.
      parallel_for(g.out_channels, [&](int64_t begin, int64_t end) {
        for (int64_t oc = begin; oc < end; ++oc) {
          const Scalar* channel = scratch.outputs.data() + oc * width;
          Scalar sum = 0;
          for (int64_t i = 0; i < width; ++i) sum += channel[i];
          p.bias_grad[oc] += scale * sum;
        }
      }, g.out_channels * width, 1);
    }
    if (!dx) return;
    // The columns' gradients W^T dY replace the chunk's columns, then fold back onto dx.
    gemm<Scalar>(p.weight, Transpose::kYes, {scratch.outputs.data(), g.out_channels, width}, Transpose::kNo,
                 {scratch.cols.data(), g.patch_size(), width}, scale, Scalar{0});
    parallel_for(count, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) {
        Scalar* d_in = dx->row(first + s);
        if (!want.accumulate_input) std::fill(d_in, d_in + g.input_size(), Scalar{0});
        for (int64_t c = 0; c < g.channels; ++c)
          for (int64_t ki = 0; ki < g.kernel; ++ki)
            for (int64_t kj = 0; kj < g.kernel; ++kj) {
              const Scalar* row = scratch.cols.data() + ((c * g.kernel + ki) * g.kernel + kj) * width + s * positions;
              col2im_row_add(g, row, ki, kj, d_in + c * g.height * g.width);
            }
      }
    }, count * g.patch_size() * positions, 1);
  });
}

}  // namespace fbnet
