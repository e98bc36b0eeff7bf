// The product engines behind gemm(), with the shape checks that document each product.
#include "engine/blas.hpp"

#include <cblas.h>

#include "engine/compute.hpp"

#ifdef FBNET_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace fbnet {
namespace {

CBLAS_TRANSPOSE cblas_transpose(Transpose t) { return t == Transpose::kYes ? CblasTrans : CblasNoTrans; }

template <class Scalar>
void check_product_shapes(MatrixView<const Scalar> a, Transpose transpose_a, MatrixView<const Scalar> b,
                          Transpose transpose_b, MatrixView<Scalar> c) {
  const int64_t a_rows = transpose_a == Transpose::kYes ? a.cols : a.rows;
  const int64_t a_cols = transpose_a == Transpose::kYes ? a.rows : a.cols;
  const int64_t b_rows = transpose_b == Transpose::kYes ? b.cols : b.rows;
  const int64_t b_cols = transpose_b == Transpose::kYes ? b.rows : b.cols;
  FBNET_ASSERT(a_cols == b_rows && c.rows == a_rows && c.cols == b_cols,
              "gemm shapes do not agree: op(A) [{}, {}] x op(B) [{}, {}] -> C [{}, {}]", a_rows, a_cols,
              b_rows, b_cols, c.rows, c.cols);
}

// Where float and double part: float runs on the engine in use, double on OpenBLAS.
void engine_gemm(Transpose ta, Transpose tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#ifdef FBNET_WITH_ONEDNN
  if (current_product_engine() == ProductEngine::kOneDnn) {
    // Row-major, as cblas's CblasRowMajor.
    const dnnl_status_t status = dnnl_sgemm(ta == Transpose::kYes ? 'T' : 'N', tb == Transpose::kYes ? 'T' : 'N', m, n,
                                            k, alpha, a, lda, b, ldb, beta, c, ldc);
    FBNET_ASSERT(status == dnnl_success, "dnnl_sgemm failed with status {} on [{}, {}] x [{}, {}]", int(status), m, k, k, n);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, cblas_transpose(ta), cblas_transpose(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void engine_gemm(Transpose ta, Transpose tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                 int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, cblas_transpose(ta), cblas_transpose(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

thread_local GemmRecorder* active_recorder = nullptr;

}  // namespace

GemmRecorder::GemmRecorder() : previous_(active_recorder) { active_recorder = this; }
GemmRecorder::~GemmRecorder() { active_recorder = previous_; }
void record_gemm(const GemmCall& call) { active_recorder->calls_.push_back(call); }

template <class Scalar>
void gemm(MatrixView<const Scalar> a, Transpose transpose_a, MatrixView<const Scalar> b, Transpose transpose_b,
          MatrixView<Scalar> c, Scalar alpha, Scalar beta) {
  check_product_shapes(a, transpose_a, b, transpose_b, c);
  const int64_t k = transpose_a == Transpose::kYes ? a.rows : a.cols;
  if (active_recorder != nullptr) record_gemm({transpose_a, transpose_b, c.rows, c.cols, k, beta != Scalar{0}});
  engine_gemm(transpose_a, transpose_b, c.rows, c.cols, k, alpha, a.data, a.cols, b.data, b.cols, beta, c.data, c.cols);
}

template void gemm<float>(MatrixView<const float>, Transpose, MatrixView<const float>, Transpose, MatrixView<float>,
                          float, float);
template void gemm<double>(MatrixView<const double>, Transpose, MatrixView<const double>, Transpose,
                           MatrixView<double>, double, double);

}  // namespace fbnet
