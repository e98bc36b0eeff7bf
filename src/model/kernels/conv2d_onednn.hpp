// The float32 convolutions of conv2d.hpp on oneDNN's convolution primitives
// (--conv-engine onednn, onednn-nchw): the kernels PyTorch's CPU convolutions use. Each call
// takes tensors in fbnet's layouts (ConvLayouts: plain NCHW, or channel blocks
// nChw16c); a tensor in another layout than the one oneDNN chose (e.g.
// nChw16c) is reordered into it, as PyTorch does for plain tensors, and one in
// that layout is read or written where it lies. Samples run in chunks of at
// most kOneDnnConvChunk, so the reordered copies stay small whatever the
// evaluation batch.
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
                           float* y, float scale, bool accumulate, ConvLayouts layouts = {});
// Both halves of the backward in one call, so that dy is reordered once where both want the same layout:
// weight_grad null skips dW and db (x is then not read), dx null skips dx.
void onednn_conv2d_backward(const ConvGeometry& g, int64_t batch, const float* x, const float* weight, const float* dy,
                            float* weight_grad, float* bias_grad, bool accumulate_parameters, float* dx,
                            bool accumulate_input, float scale, ConvLayouts layouts = {});
// Whether oneDNN's convolutions on this CPU keep float32 activations in 16-channel blocks (nChw16c, AVX-512), so
// that tensors in ActivationLayout::kChannelBlocks reach them without reorders.
bool onednn_uses_channel_blocks();

}  // namespace fbnet
