// Tensor: a dense, row-major block of Scalars with a shape.
// The engine is templated on Scalar so that the same code runs in float32 for
// training and in float64 as the reference of the finite-difference tests.
#pragma once

#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/error.hpp"

namespace fbnet {

using Shape = std::vector<int64_t>;

std::string shape_string(const Shape& shape);

inline int64_t element_count(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

// [batch, shape...]: a batch of tensors of per-sample shape `shape`.
inline Shape batched(int64_t batch, const Shape& shape) {
  Shape result = {batch};
  result.insert(result.end(), shape.begin(), shape.end());
  return result;
}

template <class Scalar>
struct Tensor {
  Shape shape;
  std::vector<Scalar> values;

  Tensor() = default;
  explicit Tensor(Shape s) : shape(std::move(s)), values(element_count(shape)) {}

  // Changes the shape, keeping the allocation when it is large enough, so that
  // per-batch buffers are allocated once. Contents are unspecified afterwards.
  void resize(Shape s) {
    shape = std::move(s);
    values.resize(element_count(shape));
  }
  void fill(Scalar value) { std::fill(values.begin(), values.end(), value); }

  int64_t rows() const { return shape.at(0); }
  // The second dimension of a matrix; a tensor of another rank has none.
  int64_t cols() const {
    FBNET_ASSERT(shape.size() == 2, "Tensor::cols: shape {} is not a matrix", shape_string(shape));
    return shape[1];
  }
  // Values per row (per sample): the product of every dimension after the first.
  int64_t row_size() const { return shape.empty() || shape[0] == 0 ? 0 : size() / shape[0]; }
  int64_t size() const { return static_cast<int64_t>(values.size()); }
  Scalar* data() { return values.data(); }
  const Scalar* data() const { return values.data(); }
  Scalar* row(int64_t r) { return values.data() + r * row_size(); }
  const Scalar* row(int64_t r) const { return values.data() + r * row_size(); }
};

// A view of a 2-D block inside a larger buffer (parameters live in one flat
// buffer; a layer sees its weight as a MatrixView [out, in]).
template <class Scalar>
struct MatrixView {
  Scalar* data;
  int64_t rows;
  int64_t cols;

  // A mutable view is usable wherever a read-only one is expected.
  operator MatrixView<const Scalar>() const
    requires(!std::is_const_v<Scalar>)
  {
    return {data, rows, cols};
  }
};

template <class Scalar>
MatrixView<Scalar> view(Tensor<Scalar>& t) {
  FBNET_ASSERT(t.shape.size() == 2, "expected a 2-D tensor, got shape {}", shape_string(t.shape));
  return {t.data(), t.shape[0], t.shape[1]};
}
template <class Scalar>
MatrixView<const Scalar> view(const Tensor<Scalar>& t) {
  FBNET_ASSERT(t.shape.size() == 2, "expected a 2-D tensor, got shape {}", shape_string(t.shape));
  return {t.data(), t.shape[0], t.shape[1]};
}

// Any tensor as [rows, values per row]: a Linear reads [B, C, H, W] as the
// [B, C*H*W] that torch.nn.Flatten would give it.
template <class Scalar>
MatrixView<Scalar> rows_view(Tensor<Scalar>& t) {
  return {t.data(), t.rows(), t.row_size()};
}
template <class Scalar>
MatrixView<const Scalar> rows_view(const Tensor<Scalar>& t) {
  return {t.data(), t.rows(), t.row_size()};
}

}  // namespace fbnet
