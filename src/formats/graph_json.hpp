// A Graph as JSON and back: `fbnet info --graph-json` prints it, and the
// PyTorch parity test (tests/peer/graph_parity.py) builds its model from it and
// hands graphs of its own to fbnet in it. The format, one object:
//   nodes   [{"name", "op": input|linear|relu|dropout|conv2d|max-pool2d|flatten,
//             "inputs": [node names], "shape": [positive integers] ([N] or [C, H, W]),
//             "dropout" (dropout nodes only), "alias" (optional),
//             "untied": true (optional: weights per step),
//             "kernel", "stride", "padding" (conv2d and max-pool2d only; stride
//             defaults to 1 for conv2d and to the kernel for max-pool2d, padding to 0)}]
//           in topological order (a node reads earlier nodes only)
//   edges   [{"name", "source", "target" (node names), "adapter": linear|conv
//             (optional; derived from the shapes, and if given must match),
//             "kernel" (conv adapters only, odd, default 3),
//             "combine": mix|add|gain, "alpha"}] in the order they combine
//   readout (node name), steps (integer), readout_steps (last-step|every-step),
//   first_step_feedback (none|zero)
// graph.hpp gives the meaning of each field.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/graph.hpp"

namespace fbnet {

nlohmann::json graph_to_json(const Graph& graph);

// Parses exactly what graph_to_json writes and validates the graph. Throws
// fbnet::Error naming `source` (a file name, or what the JSON came from) and
// the offending field, e.g. "g.json: node 3 ('h1') field 'shape' must be a
// list of positive integers"; unknown fields, ops, adapters and combine
// modes are refused.
Graph graph_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace fbnet
