// ReluOp: y = max(x, 0), element-wise on any shape.
#pragma once

#include "model/kernels/relu.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class ReluOp final : public Op<Scalar> {
 public:
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    relu_forward<Scalar>(x.values, y.values);
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>& y, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int) override {
    if (dx != nullptr) relu_backward<Scalar>(y.values, dy.values, dx->values, accumulate_input);
  }
  std::string describe() const override { return "ReLU"; }
};

}  // namespace fbnet
