// The conv presets (model/conv_presets.hpp): their layers and edges, the
// parameter counts that make B-K and B-F controls for BLT, and the settings
// that reach them from a config.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.hpp"
#include "model/conv_presets.hpp"
#include "model/network.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

Graph preset(const char* model, SettingList extra = {}) {
  extra.insert(extra.begin(), {"model", model});
  return graph_of(architecture_from(resolve_config(extra), Shape{28, 28}, 10));
}

std::vector<std::string> edge_names(const Graph& graph) {
  std::vector<std::string> names;
  for (const Edge& edge : graph.edges) names.push_back(edge.name);
  return names;
}

TEST(ConvPresets, EdgesStepsAndParameterCounts) {
  // conv1 320 + conv2 9248 + out 15690 = 25258, and 9248 per 3x3 32 -> 32 edge.
  const struct {
    const char* model;
    std::vector<std::string> edges;
    int steps;
    int64_t parameters;
  } rows[] = {{"b", {}, 1, 25258},
              {"bl", {"lateral.1", "lateral.2"}, 4, 25258 + 2 * 9248},
              {"bt", {"topdown.1"}, 4, 25258 + 9248},
              {"blt", {"lateral.1", "lateral.2", "topdown.1"}, 4, 25258 + 3 * 9248},
              {"b-k", {}, 1, 832 + 25632 + 15690}};
  for (const auto& row : rows) {
    SCOPED_TRACE(row.model);
    const Graph graph = preset(row.model);
    EXPECT_EQ(edge_names(graph), row.edges);
    EXPECT_EQ(graph.steps, row.steps);
    EXPECT_EQ(parameter_count(graph), row.parameters);
    for (const Edge& edge : graph.edges) {
      EXPECT_EQ(adapter_kind(graph, edge), AdapterKind::kConv);
      EXPECT_EQ(edge.combine, FeedbackCombine::kAdd);  // Spoerer et al.'s sum
      EXPECT_EQ(edge.alpha, 1.0);
    }
  }
  // The top-down edge upsamples h2 [32, 14, 14] to conv1 [32, 28, 28].
  const Graph bt = preset("bt");
  EXPECT_EQ(bt.nodes[bt.edges[0].source].shape, (Shape{32, 14, 14}));
  EXPECT_EQ(bt.nodes[bt.edges[0].target].shape, (Shape{32, 28, 28}));
}

TEST(ConvPresets, BFMatchesBLTsParametersMoreClosely) {
  // B-F's feature count is the one nearest BLT's count: one more or fewer is farther.
  const int64_t blt = parameter_count(preset("blt"));
  const Graph bf = preset("b-f");
  const int64_t features = bf.nodes[bf.node_index("conv1")].shape[0];
  EXPECT_GT(features, 32);
  const int64_t gap = std::llabs(parameter_count(bf) - blt);
  for (int64_t other : {features - 1, features + 1}) {
    const int64_t other_gap = std::llabs(parameter_count(conv_net_graph(ConvNet::kB, {28, 28}, 10, {.features = other})) - blt);
    EXPECT_LE(gap, other_gap) << other << " features";
  }
  EXPECT_LT(gap, blt / 20);  // within 5 %
}

TEST(ConvPresets, SettingsReachTheGraph) {
  const Graph graph = preset("blt", {{"conv-features", "8"}, {"conv-kernel", "5"}, {"steps", "3"},
                                     {"feedback-combine", "gain"}, {"feedback-alpha", "0.25"}, {"readout", "every-step"}});
  EXPECT_EQ(graph.nodes[graph.node_index("conv2")].shape, (Shape{8, 14, 14}));
  EXPECT_EQ(graph.nodes[graph.node_index("conv2")].kernel, 5);
  EXPECT_EQ(graph.steps, 3);
  EXPECT_EQ(graph.readout_steps, Readout::kEveryStep);
  for (const Edge& edge : graph.edges) {
    EXPECT_EQ(edge.combine, FeedbackCombine::kGain);
    EXPECT_EQ(edge.alpha, 0.25);
    EXPECT_EQ(edge.kernel, 5);
  }
}

TEST(ConvPresets, ImagesTheyCannotPoolAreRefused) {
  testing::expect_error([] { conv_net_graph(ConvNet::kBLT, {30, 30}, 10, {}); },
                        "images must be [H, W] or [C, H, W] with H and W multiples of 4, got [30, 30]");
  testing::expect_error([] { conv_net_graph(ConvNet::kB, {28, 28}, 10, {.kernel = 4}); },
                        "--conv-kernel: must be odd, 1..15, got 4");
}

}  // namespace
}  // namespace fbnet
