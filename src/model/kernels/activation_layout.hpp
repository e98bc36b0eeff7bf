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

// Where value (c, h, w) of one sample lies: plain offset and channel-block offset.
struct SpatialIndex {
  int64_t channels = 1, height = 1, width = 1;

  int64_t plain(int64_t c, int64_t h, int64_t w) const { return (c * height + h) * width + w; }
  int64_t blocked(int64_t c, int64_t h, int64_t w) const {
    return ((c / kChannelBlock * height + h) * width + w) * kChannelBlock + c % kChannelBlock;
  }
};

// to = from in the other layout, sample by sample (`to_blocks`: plain -> channel blocks, else back).
// from, to: [batch, channels, height, width] values each.
template <class Scalar>
void change_layout(const SpatialIndex& g, int64_t batch, const Scalar* from, Scalar* to, bool to_blocks) {
  FBNET_ASSERT(g.channels % kChannelBlock == 0, "change_layout: {} channels are not whole blocks of {}", g.channels,
               kChannelBlock);
  const int64_t pixels = g.height * g.width;
  parallel_rows(batch * g.channels / kChannelBlock, kChannelBlock * pixels, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      // One block of 16 planes: plain [16][H*W] <-> blocked [H*W][16].
      const int64_t base = block * kChannelBlock * pixels;
      for (int64_t lane = 0; lane < kChannelBlock; ++lane)
        for (int64_t p = 0; p < pixels; ++p) {
          const int64_t plain = base + lane * pixels + p, blocked = base + p * kChannelBlock + lane;
          if (to_blocks) {
            to[blocked] = from[plain];
          } else {
            to[plain] = from[blocked];
          }
        }
    }
  });
}

}  // namespace fbnet
