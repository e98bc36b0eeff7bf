// Linear layer, y = x W^T + b, as a forward/backward pair (PyTorch layout:
// W is [out, in], so a checkpoint loads straight into torch.nn.Linear).
// `scale` folds a feedback coefficient into the products: the feedback path
// adds alpha * (y_src W^T + b) onto a layer's input.
#pragma once

#include <algorithm>

#include "engine/blas.hpp"
#include "model/parameters.hpp"

namespace fbnet {

// y[B, out] = scale * (x[B, in] W[out, in]^T + b[out])  (+ y when accumulate)
template <class Scalar>
void linear_forward(MatrixView<const Scalar> x, const LinearParameters<Scalar>& p, MatrixView<Scalar> y,
                    Scalar scale = 1, bool accumulate = false) {
  gemm<Scalar>(x, Transpose::kNo, p.weight, Transpose::kYes, y, scale,
               accumulate ? Scalar{1} : Scalar{0});
  for (int64_t r = 0; r < y.rows; ++r) {
    Scalar* out = y.data + r * y.cols;
    for (int64_t c = 0; c < y.cols; ++c) out[c] += scale * p.bias[c];
  }
}

// Given dy = dL/d(x W^T + b) [B, out]:
//   dW[out, in] (+)= scale * dy^T x ;  db[out] (+)= scale * sum_B dy
//   dx[B, in]   (+)= scale * dy W     (skipped when dx.data is null)
// The parameter gradients are overwritten by the first contribution of a
// backward pass and accumulated by later ones (weights shared across steps):
// this spares zeroing them, and the product reading them, every batch.
template <class Scalar>
void linear_backward(MatrixView<const Scalar> x, const LinearParameters<Scalar>& p, MatrixView<const Scalar> dy,
                     MatrixView<Scalar> dx, Scalar scale = 1, bool accumulate_dx = false, bool accumulate_grads = true) {
  FBNET_CHECK(dy.rows == x.rows, "linear_backward: dy has {} rows, x has {}", dy.rows, x.rows);
  gemm<Scalar>(dy, Transpose::kYes, x, Transpose::kNo, p.weight_grad, scale, accumulate_grads ? Scalar{1} : Scalar{0});
  if (!accumulate_grads) std::fill(p.bias_grad, p.bias_grad + dy.cols, Scalar{0});
  for (int64_t r = 0; r < dy.rows; ++r) {
    const Scalar* grad_row = dy.data + r * dy.cols;
    for (int64_t c = 0; c < dy.cols; ++c) p.bias_grad[c] += scale * grad_row[c];
  }
  if (dx.data != nullptr)
    gemm<Scalar>(dy, Transpose::kNo, p.weight, Transpose::kNo, dx, scale,
                 accumulate_dx ? Scalar{1} : Scalar{0});
}

}  // namespace fbnet
