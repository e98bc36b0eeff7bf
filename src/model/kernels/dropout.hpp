// Inverted dropout as in torch.nn.Dropout, on flat buffers of any shape: in
// training each unit is kept with probability 1 - p and scaled by 1 / (1 - p);
// in evaluation it is the identity.
#pragma once

#include <cmath>
#include <span>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/random.hpp"

namespace fbnet {

// mask = Bernoulli(1 - p) / (1 - p);  y = x * mask   (all of x's size)
template <class Scalar>
void dropout_forward(std::span<const Scalar> x, double p, Rng& rng, std::span<Scalar> mask, std::span<Scalar> y) {
  FBNET_ASSERT(x.size() == mask.size() && x.size() == y.size(), "dropout_forward: x, mask, y have {}, {}, {} values",
              x.size(), mask.size(), y.size());
  const Scalar keep_scale = static_cast<Scalar>(1.0 / (1.0 - p));
  // rng.uniform() >= p, compared on the 53-bit integer it is made of.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(p * 0x1.0p53));
  // Indexed, not branched: a kept-or-dropped branch is mispredicted half the time.
  const Scalar dropped_or_kept[2] = {Scalar{0}, keep_scale};
  Scalar* __restrict kept = mask.data();
  const Scalar* __restrict in = x.data();
  Scalar* __restrict out = y.data();
  // The draws are one stream, split over the threads: each draws its part from
  // the stream jumped to the part's start, so the mask is the one a single
  // thread draws, whatever the thread count.
  const Rng start = rng;
  const auto count = static_cast<int64_t>(x.size());
  parallel_for(count, [=, &rng](int64_t begin, int64_t end) {
    // A local copy keeps the state in registers; rng is written once, by the thread whose part ends the stream.
    Rng local = begin == 0 ? start : start.jumped(static_cast<uint64_t>(begin));
    for (int64_t i = begin; i < end; ++i) {
      kept[i] = dropped_or_kept[(local.next() >> 11) >= threshold];
      out[i] = in[i] * kept[i];
    }
    if (end == count) rng = local;
  });
}

// dx = dy * mask, written or (accumulate) added.
template <class Scalar>
void dropout_backward(std::span<const Scalar> mask, std::span<const Scalar> dy, std::span<Scalar> dx,
                      bool accumulate) {
  FBNET_ASSERT(mask.size() == dy.size() && mask.size() == dx.size(),
              "dropout_backward: mask, dy, dx have {}, {}, {} values", mask.size(), dy.size(), dx.size());
  const Scalar* __restrict kept = mask.data();
  const Scalar* __restrict d_out = dy.data();
  Scalar* __restrict d_in = dx.data();
  parallel_for(dy.size(), [=](int64_t begin, int64_t end) {
    if (accumulate) {
      for (int64_t i = begin; i < end; ++i) d_in[i] += d_out[i] * kept[i];
    } else {
      for (int64_t i = begin; i < end; ++i) d_in[i] = d_out[i] * kept[i];
    }
  });
}

}  // namespace fbnet
