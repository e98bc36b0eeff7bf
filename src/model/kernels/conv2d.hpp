// 2-D convolution (torch.nn.Conv2d, NCHW, no dilation or groups) as a
// forward/backward pair, by im2col: each sample's receptive fields become the
// columns of a matrix, so every product goes through the BLAS door.
//   cols_b   [C*K*K, OH*OW]   row (c*K + ki)*K + kj: the weight's own flattening
//   forward  y_b [OC, OH*OW] (+)= scale * (W [OC, C*K*K] cols_b + b)
//   backward dW (+)= scale * sum_b dy_b cols_b^T ;  db (+)= scale * sum_b,p dy_b
//            dx_b (+)= col2im(scale * W^T dy_b)
// Sample by sample: one sample's column matrix (at most a few MB) stays in
// cache, where the whole batch's would not.
#pragma once

#include <algorithm>
#include <vector>

#include "engine/blas.hpp"
#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"
#include "model/parameters.hpp"

namespace fbnet {

struct ConvGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t out_channels = 1, kernel = 1, stride = 1, padding = 0;

  int64_t out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  int64_t out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  int64_t patch_size() const { return channels * kernel * kernel; }     // rows of cols_b
  int64_t positions() const { return out_height() * out_width(); }      // columns of cols_b
  int64_t input_size() const { return channels * height * width; }      // per sample
  int64_t output_size() const { return out_channels * positions(); }    // per sample
  // A 1x1 kernel at stride 1 without padding reads x_b itself as cols_b.
  bool is_pointwise() const { return kernel == 1 && stride == 1 && padding == 0; }
};

// cols [patch_size, positions] from one sample x [C, H, W]; padding reads 0.
template <class Scalar>
void im2col(const ConvGeometry& g, const Scalar* x, Scalar* cols) {
  const int64_t out_h = g.out_height(), out_w = g.out_width();
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj) {
        Scalar* row = cols + ((c * g.kernel + ki) * g.kernel + kj) * out_h * out_w;
        for (int64_t oh = 0; oh < out_h; ++oh) {
          const int64_t ih = oh * g.stride - g.padding + ki;
          Scalar* out = row + oh * out_w;
          if (ih < 0 || ih >= g.height) {
            std::fill(out, out + out_w, Scalar{0});
            continue;
          }
          const Scalar* in = x + (c * g.height + ih) * g.width;
          for (int64_t ow = 0; ow < out_w; ++ow) {
            const int64_t iw = ow * g.stride - g.padding + kj;
            out[ow] = iw >= 0 && iw < g.width ? in[iw] : Scalar{0};
          }
        }
      }
}

// x [C, H, W] += the columns' values summed back onto the pixels they read.
template <class Scalar>
void col2im_add(const ConvGeometry& g, const Scalar* cols, Scalar* x) {
  const int64_t out_h = g.out_height(), out_w = g.out_width();
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj) {
        const Scalar* row = cols + ((c * g.kernel + ki) * g.kernel + kj) * out_h * out_w;
        for (int64_t oh = 0; oh < out_h; ++oh) {
          const int64_t ih = oh * g.stride - g.padding + ki;
          if (ih < 0 || ih >= g.height) continue;
          Scalar* in = x + (c * g.height + ih) * g.width;
          const Scalar* out = row + oh * out_w;
          for (int64_t ow = 0; ow < out_w; ++ow) {
            const int64_t iw = ow * g.stride - g.padding + kj;
            if (iw >= 0 && iw < g.width) in[iw] += out[ow];
          }
        }
      }
}

// p.weight viewed as [OC, C*K*K] (ParameterStore::linear), p.bias [OC].
template <class Scalar>
void check_conv_parameters(const ConvGeometry& g, const LinearParameters<Scalar>& p) {
  FBNET_ASSERT(p.weight.rows == g.out_channels && p.weight.cols == g.patch_size(),
               "conv2d: weight is [{}, {}], the geometry needs [{}, {}]", p.weight.rows, p.weight.cols, g.out_channels,
               g.patch_size());
}

// y [B, OC, OH, OW] (+)= scale * conv(x [B, C, H, W]); `cols` is scratch.
template <class Scalar>
void conv2d_forward(const ConvGeometry& g, const Tensor<Scalar>& x, const LinearParameters<Scalar>& p, Tensor<Scalar>& y,
                    std::vector<Scalar>& cols, Scalar scale = 1, bool accumulate = false) {
  check_conv_parameters(g, p);
  const int64_t batch = x.rows(), positions = g.positions();
  FBNET_ASSERT(x.row_size() == g.input_size() && y.rows() == batch && y.row_size() == g.output_size(),
               "conv2d_forward: x {} and y {} do not fit the geometry", shape_string(x.shape), shape_string(y.shape));
  cols.resize(g.patch_size() * positions);
  for (int64_t b = 0; b < batch; ++b) {
    const Scalar* columns = x.row(b);
    if (!g.is_pointwise()) {
      im2col(g, x.row(b), cols.data());
      columns = cols.data();
    }
    Scalar* out = y.row(b);
    gemm<Scalar>(p.weight, Transpose::kNo, {columns, g.patch_size(), positions}, Transpose::kNo,
                 {out, g.out_channels, positions}, scale, accumulate ? Scalar{1} : Scalar{0});
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      const Scalar shift = scale * p.bias[oc];
      Scalar* channel = out + oc * positions;
      for (int64_t i = 0; i < positions; ++i) channel[i] += shift;
    }
  }
}

// From dy [B, OC, OH, OW]: dW, db (+)= scale * their gradients.
template <class Scalar>
void conv2d_backward_parameters(const ConvGeometry& g, const Tensor<Scalar>& x, const LinearParameters<Scalar>& p,
                                const Tensor<Scalar>& dy, std::vector<Scalar>& cols, Scalar scale = 1,
                                bool accumulate = true) {
  check_conv_parameters(g, p);
  const int64_t batch = x.rows(), positions = g.positions();
  FBNET_ASSERT(dy.rows() == batch && dy.row_size() == g.output_size(), "conv2d_backward: dy {} does not fit the geometry",
               shape_string(dy.shape));
  cols.resize(g.patch_size() * positions);
  if (!accumulate) std::fill(p.bias_grad, p.bias_grad + g.out_channels, Scalar{0});
  for (int64_t b = 0; b < batch; ++b) {
    const Scalar* columns = x.row(b);
    if (!g.is_pointwise()) {
      im2col(g, x.row(b), cols.data());
      columns = cols.data();
    }
    const Scalar* grad = dy.row(b);
    gemm<Scalar>({grad, g.out_channels, positions}, Transpose::kNo, {columns, g.patch_size(), positions},
                 Transpose::kYes, p.weight_grad, scale, accumulate || b > 0 ? Scalar{1} : Scalar{0});
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      const Scalar* channel = grad + oc * positions;
      Scalar sum = 0;
      for (int64_t i = 0; i < positions; ++i) sum += channel[i];
      p.bias_grad[oc] += scale * sum;
    }
  }
}

// dx [B, C, H, W] (+)= scale * dL/dx for dy [B, OC, OH, OW].
template <class Scalar>
void conv2d_backward_input(const ConvGeometry& g, const LinearParameters<Scalar>& p, const Tensor<Scalar>& dy,
                           Tensor<Scalar>& dx, std::vector<Scalar>& cols, Scalar scale = 1, bool accumulate = false) {
  check_conv_parameters(g, p);
  const int64_t batch = dy.rows(), positions = g.positions();
  FBNET_ASSERT(dx.rows() == batch && dx.row_size() == g.input_size(), "conv2d_backward: dx {} does not fit the geometry",
               shape_string(dx.shape));
  if (g.is_pointwise()) {
    for (int64_t b = 0; b < batch; ++b)
      gemm<Scalar>(p.weight, Transpose::kYes, {dy.row(b), g.out_channels, positions}, Transpose::kNo,
                   {dx.row(b), g.channels, positions}, scale, accumulate ? Scalar{1} : Scalar{0});
    return;
  }
  cols.resize(g.patch_size() * positions);
  if (!accumulate) dx.fill(Scalar{0});
  for (int64_t b = 0; b < batch; ++b) {
    gemm<Scalar>(p.weight, Transpose::kYes, {dy.row(b), g.out_channels, positions}, Transpose::kNo,
                 {cols.data(), g.patch_size(), positions}, scale, Scalar{0});
    col2im_add(g, cols.data(), dx.row(b));
  }
}

}  // namespace fbnet
