// Graph <-> JSON (format in graph_json.hpp). The reader checks every field's
// type and names it in errors; the graph's own rules (shapes of ops, alpha
// and dropout ranges, unique names) are Graph::validate's.
#include "formats/graph_json.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/error.hpp"

namespace fbnet {
namespace {

// Reads the fields of one JSON object; every error names the source, the
// object and the field. A node's or edge's `what` ("node 3") gains its name
// ("node 3 ('h1')") when the object has one.
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& object, std::string source, std::string what,
               std::initializer_list<const char*> known)
      : object_(object), source_(std::move(source)), what_(std::move(what)) {
    FBNET_CHECK(object_.is_object(), "{}: {} must be a JSON object, got {}", source_, what_, object_.type_name());
    if (object_.contains("name") && object_["name"].is_string())
      what_ += fmt::format(" ('{}')", object_["name"].get<std::string>());
    for (const auto& item : object_.items()) {
      const std::string& key = item.key();
      FBNET_CHECK(std::find_if(known.begin(), known.end(), [&](const char* field) { return key == field; }) != known.end(),
                  "{}: {} has an unknown field '{}'; its fields are {}", source_, what_, key, fmt::join(known, ", "));
    }
  }

  // "g.json: node 3 ('h1') field 'shape'": the `what` of errors raised elsewhere.
  std::string field_label(const char* field) const { return fmt::format("{}: {} field '{}'", source_, what_, field); }

  bool has(const char* field) const { return object_.contains(field); }
  const nlohmann::json& required(const char* field) const {
    FBNET_CHECK(has(field), "{}: {} has no field '{}'", source_, what_, field);
    return object_.at(field);
  }
  std::string string(const char* field) const {
    const nlohmann::json& value = required(field);
    FBNET_CHECK(value.is_string() && !value.get_ref<const std::string&>().empty(), "{} must be a non-empty string",
                field_label(field));
    return value.get<std::string>();
  }
  double number(const char* field) const {
    const nlohmann::json& value = required(field);
    FBNET_CHECK(value.is_number(), "{} must be a number", field_label(field));
    return value.get<double>();
  }
  int64_t integer(const char* field, int64_t min, int64_t max) const {
    int64_t result = 0;
    FBNET_CHECK(integer_in(required(field), min, max, result), "{} must be an integer in {}..{}", field_label(field), min,
                max);
    return result;
  }
  std::vector<std::string> strings(const char* field) const {
    const nlohmann::json& value = required(field);
    auto is_name = [](const nlohmann::json& item) { return item.is_string() && !item.get_ref<const std::string&>().empty(); };
    FBNET_CHECK(value.is_array() && std::all_of(value.begin(), value.end(), is_name),
                "{} must be a list of non-empty strings", field_label(field));
    return value.get<std::vector<std::string>>();
  }
  Shape shape(const char* field) const {
    const nlohmann::json& value = required(field);
    Shape shape;
    bool ok = value.is_array() && !value.empty();
    for (size_t i = 0; ok && i < value.size(); ++i) ok = integer_in(value[i], 1, kMaxWidth, shape.emplace_back());
    FBNET_CHECK(ok, "{} must be a list of positive integers (each at most {}), got {}", field_label(field), kMaxWidth,
                value.dump());
    return shape;
  }
  const nlohmann::json& array(const char* field) const {
    const nlohmann::json& value = required(field);
    FBNET_CHECK(value.is_array(), "{} must be a list", field_label(field));
    return value;
  }

 private:
  // Whether `value` is a JSON integer (not 3.0) in [min, max]; then sets `result`.
  static bool integer_in(const nlohmann::json& value, int64_t min, int64_t max, int64_t& result) {
    if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      result = static_cast<int64_t>(value.get<uint64_t>());
    } else if (value.is_number_integer()) {
      result = value.get<int64_t>();
    } else {
      return false;
    }
    return result >= min && result <= max;
  }

  const nlohmann::json& object_;
  std::string source_;
  std::string what_;
};

Node read_node(const nlohmann::json& json, int index, const Graph& graph, const std::string& source) {
  ObjectReader reader(json, source, fmt::format("node {}", index),
                      {"name", "op", "inputs", "shape", "dropout", "alias", "untied", "kernel", "stride", "padding"});
  Node node;
  node.name = reader.string("name");
  node.op = parse_op_kind(reader.string("op"), reader.field_label("op"));
  for (const std::string& input : reader.strings("inputs"))
    node.inputs.push_back(graph.node_index(input, reader.field_label("inputs") + " (a node reads earlier nodes only)"));
  node.shape = reader.shape("shape");
  if (node.op == OpKind::kDropout)
    node.dropout = reader.number("dropout");
  else
    FBNET_CHECK(!reader.has("dropout"), "{}: only dropout nodes have it", reader.field_label("dropout"));
  const bool windowed = node.op == OpKind::kConv2d || node.op == OpKind::kMaxPool2d;
  for (const char* field : {"kernel", "stride", "padding"})
    FBNET_CHECK(windowed || !reader.has(field), "{}: only conv2d and max-pool2d nodes have it", reader.field_label(field));
  if (windowed) {
    // PyTorch's defaults: a conv steps by 1, a pooling window by its own size; neither pads.
    node.kernel = reader.integer("kernel", 1, kMaxWidth);
    node.stride = reader.has("stride") ? reader.integer("stride", 1, kMaxWidth)
                                       : (node.op == OpKind::kConv2d ? 1 : node.kernel);
    node.padding = reader.has("padding") ? reader.integer("padding", 0, kMaxWidth) : 0;
  }
  if (reader.has("alias")) node.alias = reader.string("alias");
  if (reader.has("untied")) {
    FBNET_CHECK(reader.required("untied").is_boolean(), "{} must be true or false", reader.field_label("untied"));
    node.untied = reader.required("untied").get<bool>();
  }
  return node;
}

Edge read_edge(const nlohmann::json& json, int index, const Graph& graph, const std::string& source) {
  ObjectReader reader(json, source, fmt::format("edge {}", index),
                      {"name", "source", "target", "adapter", "kernel", "combine", "alpha"});
  Edge edge;
  edge.name = reader.string("name");
  edge.source = graph.node_index(reader.string("source"), reader.field_label("source"));
  edge.target = graph.node_index(reader.string("target"), reader.field_label("target"));
  // The adapter follows from the shapes; a file may name it, and then must name that one.
  const AdapterKind derived = adapter_kind(graph, edge);
  if (reader.has("adapter")) {
    const AdapterKind named = parse_adapter_kind(reader.string("adapter"), reader.field_label("adapter"));
    FBNET_CHECK(named == derived, "{}: '{}' does not join {} to {}; fbnet derives '{}' from those shapes",
                reader.field_label("adapter"), to_string(named), shape_string(graph.nodes[edge.source].shape),
                shape_string(graph.nodes[edge.target].shape), to_string(derived));
  }
  if (reader.has("kernel")) {
    FBNET_CHECK(derived == AdapterKind::kConv, "{}: only a conv adapter (between [C, H, W] nodes) has a kernel",
                reader.field_label("kernel"));
    edge.kernel = reader.integer("kernel", 1, kMaxWidth);
  }
  edge.combine = parse_feedback_combine(reader.string("combine"), reader.field_label("combine"));
  edge.alpha = reader.number("alpha");
  return edge;
}

}  // namespace

nlohmann::json graph_to_json(const Graph& graph) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const Node& node : graph.nodes) {
    nlohmann::json entry = {{"name", node.name}, {"op", to_string(node.op)}, {"shape", node.shape}};
    std::vector<std::string> inputs;
    for (int input : node.inputs) inputs.push_back(graph.nodes[input].name);
    entry["inputs"] = inputs;
    if (node.op == OpKind::kDropout) entry["dropout"] = node.dropout;
    if (!node.alias.empty()) entry["alias"] = node.alias;
    if (node.untied) entry["untied"] = true;
    if (node.op == OpKind::kConv2d || node.op == OpKind::kMaxPool2d) {
      entry["kernel"] = node.kernel;
      entry["stride"] = node.stride;
      if (node.op == OpKind::kConv2d) entry["padding"] = node.padding;
    }
    nodes.push_back(entry);
  }
  nlohmann::json edges = nlohmann::json::array();
  for (const Edge& edge : graph.edges) {
    const AdapterKind adapter = adapter_kind(graph, edge);
    nlohmann::json entry = {{"name", edge.name},
                            {"source", graph.nodes[edge.source].name},
                            {"target", graph.nodes[edge.target].name},
                            {"adapter", to_string(adapter)}};
    if (adapter == AdapterKind::kConv) entry["kernel"] = edge.kernel;
    entry["combine"] = to_string(edge.combine);
    entry["alpha"] = edge.alpha;
    edges.push_back(entry);
  }
  return {{"nodes", nodes},
          {"edges", edges},
          {"readout", graph.nodes[graph.readout_node].name},
          {"steps", graph.steps},
          {"readout_steps", to_string(graph.readout_steps)},
          {"first_step_feedback", to_string(graph.first_step_feedback)}};
}

Graph graph_from_json(const nlohmann::json& json, const std::string& source) {
  const ObjectReader reader(json, source, "graph",
                            {"nodes", "edges", "readout", "steps", "readout_steps", "first_step_feedback"});
  Graph graph;
  const nlohmann::json& nodes = reader.array("nodes");
  for (size_t n = 0; n < nodes.size(); ++n)
    graph.nodes.push_back(read_node(nodes[n], static_cast<int>(n), graph, source));
  const nlohmann::json& edges = reader.array("edges");
  for (size_t e = 0; e < edges.size(); ++e) graph.edges.push_back(read_edge(edges[e], static_cast<int>(e), graph, source));
  graph.readout_node = graph.node_index(reader.string("readout"), reader.field_label("readout"));
  graph.steps = static_cast<int>(reader.integer("steps", 1, kMaxSteps));
  graph.readout_steps = parse_readout(reader.string("readout_steps"), reader.field_label("readout_steps"));
  graph.first_step_feedback =
      parse_first_step_feedback(reader.string("first_step_feedback"), reader.field_label("first_step_feedback"));
  try {
    graph.validate();
  } catch (const Error& error) {
    fail("{}: {}", source, error.what());
  }
  return graph;
}

}  // namespace fbnet
