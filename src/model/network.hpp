// Network: layers plus feedback edges, unrolled over `steps` and trained by
// backpropagation through those steps. Weights are shared across steps, so
// their gradients sum over steps.
//
// Per step t, layer l (a_l is its input, a_{l+1} its output):
//   u   = a_l(t)                                   [B, in_l]
//   u   = dropout(u)                               (output layer, training)
//   for each edge e = (s -> l), in order, when feedback combines at t:
//     u = keep * u + alpha * (a_s(t-1) Wfb_e^T + bfb_e)   (fb = 0 at t = 0)
//   a_{l+1}(t) = relu(u W_l^T + b_l)               [B, out_l]  (no relu on the output)
// with keep = 1 - alpha (mix) or 1 (add). The loss is the mean NLL of the
// log-softmax of the logits, averaged over readout steps.
#pragma once

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "engine/random.hpp"
#include "engine/tensor.hpp"
#include "model/architecture.hpp"
#include "model/log_softmax_nll.hpp"
#include "model/parameters.hpp"

namespace fbnet {

enum class Mode { kTrain, kEval };

template <class Scalar>
class Network {
 public:
  explicit Network(Architecture architecture);

  const Architecture& architecture() const { return architecture_; }
  ParameterStore<Scalar>& parameters() { return parameters_; }
  const ParameterStore<Scalar>& parameters() const { return parameters_; }

  // PyTorch's default for Linear: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
  void initialize(uint64_t seed);

  // inputs: one [B, input_size] tensor per step (the same pointer at every
  // step for a static image). `dropout_rng` is needed in Mode::kTrain only.
  void forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng);
  // Logits [B, classes] of the k-th readout step of the last forward.
  const Tensor<Scalar>& logits(int readout_index) const;
  int readout_count() const { return static_cast<int>(readout_steps_.size()); }

  // labels: one array of B labels per readout step. Computes the loss of the
  // last forward and keeps dL/dlogits for backward().
  LossAndCorrect loss(std::span<const int32_t* const> labels);
  // Called by backward() with a [begin, end) range of parameters().values()
  // as soon as the gradients of that range are final, so that an optimiser
  // can update them while they are still in cache.
  using GradientsReady = std::function<void(int64_t begin, int64_t end)>;

  // Writes dL/dparameters into parameters().grads(), replacing what was there
  // (unlike PyTorch's accumulation: no zero_grad needed between batches).
  // Needs the last forward to be a Mode::kTrain one whose inputs are still alive.
  void backward(const GradientsReady& on_ready = nullptr);

  // A frozen layer keeps its weights: backward computes no gradient for it
  // (its gradient stays zero) and never reports its range as ready, while
  // gradients still flow through it to the layers and edges below.
  // Experiment 2 freezes the feedforward layers copied from an experiment-1 net.
  void set_layer_frozen(int layer, bool frozen);
  bool layer_frozen(int layer) const { return layer_frozen_.at(layer) != 0; }

  // a_index at `step` of the last forward: 1..N hidden (after relu), N+1 logits [B, size].
  const Tensor<Scalar>& activation(int step, int index) const;
  // What edge `edge` sent into its target at `step` of the last forward,
  // before alpha: Wfb a_source(step - 1) + bfb, zero at step 0. [B, target size]
  Tensor<Scalar> feedback_signal(int step, int edge) const;

  // The dropout mask [B, H] of `step` in the last training forward (tests
  // replay it in PyTorch).
  const Tensor<Scalar>& dropout_mask(int step) const { return dropout_masks_.at(step); }

 private:
  int output_layer() const { return architecture_.layer_count() - 1; }
  void backward_layer(int step, int layer);
  const Tensor<Scalar>& input_of(int step, int layer) const { return *layer_inputs_[step][layer]; }

  Architecture architecture_;
  ParameterStore<Scalar> parameters_;
  std::vector<LinearParameters<Scalar>> layers_;          // one per layer
  std::vector<LinearParameters<Scalar>> feedback_;        // one per edge
  std::vector<std::vector<int>> edges_into_;              // layer -> edge indices
  // Where each layer's (edge's) weight and bias lie in the flat buffers, and
  // the step of its last contribution in backward (-1: none).
  std::vector<std::pair<int64_t, int64_t>> layer_ranges_, edge_ranges_;
  std::vector<int> layer_last_step_, edge_last_step_;
  std::vector<int> readout_steps_;
  std::vector<char> layer_frozen_;  // [layer]

  // Caches of the last forward, indexed [step][layer].
  int64_t batch_ = 0;
  std::vector<std::vector<const Tensor<Scalar>*>> layer_inputs_;  // what layer l actually consumed
  std::vector<std::vector<Tensor<Scalar>>> combined_inputs_;      // owned when dropout or feedback changed it
  std::vector<std::vector<Tensor<Scalar>>> outputs_;              // a_{l+1}(t), after relu
  std::vector<Tensor<Scalar>> dropout_masks_;                     // [step]
  bool has_dropout_masks_ = false;
  bool last_forward_trained_ = false;  // backward() needs the caches of a Mode::kTrain forward
  // Backward buffers: dL/d a_{l+1}(t), the output gradient of each layer.
  std::vector<std::vector<Tensor<Scalar>>> output_grads_;
  std::vector<Tensor<Scalar>> input_grads_;  // [layer] scratch
  std::vector<Tensor<Scalar>> logit_grads_;  // [readout]
  // Whether a layer's (edge's) parameter gradient has had its first
  // contribution in the running backward; later ones accumulate.
  std::vector<char> layer_grad_written_;
  std::vector<char> edge_grad_written_;
};

// Builds the network's (name, shape) layout without allocating weights:
// "layers.{l}.weight" [out, in], "layers.{l}.bias" [out],
// "feedback.{e}.weight" [target size, source size], "feedback.{e}.bias".
std::vector<ParameterInfo> parameter_layout(const Architecture& architecture);

}  // namespace fbnet
