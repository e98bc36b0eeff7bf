// How a spatial tensor [B, C, H, W] lies in memory. fbnet's own layout is
// plain NCHW; oneDNN's convolution primitives on AVX-512 read and write
// channel blocks (nChw16c), and a plain tensor costs them a reorder per call,
// each way. Network keeps the values between convolutions, ReLUs, poolings
// and upsamplings in channel blocks where those ops read them
// (model/activation_layouts.hpp), so that only the image and the flatten
// before the readout change layout.
//   kPlain          [B][C][H][W]
//   kChannelBlocks  [B][C/16][H][W][16]   (C a multiple of 16; the same size)
// The same values in either layout: conversions are copies, and every kernel
// that reads both computes each value by the same operations in the same order.
#pragma once

#include <cstdint>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

enum class ActivationLayout { kPlain, kChannelBlocks };

inline constexpr int64_t kChannelBlock = 16;

// One sample's [C, H, W].
struct SpatialShape {
  int64_t channels = 1, height = 1, width = 1;
};

enum class LayoutChange { kToBlocks, kToPlain };

// body(from, to) for the offsets of every value of `batch` samples in the layout they leave and the one they
// reach, split over blocks of 16 channel planes (plain [16][H*W] <-> blocked [H*W][16]).
template <class Body>
void for_each_moved_value(const SpatialShape& g, int64_t batch, LayoutChange change, Body&& body) {
  FBNET_ASSERT(g.channels % kChannelBlock == 0, "activation layout: {} channels are not whole blocks of {}", g.channels,
               kChannelBlock);
  const int64_t pixels = g.height * g.width;
  parallel_rows(batch * g.channels / kChannelBlock, kChannelBlock * pixels, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t base = block * kChannelBlock * pixels;
      for (int64_t lane = 0; lane < kChannelBlock; ++lane)
        for (int64_t p = 0; p < pixels; ++p) {
          const int64_t plain = base + lane * pixels + p, blocked = base + p * kChannelBlock + lane;
          if (change == LayoutChange::kToBlocks) {
            body(plain, blocked);
          } else {
            body(blocked, plain);
          }
        }
    }
  });
}

// to = from in the other layout: a copy. from, to: [batch, C, H, W] values each.
template <class Scalar>
void change_layout(const SpatialShape& g, int64_t batch, const Scalar* from, Scalar* to, LayoutChange change) {
  for_each_moved_value(g, batch, change, [&](int64_t source, int64_t target) { to[target] = from[source]; });
}

// to (+)= from, from in the other layout: an identity op's backward across layouts, with its arithmetic
// (0 + from when written, which makes a -0 +0, as Network's identity backward does).
template <class Scalar>
void add_changing_layout(const SpatialShape& g, int64_t batch, const Scalar* from, Scalar* to, LayoutChange change,
                         bool accumulate) {
  for_each_moved_value(g, batch, change, [&](int64_t source, int64_t target) {
    to[target] = (accumulate ? to[target] : Scalar{0}) + from[source];
  });
}

// A tensor [B, C, H, W] that lies as `from` says, as `to` says: a copy either way.
template <class Scalar>
Tensor<Scalar> in_layout(const Tensor<Scalar>& tensor, ActivationLayout from, ActivationLayout to) {
  if (from == to) return tensor;
  FBNET_ASSERT(tensor.shape.size() == 4, "in_layout: {} is not [B, C, H, W]", shape_string(tensor.shape));
  Tensor<Scalar> moved(tensor.shape);
  change_layout(SpatialShape{tensor.shape[1], tensor.shape[2], tensor.shape[3]}, tensor.rows(), tensor.data(),
                moved.data(), to == ActivationLayout::kChannelBlocks ? LayoutChange::kToBlocks : LayoutChange::kToPlain);
  return moved;
}

}  // namespace fbnet
