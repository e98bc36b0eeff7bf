// The unrolled forward pass over a Graph's schedule and backpropagation
// through its steps.
#include "model/network.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "engine/compute.hpp"
#include "engine/parallel.hpp"
#ifdef FBNET_WITH_ONEDNN
#include "model/kernels/conv2d_onednn.hpp"
#endif
#include "model/ops/dropout_op.hpp"

namespace fbnet {
namespace {

// values *= factor, on the compute threads.
template <class Scalar>
void scale_values(Tensor<Scalar>& tensor, Scalar factor) {
  parallel_for(tensor.size(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) tensor.values[i] *= factor;
  });
}

template <class Scalar>
void declare_parameters(const Graph& graph, ParameterStore<Scalar>& store) {
  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n) {
    if (graph.nodes[n].op == OpKind::kInput) continue;
    for (int set = 0; set < graph.weight_sets(n); ++set)
      for (const auto& [suffix, shape] : make_op<Scalar>(graph, n)->parameter_shapes())
        store.declare(fmt::format("{}.{}", graph.weights_name(n, set), suffix), shape);
  }
  for (size_t e = 0; e < graph.edges.size(); ++e)
    for (const auto& [suffix, shape] : make_adapter<Scalar>(graph, static_cast<int>(e))->parameter_shapes())
      store.declare(fmt::format("{}.{}", graph.edges[e].name, suffix), shape);
}

// Whether a net's float32 activations may stay in channel blocks: a net with convolutions, on oneDNN's
// convolutions where they use them (the probe makes a primitive: only for conv nets).
template <class Scalar>
bool use_channel_blocks(const Graph& graph) {
#ifdef FBNET_WITH_ONEDNN
  const bool convolves = std::any_of(graph.nodes.begin(), graph.nodes.end(),
                                     [](const Node& node) { return node.op == OpKind::kConv2d; });
  return std::is_same_v<Scalar, float> && convolves && current_convolution_engine() == ConvolutionEngine::kOneDnn &&
         onednn_uses_channel_blocks();
#else
  (void)graph;
  return false;
#endif
}

// Checks the fields of the description before the graph is built from it.
Graph validated_graph_of(const Architecture& architecture) {
  architecture.validate();
  return graph_of(architecture);
}

}  // namespace

std::vector<ParameterInfo> parameter_layout(const Graph& graph) {
  ParameterStore<float> store;
  declare_parameters(graph, store);
  return store.infos();
}

std::vector<ParameterInfo> parameter_layout(const Architecture& architecture) {
  return parameter_layout(graph_of(architecture));
}

template <class Scalar>
Network<Scalar>::Network(Architecture architecture) : Network(validated_graph_of(architecture)) {
  architecture_ = std::move(architecture);
}

template <class Scalar>
Network<Scalar>::Network(Graph graph) : graph_(std::move(graph)) {
  graph_.validate();
  FBNET_CHECK(graph_.input_nodes().size() >= 1, "graph: needs an input node");
  schedule_ = schedule_of(graph_);
  layouts_ = choose_activation_layouts(graph_, use_channel_blocks<Scalar>(graph_));
  declare_parameters(graph_, parameters_);
  parameters_.allocate();
  bind_parameters();
  frozen_.assign(graph_.nodes.size(), 0);
  edge_frozen_.assign(graph_.edges.size(), 0);
  interventions_.resize(graph_.edges.size());
  states_.assign(graph_.steps, std::vector<NodeState>(graph_.nodes.size()));
  gain_states_.assign(graph_.steps, std::vector<GainState>(graph_.edges.size()));
  logit_grads_.resize(schedule_.readout_steps.size());
}

template <class Scalar>
void Network<Scalar>::bind_parameters() {
  // Parameters lie in declaration order: each op's (each weight set's), in
  // node order, then each adapter's.
  int index = 0;
  auto bind = [&](Op<Scalar>& op) {
    const int count = static_cast<int>(op.parameter_shapes().size());
    if (count == 0) return Range{0, 0};
    op.bind(parameters_, index);
    const ParameterInfo& first = parameters_.infos()[index];
    const ParameterInfo& last = parameters_.infos()[index + count - 1];
    index += count;
    return Range{first.offset, last.offset + last.size()};
  };
  ops_.resize(graph_.nodes.size());
  node_ranges_.resize(graph_.nodes.size());
  for (int n = 0; n < static_cast<int>(graph_.nodes.size()); ++n) {
    if (graph_.nodes[n].op == OpKind::kInput) continue;
    for (int set = 0; set < graph_.weight_sets(n); ++set) {
      ops_[n].push_back(make_op<Scalar>(graph_, n, layouts_));
      node_ranges_[n].push_back(bind(*ops_[n].back()));
    }
  }
  for (size_t e = 0; e < graph_.edges.size(); ++e) {
    adapters_.push_back(make_adapter<Scalar>(graph_, static_cast<int>(e), layouts_));
    edge_ranges_.push_back(bind(*adapters_.back()));
  }
}

template <class Scalar>
void Network<Scalar>::initialize(uint64_t seed) {
  Rng rng(seed, kInitStream);
  for (const auto& sets : ops_)
    for (const auto& op : sets) op->initialize(rng);
  for (const auto& adapter : adapters_) adapter->initialize(rng);
}

template <class Scalar>
void Network<Scalar>::forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng) {
  const std::vector<const Tensor<Scalar>*> steps(inputs.begin(), inputs.end());
  forward(std::span<const std::vector<const Tensor<Scalar>*>>(&steps, 1), mode, dropout_rng);
}

template <class Scalar>
void Network<Scalar>::forward(std::span<const std::vector<const Tensor<Scalar>*>> inputs, Mode mode,
                              Rng* dropout_rng) {
  const std::vector<int> input_nodes = graph_.input_nodes();
  FBNET_ASSERT(inputs.size() == input_nodes.size(), "forward: the graph has {} input nodes, got inputs for {}",
              input_nodes.size(), inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k)
    FBNET_ASSERT(static_cast<int>(inputs[k].size()) == graph_.steps, "forward: expected {} step inputs for '{}', got {}",
                graph_.steps, graph_.nodes[input_nodes[k]].name, inputs[k].size());
  batch_ = inputs[0][0]->rows();
  FBNET_ASSERT(mode == Mode::kEval || std::all_of(interventions_.begin(), interventions_.end(), [](const auto& i) {
                 return i.kind == InterventionKind::kNone;
               }), "forward: interventions are for evaluation, not training");
  last_mode_ = mode;
  has_forward_ = true;
  for (int step = 0; step < graph_.steps; ++step) {
    for (int n : schedule_.nodes_at[step]) {
      const Node& node = graph_.nodes[n];
      NodeState& state = states_[step][n];
      if (node.op == OpKind::kInput) {
        const size_t k = std::find(input_nodes.begin(), input_nodes.end(), n) - input_nodes.begin();
        state.value = inputs[k][step];
        // Read row-major as [B, shape]: a batch of images [B, 784] feeds an input node [1, 28, 28].
        FBNET_ASSERT(state.value->rows() == batch_ && state.value->row_size() == element_count(node.shape),
                    "forward: step {} input '{}' has shape {}, expected {} values per sample", step, node.name,
                    shape_string(state.value->shape), element_count(node.shape));
      } else {
        const Tensor<Scalar>& in = *states_[step][node.inputs[0]].consumed;
        Op<Scalar>& op = op_at(step, n);
        if (op.is_identity(mode)) {
          state.value = &in;
        } else {
          state.output.resize(batched(batch_, node.shape));
          op.forward(in, state.output, mode, dropout_rng, step);
          state.value = &state.output;
        }
      }
      state.consumed = state.value;
      if (!schedule_.combines_at(step, n)) continue;
      // u = keep^k v + sum_e (alpha_e keep^(k-e)) fb_e, built edge by edge.
      Tensor<Scalar>& combined = state.combined;
      combined.resize(state.value->shape);
      parallel_for(combined.size(), [&](int64_t begin, int64_t end) {
        std::copy(state.value->values.begin() + begin, state.value->values.begin() + end, combined.values.begin() + begin);
      });
      for (int e : schedule_.edges_into[n]) {
        const Edge& edge = graph_.edges[e];
        const EdgeIntervention<Scalar>& intervention = interventions_[e];
        if (intervention.kind == InterventionKind::kOff) continue;
        const Scalar alpha = static_cast<Scalar>(edge.alpha);
        if (edge.combine == FeedbackCombine::kGain) {
          if (step > 0) combine_gain(step, e, combined);  // fb = 0 at step 0 leaves u as it is
          continue;
        }
        const Scalar keep = static_cast<Scalar>(edge.keep());
        if (keep != Scalar{1}) scale_values(combined, keep);
        if (step == 0) continue;
        if (intervention.kind == InterventionKind::kMean) {
          const Tensor<Scalar>& mean = intervention.mean[step];  // [1, target shape]
          for (int64_t b = 0; b < batch_; ++b)
            for (int64_t i = 0; i < mean.size(); ++i) combined.values[b * mean.size() + i] += alpha * mean.values[i];
        } else {
          adapters_[e]->forward_add(edge_source(step, e), combined, alpha);
        }
      }
      state.consumed = &combined;
    }
  }
}

template <class Scalar>
const Tensor<Scalar>& Network<Scalar>::edge_source(int step, int edge) {
  const Tensor<Scalar>& source = *states_[step - 1][graph_.edges[edge].source].value;
  const EdgeIntervention<Scalar>& intervention = interventions_[edge];
  if (intervention.kind != InterventionKind::kSwap) return source;
  FBNET_ASSERT(static_cast<int64_t>(intervention.partner.size()) == batch_,
              "forward: edge '{}' swaps among {} samples, the batch has {}", graph_.edges[edge].name,
              intervention.partner.size(), batch_);
  swapped_source_.resize(source.shape);
  const int64_t row = source.row_size();
  for (int64_t b = 0; b < batch_; ++b) {
    FBNET_ASSERT(intervention.partner[b] >= 0 && intervention.partner[b] < batch_,
                "forward: edge '{}' swaps sample {} with {}, outside the batch of {}", graph_.edges[edge].name, b,
                intervention.partner[b], batch_);
    std::copy_n(source.values.begin() + intervention.partner[b] * row, row, swapped_source_.values.begin() + b * row);
  }
  return swapped_source_;
}

template <class Scalar>
void Network<Scalar>::combine_gain(int step, int edge, Tensor<Scalar>& combined) {
  GainState& gain = gain_states_[step][edge];
  gain.base = combined;
  gain.signal.resize(combined.shape);
  const EdgeIntervention<Scalar>& intervention = interventions_[edge];
  if (intervention.kind == InterventionKind::kMean) {
    const Tensor<Scalar>& mean = intervention.mean[step];  // [1, target shape]
    for (int64_t b = 0; b < batch_; ++b) std::copy(mean.values.begin(), mean.values.end(), gain.signal.row(b));
  } else {
    adapters_[edge]->forward(edge_source(step, edge), gain.signal, Mode::kEval, nullptr, step);
  }
  const Scalar alpha = static_cast<Scalar>(graph_.edges[edge].alpha);
  parallel_for(combined.size(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) combined.values[i] = gain.base.values[i] * (Scalar{1} + alpha * gain.signal.values[i]);
  });
}

template <class Scalar>
void Network<Scalar>::set_frozen(const std::string& name, bool frozen) {
  std::vector<Range> ranges;
  const auto edge = std::find_if(graph_.edges.begin(), graph_.edges.end(), [&](const Edge& e) { return e.name == name; });
  if (edge != graph_.edges.end()) {
    edge_frozen_[edge - graph_.edges.begin()] = frozen;
    ranges = {edge_ranges_[edge - graph_.edges.begin()]};
  } else {
    const int n = graph_.node_index(name, "frozen (a node or an edge)");
    frozen_[n] = frozen;
    ranges = node_ranges_[n];
  }
  // A frozen node's or edge's gradient is zero, and backward never writes it.
  for (const Range& range : ranges)
    std::fill(parameters_.grads().begin() + range.first, parameters_.grads().begin() + range.second, Scalar{0});
}

template <class Scalar>
void Network<Scalar>::set_intervention(int edge, EdgeIntervention<Scalar> intervention) {
  FBNET_ASSERT(edge >= 0 && edge < static_cast<int>(graph_.edges.size()), "set_intervention: no edge {}", edge);
  const Shape target = batched(1, graph_.nodes[graph_.edges[edge].target].shape);
  if (intervention.kind == InterventionKind::kMean) {
    FBNET_ASSERT(static_cast<int>(intervention.mean.size()) == graph_.steps, "set_intervention: {} means for {} steps",
                intervention.mean.size(), graph_.steps);
    for (int step = 1; step < graph_.steps; ++step) {
      FBNET_ASSERT(intervention.mean[step].shape == target, "set_intervention: the mean of step {} has shape {}, expected {}",
                  step, shape_string(intervention.mean[step].shape), shape_string(target));
      if (layouts_[graph_.edges[edge].target] == ActivationLayout::kChannelBlocks)  // combined in the target's layout
        intervention.mean[step] = in_layout(intervention.mean[step], ActivationLayout::kPlain, ActivationLayout::kChannelBlocks);
    }
  }
  interventions_[edge] = std::move(intervention);
}

template <class Scalar>
Tensor<Scalar> Network<Scalar>::as_plain(const Tensor<Scalar>& tensor, int node) const {
  return in_layout(tensor, layouts_[node], ActivationLayout::kPlain);
}

template <class Scalar>
Tensor<Scalar> Network<Scalar>::value(int step, const std::string& node) const {
  const int n = graph_.node_index(node, "value");
  FBNET_ASSERT(has_forward_ && step >= 0 && step < graph_.steps && schedule_.computed[step][n],
              "value: '{}' was not computed at step {}", node, step);
  return as_plain(*states_[step][n].value, n);
}

template <class Scalar>
Tensor<Scalar> Network<Scalar>::feedback_signal(int step, int edge) const {
  const Edge& e = graph_.edges.at(edge);
  Tensor<Scalar> signal(batched(batch_, graph_.nodes[e.target].shape));
  if (step == 0) return signal;  // nothing has fired yet: fb = 0
  FBNET_ASSERT(has_forward_ && schedule_.computed[step - 1][e.source], "feedback_signal: '{}' was not computed at step {}",
              graph_.nodes[e.source].name, step - 1);
  adapters_[edge]->forward(*states_[step - 1][e.source].value, signal, Mode::kEval, nullptr, step);  // target's layout
  return as_plain(signal, e.target);
}

template <class Scalar>
const Tensor<Scalar>& Network<Scalar>::dropout_mask(int step, const std::string& node) const {
  const int n = graph_.node_index(node, "dropout_mask");
  FBNET_ASSERT(graph_.nodes[n].op == OpKind::kDropout, "dropout_mask: node '{}' is {}, not dropout", node,
              to_string(graph_.nodes[n].op));
  FBNET_ASSERT(has_forward_ && last_mode_ == Mode::kTrain && schedule_.computed[step][n],
              "dropout_mask: '{}' did not run in training at step {}", node, step);
  return static_cast<const DropoutOp<Scalar>&>(op_at(step, n)).mask(step);
}

template <class Scalar>
const Tensor<Scalar>& Network<Scalar>::logits(int readout_index) const {
  FBNET_ASSERT(has_forward_, "logits: no forward yet");
  return *states_[schedule_.readout_steps.at(readout_index)][graph_.readout_node].value;
}

template <class Scalar>
LossAndCorrect Network<Scalar>::loss(std::span<const int32_t* const> labels) {
  FBNET_ASSERT(static_cast<int>(labels.size()) == readout_count(), "loss: expected labels for {} readout steps, got {}",
              readout_count(), labels.size());
  const int64_t classes = graph_.nodes[graph_.readout_node].shape[0];
  // Mean over the batch and over readout steps.
  const Scalar grad_scale = static_cast<Scalar>(1.0 / (static_cast<double>(batch_) * readout_count()));
  LossAndCorrect total;
  for (int k = 0; k < readout_count(); ++k) {
    const Tensor<Scalar>& step_logits = logits(k);
    for (int64_t b = 0; b < batch_; ++b)
      FBNET_CHECK(labels[k][b] >= 0 && labels[k][b] < classes, "loss: label {} outside 0..{}", labels[k][b], classes - 1);
    logit_grads_[k].resize(step_logits.shape);
    const LossAndCorrect step = log_softmax_nll<Scalar>(view(step_logits), labels[k], view(logit_grads_[k]), grad_scale);
    total.loss_sum += step.loss_sum;
    total.correct += step.correct;
  }
  total.loss_sum /= readout_count();
  return total;
}

template <class Scalar>
Tensor<Scalar>& Network<Scalar>::consumed_grad(int step, int node, bool& accumulate) {
  NodeState& state = states_[step][node];
  const bool combined = state.consumed != state.value;
  Tensor<Scalar>& grad = combined ? state.combined_grad : state.value_grad;
  bool& written = combined ? state.combined_grad_written : state.value_grad_written;
  accumulate = std::exchange(written, true);
  if (!accumulate) grad.resize(state.consumed->shape);
  return grad;
}

template <class Scalar>
void Network<Scalar>::backward(const GradientsReady& on_ready) {
  FBNET_ASSERT(has_forward_ && last_mode_ == Mode::kTrain, "backward: the last forward was not a training forward");
  for (auto& step_states : states_)
    for (NodeState& state : step_states) state.value_grad_written = state.combined_grad_written = false;
  for (int k = 0; k < readout_count(); ++k) {
    NodeState& readout = states_[schedule_.readout_steps[k]][graph_.readout_node];
    readout.value_grad.resize(logit_grads_[k].shape);
    readout.value_grad.values = logit_grads_[k].values;
    readout.value_grad_written = true;
  }
  node_grad_written_.resize(graph_.nodes.size());
  for (size_t n = 0; n < graph_.nodes.size(); ++n) node_grad_written_[n].assign(node_ranges_[n].size(), 0);
  edge_grad_written_.assign(graph_.edges.size(), 0);
  for (int step = graph_.steps - 1; step >= 0; --step) {
    const std::vector<int>& order = schedule_.nodes_at[step];
    for (auto it = order.rbegin(); it != order.rend(); ++it) backward_node(step, *it, on_ready);
  }
  // A parameter the backward pass never reached has gradient zero; report
  // every range that was not reported as it became final.
  auto settle = [&](const Range& range, char written) {
    if (range.first == range.second || written == 2) return;
    if (written == 0) std::fill(parameters_.grads().begin() + range.first, parameters_.grads().begin() + range.second, Scalar{0});
    if (on_ready) on_ready(range.first, range.second);
  };
  for (size_t n = 0; n < graph_.nodes.size(); ++n)
    for (size_t set = 0; set < node_ranges_[n].size() && !frozen_[n]; ++set)
      settle(node_ranges_[n][set], node_grad_written_[n][set]);
  for (size_t e = 0; e < graph_.edges.size(); ++e)
    if (!edge_frozen_[e]) settle(edge_ranges_[e], edge_grad_written_[e]);
}

// One node at one step: first the edges that combined into it (from dL/du to
// their parameters, to dL/dv_source(t-1) and to dL/dv), then its op (from
// dL/dv to its parameters and to dL/du of its input). Every gradient here is
// [B, shape of its node]: d_combined and value_grad this node's, d_source the
// edge source's, d_input the input node's.
template <class Scalar>
void Network<Scalar>::backward_node(int step, int n, const GradientsReady& on_ready) {
  const Node& node = graph_.nodes[n];
  NodeState& state = states_[step][n];
  // Parameter-gradient flags: 0 unwritten, 1 written, 2 final and reported.
  auto report_if_final = [&](char& written, bool final_step, const Range& range) {
    if (!final_step) return;
    written = 2;
    if (on_ready) on_ready(range.first, range.second);
  };
  if (state.consumed != state.value && state.combined_grad_written) {
    Tensor<Scalar>& d_combined = state.combined_grad;
    const std::vector<int>& edges = schedule_.edges_into[n];
    for (auto it = edges.rbegin(); it != edges.rend(); ++it) {
      const int e = *it;
      const Edge& edge = graph_.edges[e];
      if (step > 0) {
        NodeState& source = states_[step - 1][edge.source];
        Tensor<Scalar>* d_source = nullptr;
        bool accumulate_source = false;
        if (graph_.nodes[edge.source].op != OpKind::kInput) {
          accumulate_source = std::exchange(source.value_grad_written, true);
          if (!accumulate_source) source.value_grad.resize(source.value->shape);
          d_source = &source.value_grad;
        }
        const bool edge_trains = !edge_frozen_[e];  // a frozen edge still passes gradient to its source
        // u = base (1 + alpha fb): dL/d(alpha fb) = dL/du * base.
        const Tensor<Scalar>* d_signal = &d_combined;
        if (edge.combine == FeedbackCombine::kGain) {
          const GainState& gain = gain_states_[step][e];
          gain_grad_.resize(d_combined.shape);
          parallel_for(d_combined.size(), [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) gain_grad_.values[i] = d_combined.values[i] * gain.base.values[i];
          });
          d_signal = &gain_grad_;
        }
        adapters_[e]->backward_add(*source.value, *d_signal, d_source, static_cast<Scalar>(edge.alpha),
                                   accumulate_source, edge_trains, edge_grad_written_[e] != 0);
        if (edge_trains) {
          edge_grad_written_[e] = 1;
          report_if_final(edge_grad_written_[e], step == schedule_.edge_signal_steps[e], edge_ranges_[e]);
        }
      }
      if (edge.combine == FeedbackCombine::kGain) {
        if (step > 0) {  // at step 0 fb = 0 left u as it was
          const GainState& gain = gain_states_[step][e];
          const Scalar alpha = static_cast<Scalar>(edge.alpha);
          parallel_for(d_combined.size(), [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) d_combined.values[i] *= Scalar{1} + alpha * gain.signal.values[i];
          });
        }
        continue;
      }
      const Scalar keep = static_cast<Scalar>(edge.keep());
      if (keep != Scalar{1}) scale_values(d_combined, keep);
    }
    if (node.op != OpKind::kInput) {
      if (std::exchange(state.value_grad_written, true)) {
        parallel_for(d_combined.size(), [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) state.value_grad.values[i] += d_combined.values[i];
        });
      } else {
        // d_combined is not read again this pass: its buffer becomes value_grad's, without a copy. The next pass
        // resets combined_grad_written, so consumed_grad rewrites it (accumulate = false) before any read.
        std::swap(state.value_grad, d_combined);
      }
    }
  }
  if (node.op == OpKind::kInput || !state.value_grad_written) return;
  const int in = node.inputs[0];
  bool accumulate_input = false;
  Tensor<Scalar>* d_input = schedule_.needs_grad(step, in) ? &consumed_grad(step, in, accumulate_input) : nullptr;
  Op<Scalar>& op = op_at(step, n);
  if (op.is_identity(Mode::kTrain)) {
    if (d_input == nullptr) return;
    parallel_for(d_input->size(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        d_input->values[i] = (accumulate_input ? d_input->values[i] : Scalar{0}) + state.value_grad.values[i];
    });
    return;
  }
  const int set = graph_.weight_set_at(step, n);
  const Range& range = node_ranges_[n][set];
  char& written = node_grad_written_[n][set];
  const bool train_parameters = range.first != range.second && !frozen_[n];
  op.backward(*states_[step][in].consumed, *state.value, state.value_grad, d_input, accumulate_input, train_parameters,
              train_parameters && written != 0, step);
  if (!train_parameters) return;
  written = 1;
  // Backward runs the steps downwards: a shared set is final at its node's
  // first step, an untied one at its own step.
  report_if_final(written, graph_.nodes[n].untied || step == schedule_.node_first_step[n], range);
}

template class Network<float>;
template class Network<double>;

}  // namespace fbnet
