// Spoerer et al.'s B, BL, BT, BLT nets and their parameter-matched controls as graphs.
#include "model/conv_presets.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace fbnet {
namespace {

Graph build(ConvNet net, const Shape& image, int64_t classes, const ConvNetOptions& o, int64_t features,
            int64_t kernel) {
  Graph graph;
  const bool lateral = net == ConvNet::kBL || net == ConvNet::kBLT;
  const bool top_down = net == ConvNet::kBT || net == ConvNet::kBLT;
  graph.steps = is_recurrent(net) ? o.steps : 1;
  graph.readout_steps = o.readout;
  graph.first_step_feedback = o.first_step_feedback;
  const int64_t height = image[1], width = image[2];
  graph.add_node("x", OpKind::kInput, {}, image);
  std::string below = "x";
  for (int layer = 1; layer <= 2; ++layer) {
    const int64_t pooled = layer == 1 ? 1 : 2;  // conv2 reads conv1's output pooled by 2
    const std::string conv = fmt::format("conv{}", layer), relu = fmt::format("h{}", layer);
    graph.add_node(conv, OpKind::kConv2d, {below}, {features, height / pooled, width / pooled});
    graph.nodes.back().kernel = kernel;
    graph.nodes.back().stride = 1;
    graph.nodes.back().padding = kernel / 2;
    graph.add_node(relu, OpKind::kRelu, {conv}, {features, height / pooled, width / pooled});
    below = fmt::format("pool{}", layer);
    graph.add_node(below, OpKind::kMaxPool2d, {relu}, {features, height / pooled / 2, width / pooled / 2});
    graph.nodes.back().kernel = graph.nodes.back().stride = 2;
  }
  graph.add_node("flatten", OpKind::kFlatten, {below}, {features * (height / 4) * (width / 4)});
  below = "flatten";
  if (o.dropout > 0) {
    graph.add_node("dropout", OpKind::kDropout, {below}, {features * (height / 4) * (width / 4)}, o.dropout);
    below = "dropout";
  }
  graph.readout_node = graph.add_node("out", OpKind::kLinear, {below}, {classes});
  auto edge = [&](const std::string& name, const std::string& source, const std::string& target) {
    graph.add_edge(name, source, target, o.combine, o.alpha);
    graph.edges.back().kernel = o.kernel;
  };
  if (lateral) {
    edge("lateral.1", "h1", "conv1");
    edge("lateral.2", "h2", "conv2");
  }
  if (top_down) edge("topdown.1", "h2", "conv1");
  graph.validate();
  return graph;
}

}  // namespace

bool is_recurrent(ConvNet net) { return net == ConvNet::kBL || net == ConvNet::kBT || net == ConvNet::kBLT; }

Graph conv_net_graph(ConvNet net, const Shape& image_shape, int64_t classes, const ConvNetOptions& o) {
  const Shape image = image_shape.size() == 2 ? Shape{1, image_shape[0], image_shape[1]} : image_shape;
  FBNET_CHECK(image.size() == 3 && image[1] % 4 == 0 && image[2] % 4 == 0,
              "the conv presets pool twice by 2 and upsample top-down by 2: images must be [H, W] or [C, H, W] with H "
              "and W multiples of 4, got {}", shape_string(image_shape));
  FBNET_CHECK(o.features >= 1 && o.features <= 4096, "--conv-features: must be in 1..4096, got {}", o.features);
  FBNET_CHECK(o.kernel >= 1 && o.kernel % 2 == 1 && o.kernel <= 15, "--conv-kernel: must be odd, 1..15, got {}", o.kernel);
  if (net == ConvNet::kBK) return build(net, image, classes, o, o.features, o.kernel + 2);
  if (net != ConvNet::kBF) return build(net, image, classes, o, o.features, o.kernel);
  // B-F: the feature count whose B net comes closest to BLT's parameters
  // (which do not depend on the steps BLT is unrolled over).
  ConvNetOptions unrolled = o;
  unrolled.steps = std::max(o.steps, 2);
  const int64_t target = parameter_count(build(ConvNet::kBLT, image, classes, unrolled, o.features, o.kernel));
  int64_t best = o.features, best_gap = -1;
  for (int64_t features = o.features; features <= 4 * o.features; ++features) {
    const int64_t gap = std::llabs(parameter_count(build(net, image, classes, o, features, o.kernel)) - target);
    if (best_gap < 0 || gap < best_gap) best = features, best_gap = gap;
  }
  return build(net, image, classes, o, best, o.kernel);
}

}  // namespace fbnet
