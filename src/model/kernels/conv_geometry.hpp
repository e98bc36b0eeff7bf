// The shape of one 2-D convolution (torch.nn.Conv2d without dilation or
// groups), per sample: what the im2col kernels (conv2d.hpp) and oneDNN's
// primitives (conv2d_onednn.hpp) both compute from.
#pragma once

#include <cstdint>

#include "model/kernels/activation_layout.hpp"

namespace fbnet {

struct ConvGeometry {
  int64_t channels = 1, height = 1, width = 1;  // input, per sample
  int64_t out_channels = 1, kernel = 1, stride = 1, padding = 0;

  int64_t out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  int64_t out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  int64_t patch_size() const { return channels * kernel * kernel; }     // rows of cols
  int64_t positions() const { return out_height() * out_width(); }      // columns of cols per sample
  int64_t input_size() const { return channels * height * width; }      // per sample
  int64_t output_size() const { return out_channels * positions(); }    // per sample
};

// How a convolution's tensors lie: x and dx in `input`, y and dy in `output`. Channel blocks are oneDNN's own
// layout, so only oneDNN's primitives take them (Network chooses them only under --conv-engine onednn:
// model/activation_layouts.hpp).
struct ConvLayouts {
  ActivationLayout input = ActivationLayout::kPlain, output = ActivationLayout::kPlain;

  bool plain() const { return input == ActivationLayout::kPlain && output == ActivationLayout::kPlain; }
};

}  // namespace fbnet
