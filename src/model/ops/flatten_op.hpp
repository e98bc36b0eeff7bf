// FlattenOp: torch.nn.Flatten, [B, C, H, W] -> [B, C*H*W]. Plain tensors are
// row-major, so their values are already in order: the op is then the identity
// and its consumers (Linear) read any tensor as [B, values per sample]. From
// channel blocks (activation_layout.hpp) it moves the values into NCHW order.
#pragma once

#include "model/kernels/activation_layout.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class FlattenOp final : public Op<Scalar> {
 public:
  FlattenOp() = default;
  // Reading `input` [C, H, W] in channel blocks.
  explicit FlattenOp(SpatialShape input) : blocked_input_(input), reads_blocks_(true) {}

  Shape output_shape(const Shape& input) const override { return {element_count(input)}; }
  bool is_identity(Mode) const override { return !reads_blocks_; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    FBNET_ASSERT(reads_blocks_, "flatten: an identity op is never run");
    change_layout(blocked_input_, x.rows(), x.data(), y.data(), LayoutChange::kToPlain);
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int) override {
    FBNET_ASSERT(reads_blocks_, "flatten: an identity op is never run");
    if (dx != nullptr)
      add_changing_layout(blocked_input_, dy.rows(), dy.data(), dx->data(), LayoutChange::kToBlocks, accumulate_input);
  }
  std::string describe() const override { return "Flatten"; }

 private:
  SpatialShape blocked_input_;
  bool reads_blocks_ = false;
};

}  // namespace fbnet
