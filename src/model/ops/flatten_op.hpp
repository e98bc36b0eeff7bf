// FlattenOp: torch.nn.Flatten, [B, C, H, W] -> [B, C*H*W]. Tensors are
// row-major, so the values are already in order: the op is the identity and
// its consumers (Linear) read any tensor as [B, values per sample].
#pragma once

#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class FlattenOp final : public Op<Scalar> {
 public:
  Shape output_shape(const Shape& input) const override { return {element_count(input)}; }
  bool is_identity(Mode) const override { return true; }
  void forward(const Tensor<Scalar>&, Tensor<Scalar>&, Mode, Rng*, int) override {
    FBNET_ASSERT(false, "flatten: an identity op is never run");
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>&, const Tensor<Scalar>&, Tensor<Scalar>*, bool, bool, bool,
                int) override {
    FBNET_ASSERT(false, "flatten: an identity op is never run");
  }
  std::string describe() const override { return "Flatten"; }
};

}  // namespace fbnet
