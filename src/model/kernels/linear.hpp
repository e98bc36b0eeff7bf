// Linear layer, y = x W^T + b, as a forward/backward pair (PyTorch layout:
// W is [out, in], so a checkpoint loads straight into torch.nn.Linear).
// `scale` folds a feedback coefficient into the products: the feedback path
// adds alpha * (y_src W^T + b) onto a layer's input.
#pragma once

#include <algorithm>

#include "engine/blas.hpp"
#include "engine/parallel.hpp"
#include "model/parameters.hpp"

namespace fbnet {

// y[B, out] = scale * (x[B, in] W[out, in]^T + b[out])  (+ y when accumulate)
template <class Scalar>
void linear_forward(MatrixView<const Scalar> x, const LinearParameters<Scalar>& p, MatrixView<Scalar> y,
                    Scalar scale = 1, bool accumulate = false) {
  gemm<Scalar>(x, Transpose::kNo, p.weight, Transpose::kYes, y, scale,
               accumulate ? Scalar{1} : Scalar{0});
  parallel_rows(y.rows, y.cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      Scalar* out = y.data + r * y.cols;
      for (int64_t c = 0; c < y.cols; ++c) out[c] += scale * p.bias[c];
    }
  });
}

// Given dy = dL/d(x W^T + b) [B, out], the parameter gradients:
//   dW[out, in] (+)= scale * dy^T x ;  db[out] (+)= scale * sum_B dy
// They are overwritten by the first contribution of a backward pass and
// accumulated by later ones (weights shared across steps): this spares
// zeroing them, and the product reading them, every batch.
template <class Scalar>
void linear_backward_parameters(MatrixView<const Scalar> x, const LinearParameters<Scalar>& p,
                                MatrixView<const Scalar> dy, Scalar scale = 1, bool accumulate = true) {
  FBNET_ASSERT(dy.rows == x.rows, "linear_backward: dy has {} rows, x has {}", dy.rows, x.rows);
  gemm<Scalar>(dy, Transpose::kYes, x, Transpose::kNo, p.weight_grad, scale, accumulate ? Scalar{1} : Scalar{0});
  // Split over the outputs (columns): each sum runs over the rows in order, whatever the threads.
  parallel_for(dy.cols, [&](int64_t begin, int64_t end) {
    if (!accumulate) std::fill(p.bias_grad + begin, p.bias_grad + end, Scalar{0});
    for (int64_t r = 0; r < dy.rows; ++r) {
      const Scalar* grad_row = dy.data + r * dy.cols;
      for (int64_t c = begin; c < end; ++c) p.bias_grad[c] += scale * grad_row[c];
    }
  }, dy.rows * dy.cols);
}

// dx[B, in] (+)= scale * dy[B, out] W[out, in]
template <class Scalar>
void linear_backward_input(const LinearParameters<Scalar>& p, MatrixView<const Scalar> dy, MatrixView<Scalar> dx,
                           Scalar scale = 1, bool accumulate = false) {
  gemm<Scalar>(dy, Transpose::kNo, p.weight, Transpose::kNo, dx, scale, accumulate ? Scalar{1} : Scalar{0});
}

// Both: parameter gradients, and dx unless dx.data is null.
template <class Scalar>
void linear_backward(MatrixView<const Scalar> x, const LinearParameters<Scalar>& p, MatrixView<const Scalar> dy,
                     MatrixView<Scalar> dx, Scalar scale = 1, bool accumulate_dx = false, bool accumulate_grads = true) {
  linear_backward_parameters(x, p, dy, scale, accumulate_grads);
  if (dx.data != nullptr) linear_backward_input(p, dy, dx, scale, accumulate_dx);
}

}  // namespace fbnet
