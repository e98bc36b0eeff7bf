// The float32 convolutions of conv2d.hpp on oneDNN's convolution primitives
// (--conv-engine onednn): the kernels PyTorch's CPU convolutions use. Each call
// takes NCHW tensors as fbnet stores them; inside, oneDNN's chosen blocked
// layouts (e.g. nChw16c) are reached by reorders, as PyTorch does for plain
// tensors. Samples run in chunks of at most kOneDnnConvChunk, so the blocked
// copies stay small whatever the evaluation batch.
//   forward          y  [B, OC, OH, OW] (+)= scale * (conv(x, W) + b)
//   backward data    dx [B, C, H, W]    (+)= scale * conv_transpose(dy, W)
//   backward weights dW [OC, C, K, K], db [OC] (+)= scale * their gradients
// Primitives are made once per (geometry, chunk) and thread.
#pragma once

#include <cstdint>

#include "model/kernels/conv_geometry.hpp"

namespace fbnet {

inline constexpr int64_t kOneDnnConvChunk = 64;

void onednn_conv2d_forward(const ConvGeometry& g, int64_t batch, const float* x, const float* weight, const float* bias,
                           float* y, float scale, bool accumulate);
void onednn_conv2d_backward_input(const ConvGeometry& g, int64_t batch, const float* weight, const float* dy, float* dx,
                                  float scale, bool accumulate);
void onednn_conv2d_backward_parameters(const ConvGeometry& g, int64_t batch, const float* x, const float* dy,
                                       float* weight_grad, float* bias_grad, float scale, bool accumulate);

}  // namespace fbnet
