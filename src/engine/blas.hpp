// The one door to the BLAS: every matrix product of fbnet goes through gemm(),
// which checks shapes and hands it to the product engine in use (compute.hpp):
// OpenBLAS's cblas_sgemm, or oneDNN's dnnl_sgemm. Float64 products (gradient
// checks, the PyTorch peer's float64 cases) always run on OpenBLAS's
// cblas_dgemm: oneDNN has no double-precision gemm.
#pragma once

#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

enum class Transpose { kNo, kYes };

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n], all row-major.
template <class Scalar>
void gemm(MatrixView<const Scalar> a, Transpose transpose_a, MatrixView<const Scalar> b,
          Transpose transpose_b, MatrixView<Scalar> c, Scalar alpha, Scalar beta);

// One product as gemm() was called, for benchmarks that time the exact
// products of a training step.
struct GemmCall {
  Transpose transpose_a;
  Transpose transpose_b;
  int64_t m, n, k;  // C[m, n] = op(A)[m, k] op(B)[k, n]
  bool accumulate;  // beta != 0
  int64_t flops() const { return 2 * m * n * k; }
};

// While one is alive, every gemm() on its thread is appended to calls().
class GemmRecorder {
 public:
  GemmRecorder();
  ~GemmRecorder();
  GemmRecorder(const GemmRecorder&) = delete;
  GemmRecorder& operator=(const GemmRecorder&) = delete;
  const std::vector<GemmCall>& calls() const { return calls_; }

 private:
  friend void record_gemm(const GemmCall& call);
  std::vector<GemmCall> calls_;
  GemmRecorder* previous_;
};

}  // namespace fbnet
