// The optimisers, with PyTorch's semantics (torch.optim.SGD with dampening 0,
// Adam, AdamW), updating ranges of the parameter store as backward reports
// them final. With g a parameter's gradient, w its value, lr the rate of the
// current epoch and wd the weight decay:
//   SGD    g += wd * w;  b = momentum * b + g;  d = nesterov ? g + momentum * b : b;  w -= lr * d
//          (the first step gives b = g, as PyTorch's buffer initialised to the gradient)
//   Adam   g += wd * w;  m += (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g;
//          w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
//   AdamW  w *= 1 - lr * wd; then Adam's step with g undecayed (decoupled weight decay)
// t counts steps (batches) from 1; begin_step() advances it once per batch.
//
// GradientAccumulation::kRunningSum replays a training loop that never calls
// optimizer.zero_grad() (NOTES.md: the authors' experiment-2 loop): PyTorch
// then adds each backward pass into .grad, so a step uses G, the running sum
// of every gradient since training began, in place of g:  G += g.  G is
// optimiser state, checkpointed beside the others.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "engine/parallel.hpp"

namespace fbnet {

enum class GradientAccumulation {
  kZeroed,      // each step uses its batch's gradient (zero_grad before every backward)
  kRunningSum,  // each step uses the sum of all gradients so far (zero_grad never called)
};

enum class OptimizerKind { kSgd, kAdam, kAdamW };

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::kSgd;
  double learning_rate = 0.02;
  double momentum = 0;  // SGD only
  bool nesterov = false;  // SGD only
  double weight_decay = 0;
  double beta1 = 0.9;  // Adam and AdamW
  double beta2 = 0.999;
  double epsilon = 1e-8;
  GradientAccumulation accumulation = GradientAccumulation::kZeroed;
};

// How many buffers the size of the parameters the optimiser keeps: momentum,
// or Adam's two moments, and G of a running sum (the memory estimate counts them).
inline int state_buffer_count(const OptimizerSettings& settings) {
  return (settings.kind == OptimizerKind::kSgd ? 1 : 2) + (settings.accumulation == GradientAccumulation::kRunningSum);
}

// One buffer of optimiser state, in the layout of the parameter store; its
// name is PyTorch's ("momentum_buffer" is kept as "momentum", fbnet's name
// since its first checkpoints).
template <class Scalar>
struct OptimizerState {
  std::string name;
  std::vector<Scalar> values;
};

template <class Scalar>
class Optimizer {
 public:
  Optimizer(const OptimizerSettings& settings, size_t parameter_count) : settings_(settings) {
    set_learning_rate(settings.learning_rate);
    if (settings.kind == OptimizerKind::kSgd) {
      state_.push_back({"momentum", std::vector<Scalar>(parameter_count, Scalar{0})});
    } else {
      state_.push_back({"exp_avg", std::vector<Scalar>(parameter_count, Scalar{0})});
      state_.push_back({"exp_avg_sq", std::vector<Scalar>(parameter_count, Scalar{0})});
    }
    if (settings.accumulation == GradientAccumulation::kRunningSum)
      state_.push_back({"gradient_sum", std::vector<Scalar>(parameter_count, Scalar{0})});
  }

  // The rate of the epoch about to be trained (optim/schedule.hpp).
  void set_learning_rate(double learning_rate) {
    learning_rate_ = learning_rate;
    learning_rate_scalar_ = static_cast<Scalar>(learning_rate);
  }
  double learning_rate() const { return learning_rate_; }

  // Starts a batch's step: Adam's bias corrections use its count t.
  void begin_step() { ++steps_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }

  // Updates weights[begin, end) (by default all of them) from grads[begin, end),
  // split over the compute threads (each weight's update is its own).
  void step(std::vector<Scalar>& weights, const std::vector<Scalar>& grads, size_t begin = 0, size_t end = SIZE_MAX) {
    end = std::min(end, weights.size());
    if (end <= begin) return;
    FBNET_ASSERT(steps_ > 0 || settings_.kind == OptimizerKind::kSgd,
                 "Adam's step before begin_step(): its bias corrections need t >= 1");
    parallel_for(static_cast<int64_t>(end - begin), [&](int64_t from, int64_t to) {
      const size_t chunk_begin = begin + from, chunk_end = begin + to;
      const Scalar* g = grads.data();
      if (settings_.accumulation == GradientAccumulation::kRunningSum) {
        Scalar* __restrict sum = state_.back().values.data();
        for (size_t i = chunk_begin; i < chunk_end; ++i) sum[i] += g[i];
        g = sum;
      }
      if (settings_.kind == OptimizerKind::kSgd)
        sgd_step(weights.data(), g, chunk_begin, chunk_end);
      else
        adam_step(weights.data(), g, chunk_begin, chunk_end);
    });
  }

  const OptimizerSettings& settings() const { return settings_; }
  // Every state buffer (checkpointed): momentum, or exp_avg and exp_avg_sq; then gradient_sum for kRunningSum.
  std::vector<OptimizerState<Scalar>>& state() { return state_; }
  const std::vector<OptimizerState<Scalar>>& state() const { return state_; }
  // The buffer called `name`; null when this optimiser keeps none by that name.
  std::vector<Scalar>* find_state(const std::string& name) {
    for (OptimizerState<Scalar>& state : state_)
      if (state.name == name) return &state.values;
    return nullptr;
  }

 private:
  void sgd_step(Scalar* __restrict w, const Scalar* __restrict g, size_t begin, size_t end) {
    Scalar* __restrict b = state_.front().values.data();
    const Scalar lr = learning_rate_scalar_, momentum = static_cast<Scalar>(settings_.momentum);
    const Scalar decay = static_cast<Scalar>(settings_.weight_decay);
    if (decay == 0 && !settings_.nesterov) {  // the report's SGD: kept to the operations of fbnet's first runs
      for (size_t i = begin; i < end; ++i) {
        b[i] = momentum * b[i] + g[i];
        w[i] -= lr * b[i];
      }
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      const Scalar decayed = g[i] + decay * w[i];
      b[i] = momentum * b[i] + decayed;
      w[i] -= lr * (settings_.nesterov ? decayed + momentum * b[i] : b[i]);
    }
  }

  void adam_step(Scalar* __restrict w, const Scalar* __restrict g, size_t begin, size_t end) {
    Scalar* __restrict m = state_[0].values.data();
    Scalar* __restrict v = state_[1].values.data();
    const double t = static_cast<double>(steps_);
    // 1 - beta in double, then rounded once, as torch's Python scalars are (0.001f, not 1 - 0.999f).
    const Scalar beta2 = static_cast<Scalar>(settings_.beta2);
    const Scalar one_minus_beta1 = static_cast<Scalar>(1 - settings_.beta1);
    const Scalar one_minus_beta2 = static_cast<Scalar>(1 - settings_.beta2);
    const Scalar step_size = static_cast<Scalar>(learning_rate_ / (1 - std::pow(settings_.beta1, t)));
    const Scalar correction2_sqrt = static_cast<Scalar>(std::sqrt(1 - std::pow(settings_.beta2, t)));
    const Scalar epsilon = static_cast<Scalar>(settings_.epsilon);
    const bool decoupled = settings_.kind == OptimizerKind::kAdamW;
    const Scalar decay = static_cast<Scalar>(settings_.weight_decay);
    const Scalar shrink = static_cast<Scalar>(1 - learning_rate_ * settings_.weight_decay);
    for (size_t i = begin; i < end; ++i) {
      Scalar gradient = g[i];
      if (decoupled)
        w[i] *= shrink;
      else
        gradient += decay * w[i];
      m[i] += one_minus_beta1 * (gradient - m[i]);
      v[i] = beta2 * v[i] + one_minus_beta2 * gradient * gradient;
      w[i] -= step_size * m[i] / (std::sqrt(v[i]) / correction2_sqrt + epsilon);
    }
  }

  OptimizerSettings settings_;
  double learning_rate_ = 0;
  Scalar learning_rate_scalar_ = 0;
  int64_t steps_ = 0;
  std::vector<OptimizerState<Scalar>> state_;
};

}  // namespace fbnet
