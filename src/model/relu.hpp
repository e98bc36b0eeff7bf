// ReLU as a forward/backward pair, in place on [B, H] buffers.
#pragma once

#include "engine/tensor.hpp"

namespace fbnet {

// y = max(z, 0), in place.
template <class Scalar>
void relu_forward(MatrixView<Scalar> z) {
  const int64_t n = z.rows * z.cols;
  for (int64_t i = 0; i < n; ++i) z.data[i] = z.data[i] > 0 ? z.data[i] : Scalar{0};
}

// dz = dy * (y > 0), in place on dy; y > 0 exactly where z > 0.
template <class Scalar>
void relu_backward(MatrixView<const Scalar> y, MatrixView<Scalar> dy) {
  const int64_t n = y.rows * y.cols;
  for (int64_t i = 0; i < n; ++i)
    if (!(y.data[i] > 0)) dy.data[i] = 0;
}

}  // namespace fbnet
