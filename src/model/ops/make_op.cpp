// The table from OpKind to op class: the one place a new op is registered.
#include "model/ops/dropout_op.hpp"
#include "model/ops/linear_op.hpp"
#include "model/ops/op.hpp"
#include "model/ops/relu_op.hpp"

namespace fbnet {

template <class Scalar>
std::unique_ptr<Op<Scalar>> make_op(const Graph& graph, int node) {
  const Node& n = graph.nodes.at(node);
  FBNET_CHECK(n.inputs.size() == 1, "node '{}': {} takes one input, got {}", n.name, to_string(n.op), n.inputs.size());
  const Shape& in = graph.nodes.at(n.inputs[0]).shape;
  switch (n.op) {
    case OpKind::kLinear:
      FBNET_CHECK(in.size() == 1 && n.shape.size() == 1, "node '{}': Linear maps vectors, got {} -> {}", n.name,
                  shape_string(in), shape_string(n.shape));
      return std::make_unique<LinearOp<Scalar>>(in[0], n.shape[0]);
    case OpKind::kRelu: return std::make_unique<ReluOp<Scalar>>();
    case OpKind::kDropout: return std::make_unique<DropoutOp<Scalar>>(n.dropout, graph.steps);
    case OpKind::kInput: break;
  }
  fail("node '{}' is an input, not an op", n.name);
}

template <class Scalar>
std::unique_ptr<Adapter<Scalar>> make_adapter(const Graph& graph, int edge) {
  const Edge& e = graph.edges.at(edge);
  const Shape& from = graph.nodes.at(e.source).shape;
  const Shape& to = graph.nodes.at(e.target).shape;
  FBNET_CHECK(from.size() == 1 && to.size() == 1, "edge '{}': a Linear adapter maps vectors, got {} -> {}", e.name,
              shape_string(from), shape_string(to));
  return std::make_unique<LinearOp<Scalar>>(from[0], to[0]);
}

template std::unique_ptr<Op<float>> make_op(const Graph&, int);
template std::unique_ptr<Op<double>> make_op(const Graph&, int);
template std::unique_ptr<Adapter<float>> make_adapter(const Graph&, int);
template std::unique_ptr<Adapter<double>> make_adapter(const Graph&, int);

}  // namespace fbnet
