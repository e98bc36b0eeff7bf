// The layouts of a graph's nodes: candidates first, then every candidate that
// some reader of it cannot take in blocks is dropped, until none is.
#include "model/activation_layouts.hpp"

#include <algorithm>

namespace fbnet {
namespace {

// Ops that take channel blocks and give their input's layout.
bool keeps_layout(OpKind op) { return op == OpKind::kRelu || op == OpKind::kMaxPool2d; }

}  // namespace

std::vector<ActivationLayout> choose_activation_layouts(const Graph& graph, bool channel_blocks) {
  const int nodes = static_cast<int>(graph.nodes.size());
  std::vector<char> blocked(nodes, 0);
  if (channel_blocks)
    for (int n = 0; n < nodes; ++n) {
      const Node& node = graph.nodes[n];
      blocked[n] = (node.op == OpKind::kConv2d || keeps_layout(node.op)) && node.shape.size() == 3 &&
                   node.shape[0] % kChannelBlock == 0;
    }
  // Whether every reader of n takes it in blocks, given the current choice.
  auto readers_take_blocks = [&](int n) {
    for (int reader = 0; reader < nodes; ++reader) {
      const Node& node = graph.nodes[reader];
      if (std::find(node.inputs.begin(), node.inputs.end(), n) == node.inputs.end()) continue;
      const bool takes = node.op == OpKind::kConv2d || node.op == OpKind::kFlatten ||
                         (keeps_layout(node.op) && blocked[reader]);
      if (!takes) return false;
    }
    for (const Edge& edge : graph.edges)
      if ((edge.source == n || edge.target == n) && adapter_kind(graph, edge) != AdapterKind::kConv) return false;
    return true;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (int n = 0; n < nodes; ++n) {
      if (!blocked[n]) continue;
      const Node& node = graph.nodes[n];
      if ((keeps_layout(node.op) && !blocked[node.inputs[0]]) || !readers_take_blocks(n)) {
        blocked[n] = 0;
        changed = true;
      }
    }
  }
  std::vector<ActivationLayout> layouts(nodes, ActivationLayout::kPlain);
  for (int n = 0; n < nodes; ++n)
    if (blocked[n]) layouts[n] = ActivationLayout::kChannelBlocks;
  return layouts;
}

}  // namespace fbnet
