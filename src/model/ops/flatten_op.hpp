// FlattenOp: torch.nn.Flatten, [B, C, H, W] -> [B, C*H*W]. Plain tensors are
// row-major, so their values are already in order: the op is then the identity
// and its consumers (Linear) read any tensor as [B, values per sample]. From
// channel blocks (activation_layout.hpp) it moves the values into NCHW order:
//   forward   x [B, C/16, H, W, 16] -> y [B, C*H*W]
//   backward  dx (+)= dy, moved back into blocks (0 + dy when written, as the identity's backward)
#pragma once

#include <optional>

#include "model/kernels/activation_layout.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class FlattenOp final : public Op<Scalar> {
 public:
  FlattenOp() = default;
  // Reading `input` [C, H, W] in channel blocks.
  explicit FlattenOp(SpatialShape input) : blocked_input_(input) {}

  Shape output_shape(const Shape& input) const override { return {element_count(input)}; }
  bool is_identity(Mode) const override { return !blocked_input_; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    FBNET_ASSERT(blocked_input_ && x.row_size() == sample_size() && y.size() == x.size(),
                 "flatten: x {} and y {} do not fit [{}] per sample from blocks", shape_string(x.shape),
                 shape_string(y.shape), sample_size());
    change_layout(*blocked_input_, x.rows(), x.data(), y.data(), LayoutChange::kToPlain);
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int) override {
    FBNET_ASSERT(blocked_input_ && dy.row_size() == sample_size() && (dx == nullptr || dx->size() == dy.size()),
                 "flatten: dy {} does not fit [{}] per sample from blocks", shape_string(dy.shape), sample_size());
    if (dx != nullptr)
      add_changing_layout(*blocked_input_, dy.rows(), dy.data(), dx->data(), LayoutChange::kToBlocks, accumulate_input);
  }
  std::string describe() const override { return "Flatten"; }

 private:
  int64_t sample_size() const { return blocked_input_->channels * blocked_input_->height * blocked_input_->width; }

  std::optional<SpatialShape> blocked_input_;  // none: plain, and the op is the identity
};

}  // namespace fbnet
