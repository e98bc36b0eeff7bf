// DropoutOp: inverted dropout (torch.nn.Dropout) in training, the identity in
// evaluation. Keeps each step's mask [B, shape...] for backward.
#pragma once

#include <fmt/format.h>

#include "model/kernels/dropout.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class DropoutOp final : public Op<Scalar> {
 public:
  DropoutOp(double probability, int steps) : probability_(probability), masks_(steps) {}

  Shape output_shape(const Shape& input) const override { return input; }
  bool is_identity(Mode mode) const override { return mode == Mode::kEval || probability_ == 0; }
  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng* rng, int step) override {
    FBNET_ASSERT(rng != nullptr, "dropout: training needs a random stream");
    Tensor<Scalar>& mask = masks_.at(step);
    mask.resize(x.shape);
    dropout_forward<Scalar>(x.values, probability_, *rng, mask.values, y.values);
  }
  void backward(const Tensor<Scalar>&, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool, bool, int step) override {
    if (dx != nullptr) dropout_backward<Scalar>(masks_.at(step).values, dy.values, dx->values, accumulate_input);
  }
  std::string describe() const override { return fmt::format("Dropout(p={}, training only)", probability_); }

  // The mask of `step` in the last training forward: 0 or 1 / (1 - p).
  const Tensor<Scalar>& mask(int step) const { return masks_.at(step); }

 private:
  double probability_;
  std::vector<Tensor<Scalar>> masks_;  // [step]
};

}  // namespace fbnet
