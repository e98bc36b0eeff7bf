// The unrolled forward pass and backpropagation through steps.
#include "model/network.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "model/dropout.hpp"
#include "model/linear.hpp"
#include "model/relu.hpp"

namespace fbnet {
namespace {

template <class Scalar>
void declare_layout(const Architecture& arch, ParameterStore<Scalar>& store) {
  for (int layer = 0; layer < arch.layer_count(); ++layer) {
    store.declare(fmt::format("layers.{}.weight", layer), {arch.layer_output_size(layer), arch.layer_input_size(layer)});
    store.declare(fmt::format("layers.{}.bias", layer), {arch.layer_output_size(layer)});
  }
  for (size_t e = 0; e < arch.feedback.size(); ++e) {
    const FeedbackEdge& edge = arch.feedback[e];
    store.declare(fmt::format("feedback.{}.weight", e), {arch.activation_size(edge.target), arch.activation_size(edge.source)});
    store.declare(fmt::format("feedback.{}.bias", e), {arch.activation_size(edge.target)});
  }
}

}  // namespace

std::vector<ParameterInfo> parameter_layout(const Architecture& architecture) {
  ParameterStore<float> store;
  declare_layout(architecture, store);
  return store.infos();
}

template <class Scalar>
Network<Scalar>::Network(Architecture architecture) : architecture_(std::move(architecture)) {
  const Architecture& arch = architecture_;
  arch.validate();
  declare_layout(arch, parameters_);
  parameters_.allocate();
  int index = 0;
  for (int layer = 0; layer < arch.layer_count(); ++layer, index += 2)
    layers_.push_back(parameters_.linear(index, index + 1));
  edges_into_.resize(arch.layer_count());
  for (size_t e = 0; e < arch.feedback.size(); ++e, index += 2) {
    feedback_.push_back(parameters_.linear(index, index + 1));
    edges_into_[arch.feedback[e].target].push_back(static_cast<int>(e));
  }
  for (int step = 0; step < arch.steps; ++step)
    if (arch.is_readout(step)) readout_steps_.push_back(step);
  const auto& infos = parameters_.infos();
  auto range_of = [&](int weight_index) {
    return std::pair<int64_t, int64_t>{infos[weight_index].offset, infos[weight_index + 1].offset + infos[weight_index + 1].size()};
  };
  for (int layer = 0; layer < arch.layer_count(); ++layer) {
    layer_ranges_.push_back(range_of(2 * layer));
    int last = -1;
    for (int step = arch.steps - 1; step >= 0; --step)
      if (layer <= arch.top_layer(step)) last = step;
    layer_last_step_.push_back(last);
  }
  for (size_t e = 0; e < arch.feedback.size(); ++e) {
    edge_ranges_.push_back(range_of(2 * (arch.layer_count() + static_cast<int>(e))));
    edge_last_step_.push_back(arch.steps > 1 ? 1 : -1);  // edges act at steps >= 1
  }

  layer_frozen_.assign(arch.layer_count(), 0);
  layer_inputs_.assign(arch.steps, std::vector<const Tensor<Scalar>*>(arch.layer_count(), nullptr));
  combined_inputs_.assign(arch.steps, std::vector<Tensor<Scalar>>(arch.layer_count()));
  outputs_.assign(arch.steps, std::vector<Tensor<Scalar>>(arch.layer_count()));
  output_grads_.assign(arch.steps, std::vector<Tensor<Scalar>>(arch.layer_count()));
  dropout_masks_.resize(arch.steps);
  input_grads_.resize(arch.layer_count());
  logit_grads_.resize(readout_steps_.size());
}

template <class Scalar>
void Network<Scalar>::initialize(uint64_t seed) {
  Rng rng(seed, kInitStream);
  auto fill_uniform = [&](const LinearParameters<Scalar>& p) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.weight.cols));
    for (int64_t i = 0; i < p.weight.rows * p.weight.cols; ++i)
      p.weight.data[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
    for (int64_t i = 0; i < p.weight.rows; ++i) p.bias[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
  };
  for (const auto& layer : layers_) fill_uniform(layer);
  for (const auto& edge : feedback_) fill_uniform(edge);
}

template <class Scalar>
void Network<Scalar>::forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng) {
  const Architecture& arch = architecture_;
  FBNET_CHECK(static_cast<int>(inputs.size()) == arch.steps, "forward: expected {} step inputs, got {}", arch.steps,
              inputs.size());
  batch_ = inputs[0]->rows();
  const bool use_dropout = mode == Mode::kTrain && arch.dropout > 0;
  FBNET_CHECK(!use_dropout || dropout_rng != nullptr, "forward: training with dropout needs a random stream");
  has_dropout_masks_ = use_dropout;
  last_forward_trained_ = mode == Mode::kTrain;
  const Scalar alpha = static_cast<Scalar>(arch.feedback_alpha);
  const Scalar keep = static_cast<Scalar>(arch.feedforward_keep());

  for (int step = 0; step < arch.steps; ++step) {
    const Tensor<Scalar>& x = *inputs[step];
    FBNET_CHECK(x.shape == Shape({batch_, arch.input_size}), "forward: step {} input has shape {}, expected [{}, {}]",
                step, shape_string(x.shape), batch_, arch.input_size);
    for (int layer = 0; layer <= arch.top_layer(step); ++layer) {
      const Tensor<Scalar>& feedforward_input = layer == 0 ? x : outputs_[step][layer - 1];
      const std::vector<int>& edges = edges_into_[layer];
      const bool combines = !edges.empty() && arch.feedback_combines_at(step);
      const bool drops = use_dropout && layer == output_layer();
      const Tensor<Scalar>* input = &feedforward_input;
      if (drops) {
        Tensor<Scalar>& mask = dropout_masks_[step];
        mask.resize(feedforward_input.shape);
        combined_inputs_[step][layer].resize(feedforward_input.shape);
        dropout_forward<Scalar>(view(feedforward_input), arch.dropout, *dropout_rng, view(mask),
                                view(combined_inputs_[step][layer]));
        input = &combined_inputs_[step][layer];
      } else if (combines) {
        // u = keep^k x + sum_e (alpha keep^(k-e)) fb_e, built edge by edge.
        Tensor<Scalar>& combined = combined_inputs_[step][layer];
        combined.resize(feedforward_input.shape);
        for (int64_t i = 0; i < combined.size(); ++i) combined.values[i] = feedforward_input.values[i];
        for (int e : edges) {
          if (keep != Scalar{1})
            for (Scalar& value : combined.values) value *= keep;
          if (step > 0)
            linear_forward<Scalar>(view(outputs_[step - 1][arch.feedback[e].source - 1]), feedback_[e],
                                   view(combined), alpha, /*accumulate=*/true);
        }
        input = &combined;
      }
      layer_inputs_[step][layer] = input;
      Tensor<Scalar>& output = outputs_[step][layer];
      output.resize({batch_, arch.layer_output_size(layer)});
      linear_forward<Scalar>(view(*input), layers_[layer], view(output));
      if (layer != output_layer()) relu_forward<Scalar>(view(output));
    }
  }
}

template <class Scalar>
void Network<Scalar>::set_layer_frozen(int layer, bool frozen) {
  FBNET_CHECK(layer >= 0 && layer < architecture_.layer_count(), "set_layer_frozen: no layer {}", layer);
  layer_frozen_[layer] = frozen;
  // A frozen layer's gradient is zero, and backward never writes it.
  const LinearParameters<Scalar>& p = layers_[layer];
  std::fill(p.weight_grad.data, p.weight_grad.data + p.weight_grad.rows * p.weight_grad.cols, Scalar{0});
  std::fill(p.bias_grad, p.bias_grad + p.weight_grad.rows, Scalar{0});
}

template <class Scalar>
const Tensor<Scalar>& Network<Scalar>::activation(int step, int index) const {
  FBNET_CHECK(step >= 0 && step < architecture_.steps && index >= 1 && index <= architecture_.layer_count() &&
                  index - 1 <= architecture_.top_layer(step),
              "activation: a_{} was not computed at step {}", index, step);
  return outputs_[step][index - 1];
}

template <class Scalar>
Tensor<Scalar> Network<Scalar>::feedback_signal(int step, int edge) const {
  const FeedbackEdge& e = architecture_.feedback.at(edge);
  Tensor<Scalar> signal({batch_, architecture_.activation_size(e.target)});
  if (step == 0) return signal;  // nothing has fired yet: fb = 0
  linear_forward<Scalar>(view(activation(step - 1, e.source)), feedback_[edge], view(signal));
  return signal;
}

template <class Scalar>
const Tensor<Scalar>& Network<Scalar>::logits(int readout_index) const {
  return outputs_.at(readout_steps_.at(readout_index)).at(output_layer());
}

template <class Scalar>
LossAndCorrect Network<Scalar>::loss(std::span<const int32_t* const> labels) {
  FBNET_CHECK(static_cast<int>(labels.size()) == readout_count(), "loss: expected labels for {} readout steps, got {}",
              readout_count(), labels.size());
  // Mean over the batch and over readout steps.
  const Scalar grad_scale = static_cast<Scalar>(1.0 / (static_cast<double>(batch_) * readout_count()));
  LossAndCorrect total;
  for (int k = 0; k < readout_count(); ++k) {
    const Tensor<Scalar>& step_logits = logits(k);
    for (int64_t b = 0; b < batch_; ++b)
      FBNET_CHECK(labels[k][b] >= 0 && labels[k][b] < architecture_.classes, "loss: label {} outside 0..{}",
                  labels[k][b], architecture_.classes - 1);
    logit_grads_[k].resize(step_logits.shape);
    const LossAndCorrect step = log_softmax_nll<Scalar>(view(step_logits), labels[k], view(logit_grads_[k]), grad_scale);
    total.loss_sum += step.loss_sum;
    total.correct += step.correct;
  }
  total.loss_sum /= readout_count();
  return total;
}

template <class Scalar>
void Network<Scalar>::backward(const GradientsReady& on_ready) {
  FBNET_CHECK(last_forward_trained_, "backward: the last forward was not a training forward");
  const Architecture& arch = architecture_;
  for (int step = 0; step < arch.steps; ++step)
    for (int layer = 0; layer <= arch.top_layer(step); ++layer) {
      output_grads_[step][layer].resize(outputs_[step][layer].shape);
      output_grads_[step][layer].fill(Scalar{0});
    }
  for (int k = 0; k < readout_count(); ++k) output_grads_[readout_steps_[k]][output_layer()].values = logit_grads_[k].values;
  layer_grad_written_.assign(layers_.size(), 0);
  edge_grad_written_.assign(feedback_.size(), 0);

  auto ready = [&](const std::pair<int64_t, int64_t>& range) {
    if (on_ready) on_ready(range.first, range.second);
  };
  for (int step = arch.steps - 1; step >= 0; --step) {
    for (int layer = arch.top_layer(step); layer >= 0; --layer) {
      backward_layer(step, layer);
      if (step == layer_last_step_[layer] && !layer_frozen_[layer]) ready(layer_ranges_[layer]);
    }
    for (size_t e = 0; e < feedback_.size(); ++e)
      if (step == edge_last_step_[e]) ready(edge_ranges_[e]);
  }
  // A parameter the schedule never reached has gradient zero.
  auto clear = [&](const LinearParameters<Scalar>& p, const std::pair<int64_t, int64_t>& range) {
    std::fill(p.weight_grad.data, p.weight_grad.data + p.weight_grad.rows * p.weight_grad.cols, Scalar{0});
    std::fill(p.bias_grad, p.bias_grad + p.weight_grad.rows, Scalar{0});
    ready(range);
  };
  for (size_t l = 0; l < layers_.size(); ++l)
    if (!layer_grad_written_[l] && !layer_frozen_[l]) clear(layers_[l], layer_ranges_[l]);
  for (size_t e = 0; e < feedback_.size(); ++e)
    if (!edge_grad_written_[e]) clear(feedback_[e], edge_ranges_[e]);
}

// One layer at one step: from dL/da_{l+1}(t) to the parameter gradients and
// to dL/da_l(t) and dL/da_s(t-1) of the feedback sources.
template <class Scalar>
void Network<Scalar>::backward_layer(int step, int layer) {
  const Architecture& arch = architecture_;
  const Scalar alpha = static_cast<Scalar>(arch.feedback_alpha);
  const Scalar keep = static_cast<Scalar>(arch.feedforward_keep());
  // First contribution overwrites, later ones accumulate.
  auto accumulate = [](std::vector<char>& written, size_t index) { return std::exchange(written[index], char{1}) != 0; };
  Tensor<Scalar>& d_output = output_grads_[step][layer];  // becomes dL/d(pre-activation)
  if (layer != output_layer()) relu_backward<Scalar>(view(outputs_[step][layer]), view(d_output));

  const std::vector<int>& edges = edges_into_[layer];
  const bool combines = !edges.empty() && arch.feedback_combines_at(step);
  const bool drops = has_dropout_masks_ && layer == output_layer();
  const bool needs_input_grad = layer > 0 || (combines && step > 0);
  auto parameter_grads = [&] {
    if (!layer_frozen_[layer])
      linear_backward_parameters<Scalar>(view(input_of(step, layer)), layers_[layer], view(d_output), Scalar{1},
                                         accumulate(layer_grad_written_, layer));
  };
  parameter_grads();
  if (!needs_input_grad) return;
  if (!combines && !drops) {
    // dL/da_l flows straight into the layer below's output gradient.
    linear_backward_input<Scalar>(layers_[layer], view(d_output), view(output_grads_[step][layer - 1]), Scalar{1},
                                  /*accumulate=*/true);
    return;
  }
  Tensor<Scalar>& d_input = input_grads_[layer];  // dL/du [B, in_l]
  d_input.resize(input_of(step, layer).shape);
  linear_backward_input<Scalar>(layers_[layer], view(d_output), view(d_input));
  if (drops) dropout_backward<Scalar>(view(dropout_masks_[step]), view(d_input));
  if (combines) {
    for (auto it = edges.rbegin(); it != edges.rend(); ++it) {
      const int e = *it;
      if (step > 0) {
        const int source_layer = arch.feedback[e].source - 1;
        linear_backward<Scalar>(view(outputs_[step - 1][source_layer]), feedback_[e], view(d_input),
                                view(output_grads_[step - 1][source_layer]), alpha, /*accumulate_dx=*/true,
                                accumulate(edge_grad_written_, e));
      }
      if (keep != Scalar{1})
        for (Scalar& value : d_input.values) value *= keep;
    }
  }
  if (layer > 0) {
    Tensor<Scalar>& below = output_grads_[step][layer - 1];
    for (int64_t i = 0; i < below.size(); ++i) below.values[i] += d_input.values[i];
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace fbnet
