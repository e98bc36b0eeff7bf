// Graph validation, the report's nets as graphs, the schedule, and the
// descriptions derived from them (parameter and FLOP counts, text).
#include "model/graph.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "engine/enum_names.hpp"
#include "engine/error.hpp"
#include "model/ops/op.hpp"

namespace fbnet {
namespace {

constexpr EnumName<OpKind> kOpNames[] = {{OpKind::kInput, "input"},   {OpKind::kLinear, "linear"},
                                         {OpKind::kRelu, "relu"},     {OpKind::kDropout, "dropout"},
                                         {OpKind::kConv2d, "conv2d"}, {OpKind::kMaxPool2d, "max-pool2d"},
                                         {OpKind::kFlatten, "flatten"}};
constexpr EnumName<AdapterKind> kAdapterNames[] = {{AdapterKind::kLinear, "linear"}, {AdapterKind::kConv, "conv"}};

// Nodes the values of `roots` depend on at the same step, `roots` included.
std::vector<char> ancestors(const Graph& graph, const std::vector<int>& roots) {
  std::vector<char> needed(graph.nodes.size(), 0);
  for (int root : roots) needed[root] = 1;
  for (int n = static_cast<int>(graph.nodes.size()) - 1; n >= 0; --n)
    if (needed[n])
      for (int input : graph.nodes[n].inputs) needed[input] = 1;
  return needed;
}

int64_t parameters_of(const Op<float>& op) {
  int64_t count = 0;
  for (const auto& [name, shape] : op.parameter_shapes()) count += element_count(shape);
  return count;
}

std::string node_label(const Node& node) {
  return node.alias.empty() ? node.name : fmt::format("{} ({})", node.name, node.alias);
}

}  // namespace

const char* to_string(OpKind kind) { return enum_name(kOpNames, kind); }
OpKind parse_op_kind(const std::string& text, const std::string& what) { return parse_enum(kOpNames, what, text); }
const char* to_string(AdapterKind kind) { return enum_name(kAdapterNames, kind); }
AdapterKind parse_adapter_kind(const std::string& text, const std::string& what) {
  return parse_enum(kAdapterNames, what, text);
}

AdapterKind adapter_kind(const Graph& graph, const Edge& edge) {
  const bool spatial = graph.nodes.at(edge.source).shape.size() == 3 && graph.nodes.at(edge.target).shape.size() == 3;
  return spatial ? AdapterKind::kConv : AdapterKind::kLinear;
}

int Graph::node_index(const std::string& name, const std::string& what) const {
  for (size_t n = 0; n < nodes.size(); ++n)
    if (nodes[n].name == name || (!nodes[n].alias.empty() && nodes[n].alias == name)) return static_cast<int>(n);
  std::string known;
  for (const Node& node : nodes) known += (known.empty() ? "" : ", ") + node_label(node);
  fail("{}: no node named '{}'; the graph has {}", what, name, known);
}

int Graph::add_node(std::string name, OpKind op, const std::vector<std::string>& inputs, Shape shape, double dropout) {
  Node node;
  node.name = std::move(name);
  node.op = op;
  node.shape = std::move(shape);
  node.dropout = dropout;
  for (const std::string& input : inputs) node.inputs.push_back(node_index(input, fmt::format("node '{}'", node.name)));
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

void Graph::add_edge(std::string name, const std::string& source, const std::string& target, FeedbackCombine combine,
                     double alpha) {
  const std::string what = fmt::format("edge '{}'", name);
  edges.push_back({std::move(name), node_index(source, what), node_index(target, what), combine, alpha});
}

std::string Graph::weights_name(int node, int set) const {
  return set == 0 ? nodes[node].name : fmt::format("{}.step{}", nodes[node].name, set);
}

std::vector<int> Graph::input_nodes() const {
  std::vector<int> inputs;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (nodes[n].op == OpKind::kInput) inputs.push_back(static_cast<int>(n));
  return inputs;
}

void Graph::validate() const {
  FBNET_CHECK(steps >= 1 && steps <= kMaxSteps, "graph: steps must be in 1..{}, got {}", kMaxSteps, steps);
  std::set<std::string> names;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const Node& node = nodes[n];
    FBNET_CHECK(!node.name.empty(), "graph: node {} has no name", n);
    FBNET_CHECK(names.insert(node.name).second, "graph: two nodes are named '{}'", node.name);
    FBNET_CHECK(node.alias.empty() || names.insert(node.alias).second, "graph: the alias '{}' of node '{}' is taken",
                node.alias, node.name);
    FBNET_CHECK(!node.shape.empty() && std::all_of(node.shape.begin(), node.shape.end(), [](int64_t d) { return d > 0; }),
                "graph: node '{}' has shape {}; every dimension must be positive", node.name, shape_string(node.shape));
    for (int input : node.inputs)
      FBNET_CHECK(input >= 0 && input < static_cast<int>(n), "graph: node '{}' reads node {}, which does not come before it",
                  node.name, input);
    if (node.op == OpKind::kInput) {
      FBNET_CHECK(node.inputs.empty(), "graph: input node '{}' cannot have inputs", node.name);
      continue;
    }
    FBNET_CHECK(node.inputs.size() == 1, "graph: node '{}' ({}) takes one input, got {}", node.name, to_string(node.op),
                node.inputs.size());
    const Shape& in = nodes[node.inputs[0]].shape;
    if (node.op == OpKind::kDropout)
      FBNET_CHECK(node.dropout >= 0.0 && node.dropout < 1.0, "graph: node '{}': dropout must be in [0, 1), got {}",
                  node.name, node.dropout);
    const Shape expected = make_op<float>(*this, static_cast<int>(n))->output_shape(in);  // and the op's own checks
    FBNET_CHECK(node.shape == expected, "graph: node '{}' ({} of {}) has shape {}, but the op gives {}", node.name,
                to_string(node.op), shape_string(in), shape_string(node.shape), shape_string(expected));
  }
  FBNET_CHECK(readout_node >= 0 && readout_node < static_cast<int>(nodes.size()),
              "graph: the readout node {} does not exist", readout_node);
  const Node& readout_of = nodes[readout_node];
  FBNET_CHECK(readout_of.op != OpKind::kInput && readout_of.shape.size() == 1 && readout_of.shape[0] >= 2,
              "graph: the readout '{}' must be an op node with a vector of at least 2 classes, got {}", readout_of.name,
              shape_string(readout_of.shape));
  std::set<std::string> edge_names;
  for (const Edge& edge : edges) {
    FBNET_CHECK(edge_names.insert(edge.name).second && !names.contains(edge.name),
                "graph: the edge name '{}' is taken", edge.name);
    FBNET_CHECK(edge.source >= 0 && edge.source < static_cast<int>(nodes.size()) && edge.target >= 0 &&
                    edge.target < static_cast<int>(nodes.size()),
                "graph: edge '{}' joins nodes {} -> {}, which do not exist", edge.name, edge.source, edge.target);
    FBNET_CHECK(edge.alpha >= 0.0 && edge.alpha <= 1.0, "graph: edge '{}': alpha must be in [0, 1], got {}", edge.name,
                edge.alpha);
    // The loss reads the readout's own value, and nothing consumes its combined one.
    FBNET_CHECK(edge.target != readout_node, "graph: edge '{}' targets the readout node '{}', where it would change "
                "nothing: the logits are that node's value before edges combine", edge.name, nodes[readout_node].name);
    make_adapter<float>(*this, static_cast<int>(&edge - edges.data()));
  }
  const Schedule schedule = schedule_of(*this);
  for (size_t e = 0; e < edges.size(); ++e)
    FBNET_CHECK(schedule.edge_signal_steps[e] >= 0, "graph: edge '{}' never carries a signal: its target '{}' does not "
                "run after step 0 of {}; raise steps", edges[e].name, nodes[edges[e].target].name, steps);
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (!nodes[n].untied) continue;
    FBNET_CHECK(nodes[n].op != OpKind::kInput && parameters_of(*make_op<float>(*this, static_cast<int>(n))) > 0,
                "graph: node '{}' is untied, but only an op with weights can have weights per step", nodes[n].name);
    for (int set = 1; set < steps; ++set) {
      const std::string name = weights_name(static_cast<int>(n), set);
      FBNET_CHECK(!names.contains(name) && !edge_names.contains(name),
                  "graph: the name '{}' is taken, but untied node '{}' names its weights of step {} so", name,
                  nodes[n].name, set);
    }
    for (int step = 0; step < steps; ++step)
      FBNET_CHECK(schedule.computed[step][n], "graph: node '{}' is untied but does not run at step {}; untied weights "
                  "are per step, for a node that runs at every step", nodes[n].name, step);
  }
}

Graph graph_of(const Architecture& arch) {
  if (arch.graph) return *arch.graph;
  Graph graph;
  graph.steps = arch.steps;
  graph.readout_steps = arch.readout;
  graph.first_step_feedback = arch.first_step_feedback;
  const int hidden_count = static_cast<int>(arch.hidden_sizes.size());
  std::string below = "x";
  graph.add_node(below, OpKind::kInput, {}, {arch.input_size});
  for (int layer = 0; layer <= hidden_count; ++layer) {
    if (layer == hidden_count && arch.dropout > 0) {
      graph.add_node("dropout", OpKind::kDropout, {below}, {arch.activation_size(layer)}, arch.dropout);
      below = "dropout";
    }
    const std::string linear = fmt::format("layers.{}", layer);
    graph.readout_node = graph.add_node(linear, OpKind::kLinear, {below}, {arch.layer_output_size(layer)});
    graph.nodes.back().untied = std::ranges::find(arch.untied_layers, layer) != arch.untied_layers.end();
    if (layer == hidden_count) break;
    below = activation_name(layer + 1, hidden_count);
    graph.add_node(below, OpKind::kRelu, {linear}, {arch.layer_output_size(layer)});
  }
  graph.nodes[graph.readout_node].alias = "out";
  for (size_t e = 0; e < arch.feedback.size(); ++e)
    graph.add_edge(fmt::format("feedback.{}", e), activation_name(arch.feedback[e].source, hidden_count),
                   activation_name(arch.feedback[e].target, hidden_count), arch.feedback_combine, arch.feedback_alpha);
  return graph;
}

bool Schedule::combines_at(int step, int node) const {
  return !edges_into[node].empty() && computed[step][node] &&
         (step > 0 || graph->first_step_feedback == FirstStepFeedback::kZero);
}

bool Schedule::needs_grad(int step, int node) const {
  return graph->nodes[node].op != OpKind::kInput || (step > 0 && combines_at(step, node));
}

Schedule schedule_of(const Graph& graph) {
  Schedule schedule;
  schedule.graph = &graph;
  const int node_count = static_cast<int>(graph.nodes.size());
  std::vector<int> sources;
  for (const Edge& edge : graph.edges) sources.push_back(edge.source);
  const std::vector<char> for_readout = ancestors(graph, {graph.readout_node});
  const std::vector<char> for_edges = ancestors(graph, sources);
  schedule.node_first_step.assign(node_count, -1);
  for (int step = 0; step < graph.steps; ++step) {
    const bool is_readout = graph.readout_steps == Readout::kEveryStep || step == graph.steps - 1;
    if (is_readout) schedule.readout_steps.push_back(step);
    std::vector<char>& computed = schedule.computed.emplace_back(node_count, 0);
    std::vector<int>& order = schedule.nodes_at.emplace_back();
    for (int n = 0; n < node_count; ++n) {
      computed[n] = (is_readout && for_readout[n]) || (step + 1 < graph.steps && for_edges[n]);
      if (!computed[n]) continue;
      order.push_back(n);
      if (schedule.node_first_step[n] < 0) schedule.node_first_step[n] = step;
    }
  }
  schedule.edges_into.resize(node_count);
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    const Edge& edge = graph.edges[e];
    schedule.edges_into[edge.target].push_back(static_cast<int>(e));
    int signal_step = -1;
    for (int step = 1; step < graph.steps && signal_step < 0; ++step)
      if (schedule.computed[step][edge.target]) signal_step = step;
    schedule.edge_signal_steps.push_back(signal_step);
  }
  return schedule;
}

int64_t parameter_count(const Graph& graph) {
  int64_t count = 0;
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (graph.nodes[n].op != OpKind::kInput)
      count += parameters_of(*make_op<float>(graph, static_cast<int>(n))) * graph.weight_sets(static_cast<int>(n));
  for (size_t e = 0; e < graph.edges.size(); ++e) count += parameters_of(*make_adapter<float>(graph, static_cast<int>(e)));
  return count;
}

int64_t matmul_flops_per_sample(const Graph& graph, bool training, const std::vector<std::string>& frozen) {
  // Follows Network::forward and Network::backward product by product.
  const Schedule schedule = schedule_of(graph);
  auto trains = [&](const std::string& name) { return std::find(frozen.begin(), frozen.end(), name) == frozen.end(); };
  int64_t flops = 0;
  for (int step = 0; step < graph.steps; ++step) {
    for (int n : schedule.nodes_at[step]) {
      const Node& node = graph.nodes[n];
      if (node.op == OpKind::kInput) continue;
      const auto op = make_op<float>(graph, n);
      const MatmulFlops f = op->matmul_flops();
      flops += f.forward;
      if (!training) continue;
      if (!op->parameter_shapes().empty() && trains(node.name)) flops += f.parameter_grad;
      if (schedule.needs_grad(step, node.inputs[0])) flops += f.input_grad;
    }
    if (step == 0) continue;
    for (size_t e = 0; e < graph.edges.size(); ++e) {
      const Edge& edge = graph.edges[e];
      if (!schedule.computed[step][edge.target]) continue;
      const MatmulFlops f = make_adapter<float>(graph, static_cast<int>(e))->matmul_flops();
      flops += f.forward;
      if (training)
        flops += (trains(edge.name) ? f.parameter_grad : 0) +
                 (graph.nodes[edge.source].op != OpKind::kInput ? f.input_grad : 0);
    }
  }
  return flops;
}

int64_t activation_values_per_sample(const Graph& graph) {
  const Schedule schedule = schedule_of(graph);
  int64_t values = 0;
  for (int step = 0; step < graph.steps; ++step)
    for (int n : schedule.nodes_at[step]) {
      values += element_count(graph.nodes[n].shape) * (schedule.combines_at(step, n) ? 2 : 1);
      if (step == 0 || !schedule.combines_at(step, n)) continue;
      for (int e : schedule.edges_into[n])  // a gain edge keeps u before it and fb
        if (graph.edges[e].combine == FeedbackCombine::kGain) values += 2 * element_count(graph.nodes[n].shape);
    }
  return values;
}

std::string describe(const Graph& graph) {
  std::string text;
  auto params = [](const Op<float>& op) {
    const int64_t count = parameters_of(op);
    return count > 0 ? fmt::format("  params {}", count) : std::string();
  };
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (node.op == OpKind::kInput) {
      text += fmt::format("  {}: input {}\n", node_label(node), shape_string(node.shape));
      continue;
    }
    const auto op = make_op<float>(graph, static_cast<int>(n));
    text += fmt::format("  {}: {} of {} -> {}{}{}{}\n", node_label(node), op->describe(), graph.nodes[node.inputs[0]].name,
                        shape_string(node.shape), params(*op),
                        node.untied ? fmt::format(" at each of {} steps (untied)", graph.steps) : "",
                        static_cast<int>(n) == graph.readout_node ? "  -> log-softmax readout" : "");
  }
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    const Edge& edge = graph.edges[e];
    const auto adapter = make_adapter<float>(graph, static_cast<int>(e));
    text += fmt::format("  {}: {} (step t-1) -> {} (step t)  {}, {} alpha {}{}\n", edge.name,
                        graph.nodes[edge.source].name, graph.nodes[edge.target].name, adapter->describe(),
                        to_string(edge.combine), edge.alpha, params(*adapter));
  }
  text += fmt::format("  steps {}, readout {}, first-step feedback {}\n", graph.steps, to_string(graph.readout_steps),
                      to_string(graph.first_step_feedback));
  const Schedule schedule = schedule_of(graph);
  std::string runs;
  for (int step = 0; step < graph.steps; ++step) {
    std::string names;
    for (int n : schedule.nodes_at[step]) names += (names.empty() ? "" : " ") + graph.nodes[n].name;
    if (schedule.nodes_at[step].size() == graph.nodes.size()) names = "all";
    runs += fmt::format("{}step {}: {}", runs.empty() ? "" : "; ", step, names);
  }
  text += fmt::format("  schedule: {}\n", runs);
  return text;
}

}  // namespace fbnet
