// graph_from_json against graph_to_json: the report's presets and a
// hand-built graph with every feature survive the round trip (through JSON
// text too), and bad files are refused with errors naming the file and field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "formats/graph_json.hpp"
#include "model/network.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    EXPECT_EQ(a.nodes[n].name, b.nodes[n].name);
    EXPECT_EQ(a.nodes[n].op, b.nodes[n].op) << a.nodes[n].name;
    EXPECT_EQ(a.nodes[n].inputs, b.nodes[n].inputs) << a.nodes[n].name;
    EXPECT_EQ(a.nodes[n].shape, b.nodes[n].shape) << a.nodes[n].name;
    EXPECT_EQ(a.nodes[n].dropout, b.nodes[n].dropout) << a.nodes[n].name;
    EXPECT_EQ(a.nodes[n].alias, b.nodes[n].alias) << a.nodes[n].name;
    EXPECT_EQ(a.nodes[n].untied, b.nodes[n].untied) << a.nodes[n].name;
  }
  ASSERT_EQ(a.edges.size(), b.edges.size());
  for (size_t e = 0; e < a.edges.size(); ++e) {
    EXPECT_EQ(a.edges[e].name, b.edges[e].name);
    EXPECT_EQ(a.edges[e].source, b.edges[e].source) << a.edges[e].name;
    EXPECT_EQ(a.edges[e].target, b.edges[e].target) << a.edges[e].name;
    EXPECT_EQ(a.edges[e].combine, b.edges[e].combine) << a.edges[e].name;
    EXPECT_EQ(a.edges[e].alpha, b.edges[e].alpha) << a.edges[e].name;
  }
  EXPECT_EQ(a.readout_node, b.readout_node);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.readout_steps, b.readout_steps);
  EXPECT_EQ(a.first_step_feedback, b.first_step_feedback);
}

// Through the JSON value and through its text, as a file would carry it.
void expect_round_trip(const Graph& graph) {
  const nlohmann::json json = graph_to_json(graph);
  expect_same_graph(graph_from_json(json, "value"), graph);
  const Graph from_text = graph_from_json(nlohmann::json::parse(json.dump()), "text");
  expect_same_graph(from_text, graph);
  EXPECT_EQ(graph_to_json(from_text), json);
}

// x [6] and a cue [3] -> input dropout -> h1 [5] -> dropout -> h2 [4] -> out [3],
// with edges of every kind: top-down, lateral, from the logits, from the cue, add and mix,
// and l1 untied (weights per step).
Graph hand_built_graph() {
  Graph graph;
  graph.add_node("x", OpKind::kInput, {}, {6});
  graph.add_node("cue", OpKind::kInput, {}, {3});
  graph.add_node("x.dropout", OpKind::kDropout, {"x"}, {6}, 0.2);
  graph.add_node("l1", OpKind::kLinear, {"x.dropout"}, {5});
  graph.add_node("h1", OpKind::kRelu, {"l1"}, {5});
  graph.add_node("h1.dropout", OpKind::kDropout, {"h1"}, {5}, 0.25);
  graph.add_node("l2", OpKind::kLinear, {"h1.dropout"}, {4});
  graph.add_node("h2", OpKind::kRelu, {"l2"}, {4});
  graph.readout_node = graph.add_node("l3", OpKind::kLinear, {"h2"}, {3});
  graph.nodes[graph.readout_node].alias = "out";
  graph.add_edge("down", "h2", "h1", FeedbackCombine::kMix, 0.3);
  graph.add_edge("lateral", "h1", "h1", FeedbackCombine::kAdd, 0.125);
  graph.add_edge("from_logits", "out", "l2", FeedbackCombine::kAdd, 0.7);
  graph.add_edge("from_cue", "cue", "x", FeedbackCombine::kMix, 0.1);
  graph.steps = 3;
  graph.readout_steps = Readout::kEveryStep;
  graph.first_step_feedback = FirstStepFeedback::kZero;
  graph.nodes[graph.node_index("l1")].untied = true;
  return graph;
}

TEST(GraphJson, ThePresetsRoundTrip) {
  for (const char* model : {"ff", "ff-large", "fb", "ff-deep", "fb-untied", "fb-fixed"}) {
    SCOPED_TRACE(model);
    expect_round_trip(graph_of(architecture_from(resolve_config({{"model", model}}), Shape{28, 28}, 26)));
  }
  const RunConfig deep = resolve_config({{"model", "custom"},
                                         {"hidden", "50,30"},
                                         {"feedback", "h2->h1,h1->x"},
                                         {"feedback-combine", "add"},
                                         {"first-step-feedback", "zero"},
                                         {"steps", "3"}});
  expect_round_trip(graph_of(architecture_from(deep, Shape{28, 28}, 10)));
}

TEST(GraphJson, AHandBuiltGraphRoundTripsAndRuns) {
  const Graph graph = hand_built_graph();
  expect_round_trip(graph);
  const Network<float> network(graph_from_json(graph_to_json(graph), "hand-built"));
  EXPECT_EQ(parameter_layout(network.graph()).size(), parameter_layout(graph).size());
}

TEST(GraphJson, BadFilesNameTheFileAndTheField) {
  const nlohmann::json good = graph_to_json(hand_built_graph());
  const struct {
    const char* what;
    void (*spoil)(nlohmann::json&);
    const char* message;
  } cases[] = {
      {"a shape of a float", [](nlohmann::json& j) { j["nodes"][4]["shape"] = {5.0}; },
       "g.json: node 4 ('h1') field 'shape' must be a list of positive integers"},
      {"an unknown op", [](nlohmann::json& j) { j["nodes"][3]["op"] = "conv"; },
       "g.json: node 3 ('l1') field 'op': 'conv' is not one of: input, linear, relu, dropout, conv2d, max-pool2d, flatten"},
      {"an unknown combine", [](nlohmann::json& j) { j["edges"][1]["combine"] = "multiply"; },
       "g.json: edge 1 ('lateral') field 'combine': 'multiply' is not one of: mix, add, gain"},
      {"an unknown adapter", [](nlohmann::json& j) { j["edges"][0]["adapter"] = "conv-transpose"; },
       "g.json: edge 0 ('down') field 'adapter': 'conv-transpose' is not one of: linear, conv"},
      {"a conv adapter between vectors", [](nlohmann::json& j) { j["edges"][0]["adapter"] = "conv"; },
       "g.json: edge 0 ('down') field 'adapter': 'conv' does not join [4] to [5]; fbnet derives 'linear' from those shapes"},
      {"a kernel on a linear adapter", [](nlohmann::json& j) { j["edges"][0]["kernel"] = 3; },
       "g.json: edge 0 ('down') field 'kernel': only a conv adapter (between [C, H, W] nodes) has a kernel"},
      {"a kernel on a linear node", [](nlohmann::json& j) { j["nodes"][3]["kernel"] = 3; },
       "g.json: node 3 ('l1') field 'kernel': only conv2d and max-pool2d nodes have it"},
      {"steps as a float", [](nlohmann::json& j) { j["steps"] = 3.0; },
       "g.json: graph field 'steps' must be an integer in 1..100000"},
      {"an input read before it is computed", [](nlohmann::json& j) { j["nodes"][3]["inputs"] = {"h2"}; },
       "g.json: node 3 ('l1') field 'inputs' (a node reads earlier nodes only): no node named 'h2'"},
      {"an unknown field", [](nlohmann::json& j) { j["edges"][2]["gain"] = 1; },
       "g.json: edge 2 ('from_logits') has an unknown field 'gain'"},
      {"a missing field", [](nlohmann::json& j) { j.erase("readout_steps"); },
       "g.json: graph has no field 'readout_steps'"},
      {"dropout on a Linear", [](nlohmann::json& j) { j["nodes"][3]["dropout"] = 0.5; },
       "g.json: node 3 ('l1') field 'dropout': only dropout nodes have it"},
      {"untied as a string", [](nlohmann::json& j) { j["nodes"][3]["untied"] = "yes"; },
       "g.json: node 3 ('l1') field 'untied' must be true or false"},
      {"untied without weights", [](nlohmann::json& j) { j["nodes"][4]["untied"] = true; },
       "g.json: graph: node 'h1' is untied, but only an op with weights can have weights per step"},
      {"an edge named as an untied node's weights", [](nlohmann::json& j) { j["edges"][1]["name"] = "l1.step2"; },
       "g.json: graph: the name 'l1.step2' is taken, but untied node 'l1' names its weights of step 2 so"},
      {"an edge that never fires", [](nlohmann::json& j) { j["steps"] = 1; },
       "g.json: graph: edge 'down' never carries a signal: its target 'h1' does not run after step 0 of 1"},
      {"an alpha out of range (the graph's own check)", [](nlohmann::json& j) { j["edges"][0]["alpha"] = 1.5; },
       "g.json: graph: edge 'down': alpha must be in [0, 1], got 1.5"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.what);
    nlohmann::json json = good;
    bad.spoil(json);
    testing::expect_error([&] { graph_from_json(json, "g.json"); }, bad.message);
  }
}

}  // namespace
}  // namespace fbnet
