// FlattenOp: torch.nn.Flatten, [B, C, H, W] -> [B, C*H*W]. Plain tensors are
// row-major, so their values are already in order: the op is then the identity
// and its consumers (Linear) read any tensor as [B, values per sample]. From
// channel blocks (activation_layout.hpp) it copies the values into NCHW order.
#pragma once

#include "model/kernels/activation_layout.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class FlattenOp final : public Op<Scalar> {
 public:
  // `input`: the per-sample [C, H, W] read, and how it lies.
  explicit FlattenOp(SpatialIndex input = {}, ActivationLayout layout = ActivationLayout::kPlain)
      : input_(input), layout_(layout) {}

  Shape output_shape(const Shape& input) const override { return {element_count(input)}; }
  bool is_identity(Mode) const override { return layout_ == ActivationLayout::kPlain; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    FBNET_ASSERT(!is_identity(Mode::kEval), "flatten: an identity op is never run");
    change_layout(input_, x.rows(), x.data(), y.data(), /*to_blocks=*/false);
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int) override {
    FBNET_ASSERT(!is_identity(Mode::kTrain), "flatten: an identity op is never run");
    if (dx == nullptr) return;
    if (!accumulate_input) return change_layout(input_, dy.rows(), dy.data(), dx->data(), /*to_blocks=*/true);
    blocked_grad_.resize(dx->shape);
    change_layout(input_, dy.rows(), dy.data(), blocked_grad_.data(), /*to_blocks=*/true);
    parallel_for(dx->size(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) dx->values[i] += blocked_grad_.values[i];
    });
  }
  std::string describe() const override { return "Flatten"; }

 private:
  SpatialIndex input_;
  ActivationLayout layout_;
  Tensor<Scalar> blocked_grad_;  // [B, C, H, W] in channel blocks: dy before it is added to dx
};

}  // namespace fbnet
