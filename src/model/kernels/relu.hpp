// ReLU as a forward/backward pair on flat buffers of any shape.
#pragma once

#include <span>

#include "engine/error.hpp"
#include "engine/parallel.hpp"

namespace fbnet {

// y = max(x, 0)   (a NaN input gives 0)
template <class Scalar>
void relu_forward(std::span<const Scalar> x, std::span<Scalar> y) {
  FBNET_ASSERT(x.size() == y.size(), "relu_forward: x has {} values, y {}", x.size(), y.size());
  parallel_for(x.size(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = x[i] > 0 ? x[i] : Scalar{0};
  });
}

// dx = dy * (y > 0), written or (accumulate) added; y > 0 exactly where x > 0.
template <class Scalar>
void relu_backward(std::span<const Scalar> y, std::span<const Scalar> dy, std::span<Scalar> dx, bool accumulate) {
  FBNET_ASSERT(y.size() == dy.size() && y.size() == dx.size(), "relu_backward: y, dy, dx have {}, {}, {} values",
              y.size(), dy.size(), dx.size());
  parallel_for(y.size(), [&](int64_t begin, int64_t end) {
    if (accumulate) {
      // Adding -0 leaves every value as it is (-0 included), so this equals
      // `if (y > 0) dx += dy` and vectorises.
      for (int64_t i = begin; i < end; ++i) dx[i] += y[i] > 0 ? dy[i] : Scalar{-0.0};
    } else {
      for (int64_t i = begin; i < end; ++i) dx[i] = y[i] > 0 ? dy[i] : Scalar{0};
    }
  });
}

}  // namespace fbnet
