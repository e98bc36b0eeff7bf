// The table from OpKind to op class, and from an edge's shapes to its
// adapter: the one place a new op is registered. Each checks what its op
// needs of the shapes and settings, naming the node or edge.
#include "model/ops/conv2d_op.hpp"
#include "model/ops/dropout_op.hpp"
#include "model/ops/flatten_op.hpp"
#include "model/ops/linear_op.hpp"
#include "model/ops/max_pool2d_op.hpp"
#include "model/ops/op.hpp"
#include "model/ops/relu_op.hpp"

namespace fbnet {
namespace {

// The [C, H, W] input of spatial op `n`, with the window settings checked.
void check_spatial(const Node& n, const Shape& in) {
  FBNET_CHECK(in.size() == 3, "node '{}': {} reads images [C, H, W], got {}", n.name, to_string(n.op), shape_string(in));
  FBNET_CHECK(n.kernel >= 1 && n.stride >= 1 && n.padding >= 0 && n.padding < n.kernel,
              "node '{}': {} needs kernel >= 1, stride >= 1 and 0 <= padding < kernel, got kernel {}, stride {}, "
              "padding {}", n.name, to_string(n.op), n.kernel, n.stride, n.padding);
  FBNET_CHECK(in[1] + 2 * n.padding >= n.kernel && in[2] + 2 * n.padding >= n.kernel,
              "node '{}': the {}x{} window does not fit its input {} (padding {})", n.name, n.kernel, n.kernel,
              shape_string(in), n.padding);
}

ActivationLayout layout_of(std::span<const ActivationLayout> layouts, int node) {
  return layouts.empty() ? ActivationLayout::kPlain : layouts[node];
}

}  // namespace

template <class Scalar>
std::unique_ptr<Op<Scalar>> make_op(const Graph& graph, int node, std::span<const ActivationLayout> layouts) {
  const Node& n = graph.nodes.at(node);
  FBNET_CHECK(n.inputs.size() == 1, "node '{}': {} takes one input, got {}", n.name, to_string(n.op), n.inputs.size());
  const Shape& in = graph.nodes.at(n.inputs[0]).shape;
  const ActivationLayout in_layout = layout_of(layouts, n.inputs[0]), out_layout = layout_of(layouts, node);
  switch (n.op) {
    case OpKind::kLinear:
      FBNET_CHECK(n.shape.size() == 1, "node '{}': Linear gives a vector [out], got {}", n.name, shape_string(n.shape));
      return std::make_unique<LinearOp<Scalar>>(element_count(in), n.shape[0]);
    case OpKind::kRelu: return std::make_unique<ReluOp<Scalar>>();
    case OpKind::kDropout: return std::make_unique<DropoutOp<Scalar>>(n.dropout, graph.steps);
    case OpKind::kConv2d:
      check_spatial(n, in);
      return std::make_unique<Conv2dOp<Scalar>>(ConvGeometry{.channels = in[0], .height = in[1], .width = in[2],
                                                             .out_channels = n.shape[0], .kernel = n.kernel,
                                                             .stride = n.stride, .padding = n.padding},
                                                UpsampleGeometry{}, ConvLayouts{in_layout, out_layout});
    case OpKind::kMaxPool2d:
      check_spatial(n, in);
      FBNET_CHECK(n.padding == 0, "node '{}': max-pool2d has no padding, got {}", n.name, n.padding);
      return std::make_unique<MaxPool2dOp<Scalar>>(
          PoolGeometry{.channels = in[0], .height = in[1], .width = in[2], .kernel = n.kernel, .stride = n.stride},
          in_layout);
    case OpKind::kFlatten:
      if (in_layout == ActivationLayout::kPlain) return std::make_unique<FlattenOp<Scalar>>();
      return std::make_unique<FlattenOp<Scalar>>(SpatialShape{.channels = in[0], .height = in[1], .width = in[2]});
    case OpKind::kInput: break;
  }
  fail("node '{}' is an input, not an op", n.name);
}

template <class Scalar>
std::unique_ptr<Adapter<Scalar>> make_adapter(const Graph& graph, int edge, std::span<const ActivationLayout> layouts) {
  const Edge& e = graph.edges.at(edge);
  const Shape& from = graph.nodes.at(e.source).shape;
  const Shape& to = graph.nodes.at(e.target).shape;
  if (adapter_kind(graph, e) == AdapterKind::kLinear)
    return std::make_unique<LinearOp<Scalar>>(element_count(from), element_count(to));
  FBNET_CHECK(e.kernel >= 1 && e.kernel % 2 == 1, "edge '{}': a conv adapter's kernel must be odd (padded to keep the "
              "size), got {}", e.name, e.kernel);
  FBNET_CHECK(to[1] >= from[1] && to[2] >= from[2] && to[1] % from[1] == 0 && to[2] % from[2] == 0,
              "edge '{}': a conv adapter upsamples its source {} by whole factors to its target {}; the target's "
              "height and width must be multiples of the source's", e.name, shape_string(from), shape_string(to));
  const UpsampleGeometry upsample{.channels = from[0], .height = from[1], .width = from[2],
                                  .factor_h = to[1] / from[1], .factor_w = to[2] / from[2]};
  return std::make_unique<Conv2dOp<Scalar>>(ConvGeometry{.channels = from[0], .height = to[1], .width = to[2],
                                                         .out_channels = to[0], .kernel = e.kernel, .stride = 1,
                                                         .padding = e.kernel / 2},
                                            upsample, ConvLayouts{layout_of(layouts, e.source), layout_of(layouts, e.target)});
}

template std::unique_ptr<Op<float>> make_op(const Graph&, int, std::span<const ActivationLayout>);
template std::unique_ptr<Op<double>> make_op(const Graph&, int, std::span<const ActivationLayout>);
template std::unique_ptr<Adapter<float>> make_adapter(const Graph&, int, std::span<const ActivationLayout>);
template std::unique_ptr<Adapter<double>> make_adapter(const Graph&, int, std::span<const ActivationLayout>);

}  // namespace fbnet
