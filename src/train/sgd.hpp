// SGD with momentum, PyTorch semantics (torch.optim.SGD, dampening 0, no
// Nesterov, no weight decay):  v = momentum * v + g;  w -= learning_rate * v.
// The first step gives v = g, as PyTorch's buffer initialised to the gradient.
#pragma once

#include <vector>

namespace fbnet {

template <class Scalar>
class SgdMomentum {
 public:
  SgdMomentum(double learning_rate, double momentum, size_t parameter_count)
      : learning_rate_(static_cast<Scalar>(learning_rate)),
        momentum_(static_cast<Scalar>(momentum)),
        velocity_(parameter_count, Scalar{0}) {}

  void step(std::vector<Scalar>& weights, const std::vector<Scalar>& grads) {
    for (size_t i = 0; i < weights.size(); ++i) {
      velocity_[i] = momentum_ * velocity_[i] + grads[i];
      weights[i] -= learning_rate_ * velocity_[i];
    }
  }

  // The momentum buffer, in the layout of the parameter store (checkpointed).
  std::vector<Scalar>& velocity() { return velocity_; }

 private:
  Scalar learning_rate_;
  Scalar momentum_;
  std::vector<Scalar> velocity_;
};

}  // namespace fbnet
