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
  // Raw pointers, not the spans: a store through y would otherwise force a reload of x's pointer each item.
  const Scalar* __restrict in = x.data();
  Scalar* __restrict out = y.data();
  parallel_for(x.size(), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = in[i] > 0 ? in[i] : Scalar{0};
  });
}

// dx = dy * (y > 0), written or (accumulate) added; y > 0 exactly where x > 0.
template <class Scalar>
void relu_backward(std::span<const Scalar> y, std::span<const Scalar> dy, std::span<Scalar> dx, bool accumulate) {
  FBNET_ASSERT(y.size() == dy.size() && y.size() == dx.size(), "relu_backward: y, dy, dx have {}, {}, {} values",
              y.size(), dy.size(), dx.size());
  const Scalar* __restrict out = y.data();
  const Scalar* __restrict d_out = dy.data();
  Scalar* __restrict d_in = dx.data();
  parallel_for(y.size(), [=](int64_t begin, int64_t end) {
    // dy is loaded whatever y is, so that the choice is a select the compiler vectorises, not a branch.
    if (accumulate) {
      // Adding -0 leaves every value as it is (-0 included): this is `if (y > 0) dx += dy`.
      for (int64_t i = begin; i < end; ++i) {
        const Scalar gradient = d_out[i];
        d_in[i] += out[i] > 0 ? gradient : Scalar{-0.0};
      }
    } else {
      for (int64_t i = begin; i < end; ++i) {
        const Scalar gradient = d_out[i];
        d_in[i] = out[i] > 0 ? gradient : Scalar{0};
      }
    }
  });
}

}  // namespace fbnet
