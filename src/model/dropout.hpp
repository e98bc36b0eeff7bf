// Inverted dropout as in torch.nn.Dropout: in training each unit is kept with
// probability 1 - p and scaled by 1 / (1 - p); in evaluation it is the identity.
#pragma once

#include "engine/random.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

// mask[B, H] = Bernoulli(1 - p) / (1 - p);  y[B, H] = x * mask
template <class Scalar>
void dropout_forward(MatrixView<const Scalar> x, double p, Rng& rng, MatrixView<Scalar> mask,
                     MatrixView<Scalar> y) {
  const Scalar keep_scale = static_cast<Scalar>(1.0 / (1.0 - p));
  const int64_t n = x.rows * x.cols;
  for (int64_t i = 0; i < n; ++i) {
    mask.data[i] = rng.uniform() >= p ? keep_scale : Scalar{0};
    y.data[i] = x.data[i] * mask.data[i];
  }
}

// dx = dy * mask, in place on dy.
template <class Scalar>
void dropout_backward(MatrixView<const Scalar> mask, MatrixView<Scalar> dy) {
  const int64_t n = mask.rows * mask.cols;
  for (int64_t i = 0; i < n; ++i) dy.data[i] *= mask.data[i];
}

}  // namespace fbnet
