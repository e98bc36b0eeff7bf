// Inverted dropout as in torch.nn.Dropout: in training each unit is kept with
// probability 1 - p and scaled by 1 / (1 - p); in evaluation it is the identity.
#pragma once

#include <cmath>

#include "engine/random.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

// mask[B, H] = Bernoulli(1 - p) / (1 - p);  y[B, H] = x * mask
template <class Scalar>
void dropout_forward(MatrixView<const Scalar> x, double p, Rng& rng, MatrixView<Scalar> mask,
                     MatrixView<Scalar> y) {
  const Scalar keep_scale = static_cast<Scalar>(1.0 / (1.0 - p));
  // rng.uniform() >= p, compared on the 53-bit integer it is made of.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(p * 0x1.0p53));
  const int64_t n = x.rows * x.cols;
  Rng local = rng;  // a local copy keeps the generator's state in registers
  // Indexed, not branched: a kept-or-dropped branch is mispredicted half the time.
  const Scalar dropped_or_kept[2] = {Scalar{0}, keep_scale};
  for (int64_t i = 0; i < n; ++i) {
    mask.data[i] = dropped_or_kept[(local.next() >> 11) >= threshold];
    y.data[i] = x.data[i] * mask.data[i];
  }
  rng = local;
}

// dx = dy * mask, in place on dy.
template <class Scalar>
void dropout_backward(MatrixView<const Scalar> mask, MatrixView<Scalar> dy) {
  const int64_t n = mask.rows * mask.cols;
  for (int64_t i = 0; i < n; ++i) dy.data[i] *= mask.data[i];
}

}  // namespace fbnet
