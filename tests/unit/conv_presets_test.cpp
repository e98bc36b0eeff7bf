// The conv presets (model/conv_presets.hpp): their layers and edges, the
// parameter counts that make B-K and B-F controls for BLT, the settings that
// reach them from a config, and the activation layouts a net runs them in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "config/config.hpp"
#include "engine/compute.hpp"
#include "model/conv_presets.hpp"
#ifdef FBNET_WITH_ONEDNN
#include "model/kernels/conv2d_onednn.hpp"
#endif
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

TEST(ActivationLayouts, BlocksRunFromTheFirstConvToTheFlattenAndStopAtAnyOtherReader) {
  const Graph blt = conv_net_graph(ConvNet::kBLT, {16, 16}, 10, {.features = 16, .steps = 3});
  const std::vector<ActivationLayout> layouts = choose_activation_layouts(blt, /*channel_blocks=*/true);
  for (size_t n = 0; n < blt.nodes.size(); ++n) {
    const std::string& name = blt.nodes[n].name;
    const bool blocked = name != "x" && name != "flatten" && name != "dropout" && name != "out";
    EXPECT_EQ(layouts[n] == ActivationLayout::kChannelBlocks, blocked) << name;
  }
  for (ActivationLayout layout : choose_activation_layouts(blt, /*channel_blocks=*/false))
    EXPECT_EQ(layout, ActivationLayout::kPlain);
  // Feature counts that are not whole blocks stay plain.
  for (ActivationLayout layout : choose_activation_layouts(conv_net_graph(ConvNet::kBLT, {16, 16}, 10, {.features = 8}), true))
    EXPECT_EQ(layout, ActivationLayout::kPlain);
  // A Linear edge out of h2 keeps h2 plain, and with it conv2, whose layout h2 shares (ReLU keeps its input's).
  Graph linear_reader = blt;
  linear_reader.add_edge("dense", "h2", "flatten", FeedbackCombine::kAdd, 1.0);
  linear_reader.validate();
  const std::vector<ActivationLayout> mixed = choose_activation_layouts(linear_reader, true);
  EXPECT_EQ(mixed[linear_reader.node_index("h2")], ActivationLayout::kPlain);
  EXPECT_EQ(mixed[linear_reader.node_index("conv2")], ActivationLayout::kPlain);
  EXPECT_EQ(mixed[linear_reader.node_index("h1")], ActivationLayout::kChannelBlocks);
}

#ifdef FBNET_WITH_ONEDNN
// BLT variants trained a step on oneDNN with their activations in channel blocks and with them plain
// (onednn-nchw): the same logits and gradients, bit for bit, and the same plain values, feedback signals and
// intervention logits seen from outside. Mix and gain edges, first-step feedback, a batch over one 64-sample
// chunk, a net that is all plain (24 features) and one plain above a Linear edge out of h2.
TEST(ActivationLayouts, ChannelBlocksTrainBitForBitAsPlainActivations) {
  using testing::bits_of;
  struct Case {
    std::string name;
    Graph graph;
    int64_t batch;
  };
  auto blt = [](ConvNetOptions options) {
    options.steps = 3;
    return conv_net_graph(ConvNet::kBLT, {16, 16}, 10, options);
  };
  Graph linear_reader = blt({.features = 16});
  linear_reader.add_edge("dense", "h2", "flatten", FeedbackCombine::kAdd, 0.5);
  const Case cases[] = {
      {"add", blt({.features = 16}), 5},
      {"mix 0.3, first-step feedback", blt({.features = 16, .combine = FeedbackCombine::kMix, .alpha = 0.3,
                                            .first_step_feedback = FirstStepFeedback::kZero}), 70},
      {"gain 0.5", blt({.features = 16, .combine = FeedbackCombine::kGain, .alpha = 0.5}), 5},
      {"24 features", blt({.features = 24}), 5},
      {"linear edge out of h2", linear_reader, 5},
  };
  if (!onednn_uses_channel_blocks()) GTEST_SKIP() << "oneDNN does not use 16-channel blocks on this CPU (no AVX-512)";
  const ComputeSettings before{current_product_engine(), compute_threads(), current_convolution_engine()};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor<float> images({c.batch, 256});
    Rng data(3);
    for (float& value : images.values) value = static_cast<float>(data.uniform());
    std::vector<int32_t> labels(c.batch);
    for (int32_t& label : labels) label = static_cast<int32_t>(data.below(10));
    const int topdown = 2;  // lateral.1, lateral.2, topdown.1
    auto run = [&](ConvolutionEngine engine) {
      use_compute_settings({before.engine, 2, engine});
      Network<float> net(c.graph);
      net.initialize(11);
      Rng dropout(5);
      const std::vector<const Tensor<float>*> steps(3, &images);
      net.forward(steps, Mode::kTrain, &dropout);
      const int32_t* readout_labels[] = {labels.data()};
      net.loss(readout_labels);  // (from the logits: the same logits, the same loss)
      net.backward();
      std::vector<std::vector<uint32_t>> seen = {bits_of(net.logits(0).values),
                                                 bits_of(net.parameters().grads()), bits_of(net.value(1, "h1").values),
                                                 bits_of(net.feedback_signal(2, topdown).values)};
      // Test-time interventions on the top-down edge: its mean signal (sample 1's, as a stand-in), then swapped.
      EdgeIntervention<float> mean{.kind = InterventionKind::kMean, .mean = {}, .partner = {}};
      for (int step = 0; step < 3; ++step) {
        const Tensor<float> signal = net.feedback_signal(step, topdown);  // [B, 16, 16, 16]
        Tensor<float>& sample = mean.mean.emplace_back(batched(1, c.graph.nodes[c.graph.node_index("conv1")].shape));
        std::copy_n(signal.row(1), sample.size(), sample.data());
      }
      net.set_intervention(topdown, mean);
      net.forward(steps, Mode::kEval, nullptr);
      seen.push_back(bits_of(net.logits(0).values));
      std::vector<int64_t> partner(c.batch);
      for (int64_t b = 0; b < c.batch; ++b) partner[b] = (b + 1) % c.batch;
      net.set_intervention(topdown, {InterventionKind::kSwap, {}, partner});
      net.forward(steps, Mode::kEval, nullptr);
      seen.push_back(bits_of(net.logits(0).values));
      const bool blocked = net.layouts()[c.graph.node_index("h1")] == ActivationLayout::kChannelBlocks;
      return std::pair{seen, blocked};
    };
    const auto [plain, plain_blocked] = run(ConvolutionEngine::kOneDnnNchw);
    const auto [blocks, blocks_blocked] = run(ConvolutionEngine::kOneDnn);
    EXPECT_FALSE(plain_blocked);
    EXPECT_EQ(blocks_blocked, c.name != "24 features");
    const char* what[] = {"logits", "gradients", "h1", "top-down signal", "mean logits", "swap logits"};
    for (size_t k = 0; k < plain.size(); ++k) EXPECT_EQ(blocks[k], plain[k]) << what[k];
  }
  use_compute_settings(before);
}
#endif

}  // namespace
}  // namespace fbnet
