// Graph: a model as named nodes and recurrent edges, unrolled over steps, and
// the schedule of what runs at which step. Network executes it; `info`, the
// FLOP count and the PyTorch parity tests read the same description, so the
// layer list is written down once.
//
// Nodes, in topological order, each with a per-sample output shape (no batch
// dimension):
//   input nodes  one tensor per step from the caller ("x": the image)
//   op nodes     an op (Linear, ReLU, Dropout) of earlier nodes at the same step
// A node's weights are shared by all steps unless it is `untied`.
// Edges carry a source node's value from step t-1 through an adapter of their
// own into a target node at step t, where they combine with what the target
// computed:
//   mix:  v = (1 - alpha) v + alpha fb    add:  v = v + alpha fb    gain:  v = v (1 + alpha fb)
// The adapter follows from the two shapes (make_adapter): between spatial
// nodes [C, H, W] a convolution with `kernel` (odd, padded to keep the size),
// behind nearest upsampling when the target is larger (top-down); otherwise a
// Linear on the flattened values.
// Edges into one target combine in declaration order. The target's consumers
// at step t read the combined value; edges leaving a node read it before its
// own incoming edges combined (h1's ReLU output, not h1 mixed with h2's signal).
//
// The report's nets are descriptions built by graph_of(Architecture): for
// hidden sizes [H1..HN] and C classes,
//   x [784] -> layers.0 Linear -> h1 ReLU -> ... -> hN ReLU -> dropout -> layers.N Linear (= out) [C]
// with edges "feedback.e" from h_s to x or h_t; parameter names follow
// ("layers.0.weight", "feedback.0.bias"), so checkpoints keep their tensor names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.hpp"
#include "model/architecture.hpp"

namespace fbnet {

enum class OpKind {
  kInput,    // no op: the caller's tensor for this step
  kLinear,   // y = x W^T + b, W [out, in] (PyTorch's layout); parameters NAME.weight, NAME.bias
  kRelu,     // y = max(x, 0)
  kDropout,  // inverted dropout with probability `dropout`, in training only
  kConv2d,   // [C, H, W] -> [OC, OH, OW] with `kernel`, `stride`, `padding`; OC = shape[0]; NAME.weight, NAME.bias
  kMaxPool2d,  // [C, H, W] -> [C, OH, OW], window `kernel`, `stride`
  kFlatten,  // [C, H, W] -> [C*H*W]
};

struct Node {
  std::string name;
  OpKind op = OpKind::kInput;
  std::vector<int> inputs;  // producers at the same step (earlier nodes); none for an input node
  Shape shape;              // per-sample output shape, e.g. {500}
  double dropout = 0;       // kDropout only
  std::string alias;        // a second name ("out" for the readout), or ""
  // Weights of its own at each step instead of one set shared by all steps
  // (an op with weights that runs at every step): parameters NAME.* at step 0,
  // NAME.stepT.* at step T. The fb-untied control unties FB's first layer.
  bool untied = false;
  // kConv2d and kMaxPool2d: the window, its step and (conv only) the zero
  // padding on each side; 0 elsewhere.
  int64_t kernel = 0, stride = 0, padding = 0;
};

enum class AdapterKind {
  kLinear,  // NAME.weight [target size, source size], NAME.bias
  kConv,    // NAME.weight [target C, source C, kernel, kernel], NAME.bias; upsampling first when the target is larger
};

struct Edge {
  std::string name;
  int source = 0;  // node whose value at step t-1 is sent
  int target = 0;  // node it combines into at step t
  FeedbackCombine combine = FeedbackCombine::kMix;
  double alpha = 0.3;
  int64_t kernel = 3;  // a conv adapter's
  // Weight on the target's own value when this edge combines: 1 - alpha (mix), or 1 (add; gain scales it otherwise).
  double keep() const { return combine == FeedbackCombine::kMix ? 1.0 - alpha : 1.0; }
};

struct Graph {
  std::vector<Node> nodes;  // topological order
  std::vector<Edge> edges;
  int readout_node = 0;  // its value at readout steps goes to log-softmax + NLL
  int steps = 1;
  Readout readout_steps = Readout::kLastStep;
  FirstStepFeedback first_step_feedback = FirstStepFeedback::kNone;

  // Appends a node reading the named (earlier) nodes; returns its index.
  int add_node(std::string name, OpKind op, const std::vector<std::string>& inputs, Shape shape, double dropout = 0);
  // Appends an edge between named nodes.
  void add_edge(std::string name, const std::string& source, const std::string& target, FeedbackCombine combine,
                double alpha);
  // Index of the node named (or aliased) `name`; throws fbnet::Error naming `what`.
  int node_index(const std::string& name, const std::string& what = "node") const;
  std::vector<int> input_nodes() const;
  // Sets of weights of node `node`: one, or one per step when untied.
  int weight_sets(int node) const { return nodes[node].untied ? steps : 1; }
  // The set used at `step`, and its parameters' prefix: NAME, or NAME.stepT for T >= 1.
  int weight_set_at(int step, int node) const { return nodes[node].untied ? step : 0; }
  std::string weights_name(int node, int set) const;
  // Throws fbnet::Error naming the offending node or edge.
  void validate() const;
};

// The report's family of nets as a graph (see the header comment), or the
// architecture's own graph when it has one.
Graph graph_of(const Architecture& architecture);

// What runs at which step, shared by forward, backward, the FLOP count and
// `info`. At a readout step everything the readout depends on runs; at every
// step but the last, everything the edge sources depend on (the next step
// needs their values).
struct Schedule {
  std::vector<std::vector<int>> nodes_at;      // [step] -> nodes computed, in topological order
  std::vector<std::vector<char>> computed;     // [step][node]
  std::vector<int> readout_steps;              // steps whose readout enters the loss
  std::vector<std::vector<int>> edges_into;    // [node] -> edges targeting it, in declaration order
  std::vector<int> edge_signal_steps;          // [edge] -> lowest step it carries a signal (-1: never)
  std::vector<int> node_first_step;            // [node] -> lowest step it is computed (-1: never)
  const Graph* graph = nullptr;

  // Whether edges combine into `node` at `step`: a real signal from step > 0,
  // a zero one at step 0 under FirstStepFeedback::kZero.
  bool combines_at(int step, int node) const;
  // Whether dL/d(the value consumers of `node` read at `step`) is needed:
  // always for op nodes (gradients flow down to any parameter below), for an
  // input node only when edges with a signal combine into it.
  bool needs_grad(int step, int node) const;
};
Schedule schedule_of(const Graph& graph);

// Trainable parameters of the graph's ops and edges.
int64_t parameter_count(const Graph& graph);
// Multiply-adds x 2 of all matrix products for one sample: the forward pass
// (inference), or forward plus backward (a training step), where the nodes
// and edges named in `frozen` compute no weight gradient.
int64_t matmul_flops_per_sample(const Graph& graph, bool training, const std::vector<std::string>& frozen = {});
// Values one sample keeps over a forward for backward: every computed node's
// output at every step, its combined value where edges combine into it, and
// each gain edge's two factors.
// (Identity ops share their input's and count anyway: an upper bound.)
int64_t activation_values_per_sample(const Graph& graph);
// One line per node and edge, with shapes and parameter counts, then the schedule.
std::string describe(const Graph& graph);

// The adapter of `edge`, from its source's and target's shapes.
AdapterKind adapter_kind(const Graph& graph, const Edge& edge);

const char* to_string(OpKind kind);
const char* to_string(AdapterKind kind);
AdapterKind parse_adapter_kind(const std::string& text, const std::string& what);
// Throws fbnet::Error naming `what` and the spellings of every op.
OpKind parse_op_kind(const std::string& text, const std::string& what);

// Bounds far above any net fbnet trains, so that a description from a file
// cannot ask for absurd allocations or overflow the counts.
inline constexpr int kMaxSteps = 100000;
inline constexpr int64_t kMaxWidth = int64_t{1} << 20;

}  // namespace fbnet
