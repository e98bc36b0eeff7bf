// ReLU as a forward/backward pair on flat buffers of any shape.
#pragma once

#include <span>

#include "engine/error.hpp"

namespace fbnet {

// y = max(x, 0)   (a NaN input gives 0)
template <class Scalar>
void relu_forward(std::span<const Scalar> x, std::span<Scalar> y) {
  FBNET_ASSERT(x.size() == y.size(), "relu_forward: x has {} values, y {}", x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : Scalar{0};
}

// dx = dy * (y > 0), written or (accumulate) added; y > 0 exactly where x > 0.
template <class Scalar>
void relu_backward(std::span<const Scalar> y, std::span<const Scalar> dy, std::span<Scalar> dx, bool accumulate) {
  FBNET_ASSERT(y.size() == dy.size() && y.size() == dx.size(), "relu_backward: y, dy, dx have {}, {}, {} values",
              y.size(), dy.size(), dx.size());
  if (accumulate) {
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] > 0) dx[i] += dy[i];
  } else {
    for (size_t i = 0; i < y.size(); ++i) dx[i] = y[i] > 0 ? dy[i] : Scalar{0};
  }
}

}  // namespace fbnet
