// Network: executes a Graph, unrolled over its steps, and trains it by
// backpropagation through those steps. Weights are shared across steps, so
// their gradients sum over steps (an untied node has one set per step).
//
// Per step t, for each node n the schedule computes (topological order):
//   v_n(t) = input_n(t)                     (input node: the caller's [B, shape])
//          | op_n(u_in(t))                  (op node, of its input's combined value)
//   u_n(t) = v_n(t)                         when no edge combines into n at t, else, edge by edge,
//   u_n   <- keep_e u_n + alpha_e fb_e,  fb_e = adapter_e(v_s(t-1))   (fb = 0 at t = 0)
//   u_n   <- u_n (1 + alpha_e fb_e)                                    (gain edges)
// with keep_e = 1 - alpha_e (mix) or 1 (add). The loss is the mean NLL of the
// log-softmax of the readout node's value, averaged over readout steps.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/random.hpp"
#include "engine/tensor.hpp"
#include "model/activation_layouts.hpp"
#include "model/architecture.hpp"
#include "model/graph.hpp"
#include "model/kernels/log_softmax_nll.hpp"
#include "model/intervention.hpp"
#include "model/model.hpp"
#include "model/ops/op.hpp"
#include "model/parameters.hpp"

namespace fbnet {

template <class Scalar>
class Network final : public Model<Scalar> {
 public:
  using typename Model<Scalar>::GradientsReady;

  // The report's family of nets (graph_of); architecture() stays available.
  explicit Network(Architecture architecture);
  explicit Network(Graph graph);
  // The schedule points at graph_: a copied or moved Network would point at
  // another's graph, so it stays where it was built (hold it by unique_ptr).
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // The description a net of the report's family was built from; a net built
  // from a bare Graph has none, and asking for it is a bug.
  const Architecture& architecture() const {
    FBNET_ASSERT(architecture_.has_value(), "Network::architecture: built from a graph, not an Architecture");
    return *architecture_;
  }
  const Graph& graph() const { return graph_; }
  const Schedule& schedule() const { return schedule_; }
  ParameterStore<Scalar>& parameters() override { return parameters_; }
  const ParameterStore<Scalar>& parameters() const override { return parameters_; }
  int steps() const override { return graph_.steps; }
  int readout_count() const override { return static_cast<int>(schedule_.readout_steps.size()); }

  // PyTorch's default for every op and adapter, drawn from Rng(seed,
  // kInitStream) in parameter order.
  void initialize(uint64_t seed) override;

  // inputs: one [B, shape] tensor per step for the graph's single input node
  // (the same pointer at every step for a static image). `dropout_rng` is
  // needed in Mode::kTrain only.
  void forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng) override;
  // The same for any number of input nodes: inputs[k][step] feeds the k-th
  // input node (graph().input_nodes() order).
  void forward(std::span<const std::vector<const Tensor<Scalar>*>> inputs, Mode mode, Rng* dropout_rng);
  // Logits [B, classes] of the k-th readout step of the last forward.
  const Tensor<Scalar>& logits(int readout_index) const override;
  LossAndCorrect loss(std::span<const int32_t* const> labels) override;
  void backward(const GradientsReady& on_ready = nullptr) override;

  // A frozen node or edge (by name) keeps its weights: backward computes no
  // gradient for it (its gradient stays zero) and never reports its range as
  // ready, while gradients still flow through it to the nodes and edges below.
  // Experiment 2 freezes the feedforward layers copied from an experiment-1
  // net; the fb-fixed control freezes the feedback edge at its initial values.
  void set_frozen(const std::string& name, bool frozen);

  // Replaces what edge `edge` combines in the evaluation forwards that follow
  // (model/intervention.hpp); kind kNone restores the edge.
  void set_intervention(int edge, EdgeIntervention<Scalar> intervention);

  // The value of `node` (name or alias) at `step` of the last forward, before
  // incoming edges combined: what its outgoing edges send. [B, shape], plain
  // (a copy: the network may hold it in channel blocks).
  Tensor<Scalar> value(int step, const std::string& node) const;
  // How each node's values lie inside the network (activation_layouts.hpp):
  // chosen at construction from the convolution engine then in use
  // (choose_activation_layouts).
  const std::vector<ActivationLayout>& layouts() const { return layouts_; }
  // What edge `edge` sends into its target at `step` of the last forward,
  // before alpha and without any intervention: W v_source(step - 1) + b, zero
  // at step 0. [B, target shape]
  Tensor<Scalar> feedback_signal(int step, int edge) const;
  // The mask [B, shape] of dropout node `node` (name or alias) at `step` in
  // the last training forward: 0 or 1 / (1 - p); tests replay it in PyTorch.
  const Tensor<Scalar>& dropout_mask(int step, const std::string& node) const;

 private:
  struct NodeState;
  void bind_parameters();
  void backward_node(int step, int node, const GradientsReady& on_ready);
  // dL/d(the value consumers of `node` read at `step`), and whether it has
  // been written in this backward (later writers add).
  Tensor<Scalar>& consumed_grad(int step, int node, bool& accumulate);
  // The value edge `edge` reads at `step` (its source's at step - 1), or its rows swapped by an intervention.
  const Tensor<Scalar>& edge_source(int step, int edge);
  // combined <- combined (1 + alpha fb) for gain edge `edge`, keeping both factors for backward.
  void combine_gain(int step, int edge, Tensor<Scalar>& combined);

  // A copy of `tensor` [B, shape of node] in plain NCHW (moved out of channel blocks where the node holds them).
  Tensor<Scalar> as_plain(const Tensor<Scalar>& tensor, int node) const;

  std::optional<Architecture> architecture_;
  Graph graph_;
  Schedule schedule_;
  std::vector<ActivationLayout> layouts_;  // [node]
  ParameterStore<Scalar> parameters_;
  using Range = std::pair<int64_t, int64_t>;  // parameter range [first, last); empty when none
  // The op of `node` at `step`: its one instance, or (untied) the step's own.
  Op<Scalar>& op_at(int step, int node) const { return *ops_[node][graph_.weight_set_at(step, node)]; }
  std::vector<std::vector<std::unique_ptr<Op<Scalar>>>> ops_;  // [node][weight set], none for input nodes
  std::vector<std::unique_ptr<Adapter<Scalar>>> adapters_;     // [edge]
  std::vector<std::vector<Range>> node_ranges_;                // [node][weight set]
  std::vector<Range> edge_ranges_;                             // [edge]
  std::vector<char> frozen_, edge_frozen_;                              // [node], [edge]
  std::vector<EdgeIntervention<Scalar>> interventions_;                // [edge]
  Tensor<Scalar> swapped_source_;  // [B, source shape]: a swapped edge's source rows, gathered by partner

  // Caches of the last forward and buffers of backward, [step][node].
  struct NodeState {
    const Tensor<Scalar>* value = nullptr;     // the op's output, the input, or (identity op) its input's
    const Tensor<Scalar>* consumed = nullptr;  // value, or `combined` when edges combined into it
    Tensor<Scalar> output, combined;
    Tensor<Scalar> value_grad, combined_grad;  // dL/dvalue, dL/dcombined
    bool value_grad_written = false, combined_grad_written = false;
  };
  std::vector<std::vector<NodeState>> states_;
  // A gain edge's factors at each step: u before it (`base`) and fb (`signal`), [B, target shape].
  struct GainState {
    Tensor<Scalar> base, signal;
  };
  std::vector<std::vector<GainState>> gain_states_;  // [step][edge], used by gain edges only
  Tensor<Scalar> gain_grad_;                          // dL/du * base, the adapter's upstream gradient
  int64_t batch_ = 0;
  Mode last_mode_ = Mode::kEval;
  bool has_forward_ = false;
  std::vector<Tensor<Scalar>> logit_grads_;  // [readout]
  // Whether a weight set's (edge's) parameter gradient has had its first
  // contribution in the running backward; later ones accumulate.
  std::vector<std::vector<char>> node_grad_written_;  // [node][weight set]
  std::vector<char> edge_grad_written_;               // [edge]
};

// The (name, shape, offset) layout of a graph's parameters, without
// allocating them: each op's, in node order, then each edge adapter's.
std::vector<ParameterInfo> parameter_layout(const Graph& graph);
std::vector<ParameterInfo> parameter_layout(const Architecture& architecture);

}  // namespace fbnet
