// The recurrent convolutional nets of Spoerer, McClure & Kriegeskorte (2017),
// "Recurrent convolutional neural networks: a better model of biological
// object recognition", as graphs: two conv layers, each ReLU then 2x2 max
// pooling, and a Linear readout.
//   x [C, H, W] -> conv1 [F, H, W] -> h1 -> pool1 [F, H/2, W/2]
//     -> conv2 [F, H/2, W/2] -> h2 -> pool2 [F, H/4, W/4] -> flatten -> dropout -> out [classes]
// Recurrent edges combine into a conv layer's output before its ReLU:
//   B    bottom-up only, one step
//   BL   + lateral.1 (h1 -> conv1) and lateral.2 (h2 -> conv2), conv adapters
//   BT   + topdown.1 (h2 -> conv1): nearest upsampling x2, then a conv
//   BLT  + both
// and the feedforward controls with about BLT's parameter count:
//   B-K  bottom-up kernels 2 larger (5x5 for 3x3)
//   B-F  more features: the count whose parameters come closest to BLT's
// With combine `add` and alpha 1 an edge is the paper's sum
// h_t = ReLU(W_b * h_below,t + W_l * h_t-1 + W_t * h_above,t-1).
#pragma once

#include <cstdint>
#include <string>

#include "model/architecture.hpp"
#include "model/graph.hpp"

namespace fbnet {

enum class ConvNet { kB, kBL, kBT, kBLT, kBK, kBF };

struct ConvNetOptions {
  int64_t features = 32;  // F, per conv layer (B-F: its own count)
  int64_t kernel = 3;     // bottom-up and recurrent kernels, odd (B-K: kernel + 2 bottom-up)
  int steps = 4;          // unrolled steps of the recurrent nets; B, B-K and B-F run one
  Readout readout = Readout::kLastStep;
  FeedbackCombine combine = FeedbackCombine::kAdd;
  double alpha = 1.0;
  FirstStepFeedback first_step_feedback = FirstStepFeedback::kNone;
  double dropout = 0.5;  // before the readout
};

bool is_recurrent(ConvNet net);
// Throws fbnet::Error naming the image shape when H or W is not a multiple of 4
// (two 2x2 poolings, and top-down upsampling by exactly 2).
Graph conv_net_graph(ConvNet net, const Shape& image_shape, int64_t classes, const ConvNetOptions& options);

}  // namespace fbnet
