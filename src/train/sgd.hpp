// SGD with momentum, PyTorch semantics (torch.optim.SGD, dampening 0, no
// Nesterov, no weight decay):  v = momentum * v + g;  w -= learning_rate * v.
// The first step gives v = g, as PyTorch's buffer initialised to the gradient.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fbnet {

template <class Scalar>
class SgdMomentum {
 public:
  SgdMomentum(double learning_rate, double momentum, size_t parameter_count)
      : learning_rate_(static_cast<Scalar>(learning_rate)),
        momentum_(static_cast<Scalar>(momentum)),
        velocity_(parameter_count, Scalar{0}) {}

  // Updates weights[begin, end) (by default all of them).
  void step(std::vector<Scalar>& weights, const std::vector<Scalar>& grads, size_t begin = 0, size_t end = SIZE_MAX) {
    Scalar* __restrict w = weights.data();
    Scalar* __restrict v = velocity_.data();
    const Scalar* __restrict g = grads.data();
    end = std::min(end, weights.size());
    for (size_t i = begin; i < end; ++i) {
      v[i] = momentum_ * v[i] + g[i];
      w[i] -= learning_rate_ * v[i];
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
