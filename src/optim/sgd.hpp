// SGD with momentum, PyTorch semantics (torch.optim.SGD, dampening 0, no
// Nesterov, no weight decay):  v = momentum * v + g;  w -= learning_rate * v.
// The first step gives v = g, as PyTorch's buffer initialised to the gradient.
//
// GradientAccumulation::kRunningSum replays a training loop that never calls
// optimizer.zero_grad() (NOTES.md: the authors' experiment-2 loop): PyTorch
// then adds each backward pass into .grad, so a step uses G, the running sum
// of every gradient since training began:  G += g;  v = momentum * v + G;
// w -= learning_rate * v.  G is optimiser state, checkpointed beside v.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fbnet {

enum class GradientAccumulation {
  kZeroed,      // each step uses its batch's gradient (zero_grad before every backward)
  kRunningSum,  // each step uses the sum of all gradients so far (zero_grad never called)
};

template <class Scalar>
class SgdMomentum {
 public:
  SgdMomentum(double learning_rate, double momentum, size_t parameter_count,
              GradientAccumulation accumulation = GradientAccumulation::kZeroed)
      : learning_rate_(static_cast<Scalar>(learning_rate)),
        momentum_(static_cast<Scalar>(momentum)),
        accumulation_(accumulation),
        velocity_(parameter_count, Scalar{0}),
        gradient_sum_(accumulation == GradientAccumulation::kRunningSum ? parameter_count : 0, Scalar{0}) {}

  // Updates weights[begin, end) (by default all of them) from grads[begin, end).
  void step(std::vector<Scalar>& weights, const std::vector<Scalar>& grads, size_t begin = 0, size_t end = SIZE_MAX) {
    Scalar* __restrict w = weights.data();
    Scalar* __restrict v = velocity_.data();
    const Scalar* __restrict g = grads.data();
    end = std::min(end, weights.size());
    if (accumulation_ == GradientAccumulation::kRunningSum) {
      Scalar* __restrict sum = gradient_sum_.data();
      for (size_t i = begin; i < end; ++i) {
        sum[i] += g[i];
        v[i] = momentum_ * v[i] + sum[i];
        w[i] -= learning_rate_ * v[i];
      }
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      v[i] = momentum_ * v[i] + g[i];
      w[i] -= learning_rate_ * v[i];
    }
  }

  GradientAccumulation accumulation() const { return accumulation_; }
  // The momentum buffer, in the layout of the parameter store (checkpointed).
  std::vector<Scalar>& velocity() { return velocity_; }
  const std::vector<Scalar>& velocity() const { return velocity_; }
  // G of kRunningSum, in the same layout (checkpointed); empty for kZeroed.
  std::vector<Scalar>& gradient_sum() { return gradient_sum_; }
  const std::vector<Scalar>& gradient_sum() const { return gradient_sum_; }

 private:
  Scalar learning_rate_;
  Scalar momentum_;
  GradientAccumulation accumulation_;
  std::vector<Scalar> velocity_;
  std::vector<Scalar> gradient_sum_;
};

}  // namespace fbnet
