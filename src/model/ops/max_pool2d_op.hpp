// MaxPool2dOp: torch.nn.MaxPool2d(kernel, stride), no padding, as a graph op.
//   x [B, C, H, W] -> y [B, C, (H - K) / S + 1, (W - K) / S + 1], both in `layout`
#pragma once

#include <fmt/format.h>

#include "model/kernels/max_pool2d.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class MaxPool2dOp final : public Op<Scalar> {
 public:
  explicit MaxPool2dOp(PoolGeometry geometry, ActivationLayout layout = ActivationLayout::kPlain)
      : g_(geometry), layout_(layout) {}

  Shape output_shape(const Shape&) const override { return {g_.channels, g_.out_height(), g_.out_width()}; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override { max_pool2d_forward<Scalar>(g_, x, y, layout_); }
  void backward(const Tensor<Scalar>& x, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int) override {
    if (dx != nullptr) max_pool2d_backward<Scalar>(g_, x, dy, *dx, accumulate_input, layout_);
  }
  std::string describe() const override { return fmt::format("MaxPool2d(kernel {}, stride {})", g_.kernel, g_.stride); }

 private:
  PoolGeometry g_;
  ActivationLayout layout_;
};

}  // namespace fbnet
