// The one door to the BLAS: every matrix product of fbnet goes through gemm(),
// which checks shapes and calls cblas_sgemm / cblas_dgemm (OpenBLAS).
#pragma once

#include <string>

#include "engine/tensor.hpp"

namespace fbnet {

enum class Transpose { kNo, kYes };

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n], all row-major.
template <class Scalar>
void gemm(MatrixView<const Scalar> a, Transpose transpose_a, MatrixView<const Scalar> b,
          Transpose transpose_b, MatrixView<Scalar> c, Scalar alpha, Scalar beta);

// Number of threads OpenBLAS uses for each product (0: one per core).
void set_blas_threads(int threads);
int blas_threads();
// The BLAS build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
std::string blas_description();

}  // namespace fbnet
