// Finite-difference gradient checks, in float64: every op and edge adapter
// (one table entry each), the loss head, and unrolled graphs: the report's FF
// and FB (weights shared across passes), two hidden layers with several
// edges, additive feedback, a sequence readout at every step, frozen layers,
// and what only the graph allows: dropout anywhere, per-edge alpha and
// combine, lateral edges, feedback from the logits, a bottom-up recurrent
// edge. Backward starts from gradient buffers full of garbage, as training
// leaves them from the last batch, so it must overwrite rather than add.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>

#include "engine/random.hpp"
#include "model/kernels/linear.hpp"
#include "model/kernels/log_softmax_nll.hpp"
#include "model/network.hpp"
#include "model/ops/op.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

using testing::max_gradient_error;
constexpr double kTolerance = 1e-6;

Tensor<double> random_tensor(Shape shape, Rng& rng, double scale = 1.0) {
  Tensor<double> t(std::move(shape));
  for (double& v : t.values) v = scale * rng.normal();
  return t;
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
  double sum = 0;
  for (int64_t i = 0; i < a.size(); ++i) sum += a.values[i] * b.values[i];
  return sum;
}

// --- Layers: L = <upstream, layer(x)> for a fixed random upstream gradient. ---

// One table entry per adapter kind and shape pairing: make_adapter picks the
// adapter from the two shapes.
struct AdapterCase {
  const char* name;
  Shape from, to;  // per sample
};

void PrintTo(const AdapterCase& c, std::ostream* os) { *os << c.name; }

class AdapterGradients : public ::testing::TestWithParam<AdapterCase> {};

TEST_P(AdapterGradients, AddScaledIntoTheTarget) {
  // An edge's adapter: target += alpha adapter(x), gradients scaled alike,
  // parameter gradients and dx written over garbage, then added.
  const AdapterCase& c = GetParam();
  Graph graph;
  graph.nodes = {{"x", OpKind::kInput, {}, c.from}, {"y", OpKind::kInput, {}, c.to}};
  graph.edges = {{"edge", 0, 1, FeedbackCombine::kAdd, 0.3}};
  graph.readout_node = 1;
  auto adapter = make_adapter<double>(graph, 0);
  ParameterStore<double> store;
  for (const auto& [suffix, shape] : adapter->parameter_shapes()) store.declare(suffix, shape);
  store.allocate();
  adapter->bind(store, 0);
  Rng rng(2);
  adapter->initialize(rng);
  const int64_t batch = 3;
  Tensor<double> x = random_tensor(batched(batch, c.from), rng);
  const Tensor<double> base = random_tensor(batched(batch, c.to), rng);
  const Tensor<double> upstream = random_tensor(batched(batch, c.to), rng);
  const double scale = 0.3;
  auto loss = [&] {
    Tensor<double> y = base;
    adapter->forward_add(x, y, scale);
    return dot(upstream, y);
  };
  for (bool accumulate : {false, true}) {
    Tensor<double> dx = random_tensor(batched(batch, c.from), rng);
    if (!accumulate) testing::fill_with_garbage(dx.values);
    if (!accumulate) testing::fill_with_garbage(store.grads());
    const Tensor<double> dx_before = dx;
    const std::vector<double> grads_before = store.grads();
    adapter->backward_add(x, upstream, &dx, scale, accumulate, true, accumulate);
    if (accumulate) {
      for (int64_t i = 0; i < dx.size(); ++i) dx.values[i] -= dx_before.values[i];
      for (size_t i = 0; i < grads_before.size(); ++i) store.grads()[i] -= grads_before[i];
    }
    // L is linear in x and in each parameter, so central differences are exact for any step but for
    // rounding; a step of 1e-3 keeps that rounding (~1e-16 |L| / step) far below the tolerance.
    constexpr double kLinearStep = 1e-3;
    EXPECT_LT(max_gradient_error(loss, store.values(), store.grads(), kLinearStep), kTolerance) << "accumulate " << accumulate;
    EXPECT_LT(max_gradient_error(loss, x.values, dx.values, kLinearStep), kTolerance) << "accumulate " << accumulate;
  }
  // Each half alone (a frozen adapter; an input that needs no gradient) gives what both together give, and
  // leaves what it was not asked for as it was.
  Tensor<double> dx_both(batched(batch, c.from)), dx_alone(batched(batch, c.from));
  adapter->backward_add(x, upstream, &dx_both, scale, false, true, false);
  const std::vector<double> grads_both = store.grads();
  std::fill(store.grads().begin(), store.grads().end(), 7.0);
  adapter->backward_add(x, upstream, &dx_alone, scale, false, false, false);
  EXPECT_EQ(dx_alone.values, dx_both.values);
  EXPECT_EQ(store.grads(), std::vector<double>(grads_both.size(), 7.0));
  adapter->backward_add(x, upstream, nullptr, scale, false, true, false);
  EXPECT_EQ(store.grads(), grads_both);
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, AdapterGradients,
    ::testing::Values(AdapterCase{"linear", {3}, {2}}, AdapterCase{"linear_image_to_vector", {2, 2, 2}, {5}},
                      AdapterCase{"linear_vector_to_image", {5}, {2, 2, 2}},
                      AdapterCase{"conv_lateral", {2, 4, 4}, {3, 4, 4}},
                      AdapterCase{"conv_top_down_upsampled_2x", {2, 2, 3}, {3, 4, 6}},
                      AdapterCase{"conv_top_down_upsampled_3x_2x", {2, 2, 2}, {1, 6, 4}}),
    [](const ::testing::TestParamInfo<AdapterCase>& info) { return std::string(info.param.name); });

// --- Ops: one table entry per op (ggml's test-backend-ops in small). Each op
// runs through the Op interface on a one-node graph, L = <upstream, op(x)>,
// and is checked by finite differences for dL/dx and every parameter, with
// garbage in the gradient buffers when they are written, and on top of
// earlier contents when they are added to. ---

struct OpCase {
  const char* name;
  OpKind op;
  Shape input, output;  // per sample
  double dropout = 0;
  int64_t kernel = 0, stride = 0, padding = 0;  // conv2d, max-pool2d
  bool channel_blocks = false;  // x (and y, if spatial) in channel blocks: activation_layout.hpp
};

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

class OpGradients : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpGradients, MatchFiniteDifferences) {
  const OpCase& c = GetParam();
  Graph graph;
  graph.nodes = {{"x", OpKind::kInput, {}, c.input}, {"op", c.op, {0}, c.output, c.dropout}};
  graph.nodes[1].kernel = c.kernel;
  graph.nodes[1].stride = c.stride;
  graph.nodes[1].padding = c.padding;
  graph.readout_node = 1;
  const int64_t batch = 3;
  const ActivationLayout blocks = ActivationLayout::kChannelBlocks, plain = ActivationLayout::kPlain;
  const std::vector<ActivationLayout> layouts = {c.channel_blocks ? blocks : plain,
                                                 c.channel_blocks && c.output.size() == 3 ? blocks : plain};
  auto op = make_op<double>(graph, 1, layouts);
  EXPECT_EQ(op->output_shape(c.input), c.output);
  ParameterStore<double> store;
  for (const auto& [suffix, shape] : op->parameter_shapes()) store.declare(suffix, shape);
  store.allocate();
  op->bind(store, 0);
  Rng rng(3);
  op->initialize(rng);
  const Shape in_shape = batched(batch, c.input), out_shape = batched(batch, c.output);
  Tensor<double> x = random_tensor(in_shape, rng);
  const Tensor<double> upstream = random_tensor(out_shape, rng);
  Tensor<double> y(out_shape);
  auto loss = [&] {
    Rng dropout_rng(99);  // the same mask at every evaluation
    op->forward(x, y, Mode::kTrain, &dropout_rng, 0);
    return dot(upstream, y);
  };
  for (bool accumulate : {false, true}) {
    loss();
    Tensor<double> dx = random_tensor(in_shape, rng);
    if (!accumulate) testing::fill_with_garbage(dx.values);
    const Tensor<double> dx_before = dx;
    if (!accumulate) testing::fill_with_garbage(store.grads());
    const std::vector<double> grads_before = store.grads();
    op->backward(x, y, upstream, &dx, accumulate, true, accumulate, 0);
    if (accumulate) {
      for (int64_t i = 0; i < dx.size(); ++i) dx.values[i] -= dx_before.values[i];
      for (size_t i = 0; i < grads_before.size(); ++i) store.grads()[i] -= grads_before[i];
    }
    EXPECT_LT(max_gradient_error(loss, x.values, dx.values), kTolerance) << "dx, accumulate " << accumulate;
    if (!store.values().empty())
      EXPECT_LT(max_gradient_error(loss, store.values(), store.grads()), kTolerance) << "parameters, accumulate " << accumulate;
  }
  if (c.op == OpKind::kDropout) {
    // Inverted dropout's mask: every unit 0 or 1 / (1 - p), some of each.
    int kept = 0;
    for (int64_t i = 0; i < y.size(); ++i) kept += y.values[i] != 0.0;
    EXPECT_GT(kept, 0);
    EXPECT_LT(kept, y.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGradients,
                         ::testing::Values(OpCase{"linear", OpKind::kLinear, {5}, {3}},
                                           OpCase{"linear_of_an_image", OpKind::kLinear, {2, 3, 3}, {4}},
                                           OpCase{"relu", OpKind::kRelu, {6}, {6}},
                                           OpCase{"relu_of_an_image", OpKind::kRelu, {2, 3, 3}, {2, 3, 3}},
                                           OpCase{"dropout", OpKind::kDropout, {8}, {8}, 0.5},
                                           OpCase{"conv2d_padded", OpKind::kConv2d, {2, 5, 5}, {3, 5, 5}, 0, 3, 1, 1},
                                           OpCase{"conv2d_strided", OpKind::kConv2d, {2, 6, 5}, {3, 2, 2}, 0, 3, 2, 0},
                                           OpCase{"conv2d_strided_padded", OpKind::kConv2d, {1, 5, 5}, {2, 3, 3}, 0, 3, 2, 1},
                                           OpCase{"conv2d_pointwise", OpKind::kConv2d, {3, 4, 4}, {2, 4, 4}, 0, 1, 1, 0},
                                           OpCase{"max_pool2d", OpKind::kMaxPool2d, {2, 4, 6}, {2, 2, 3}, 0, 2, 2},
                                           OpCase{"max_pool2d_overlapping", OpKind::kMaxPool2d, {2, 5, 5}, {2, 3, 3}, 0, 3, 1},
                                           OpCase{"relu_in_blocks", OpKind::kRelu, {16, 2, 3}, {16, 2, 3}, 0, 0, 0, 0, true},
                                           OpCase{"max_pool2d_in_blocks", OpKind::kMaxPool2d, {16, 4, 6}, {16, 2, 3}, 0, 2, 2, 0, true},
                                           OpCase{"max_pool2d_overlapping_in_blocks", OpKind::kMaxPool2d, {16, 5, 5}, {16, 3, 3}, 0, 3, 1, 0, true},
                                           OpCase{"flatten_from_blocks", OpKind::kFlatten, {16, 2, 3}, {96}, 0, 0, 0, 0, true}),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return std::string(info.param.name); });

TEST(LayerGradients, LogSoftmaxNll) {
  Rng rng(5);
  Tensor<double> logits = random_tensor({6, 4}, rng, 2.0);
  const std::vector<int32_t> labels = {0, 3, 1, 2, 2, 0};
  const double scale = 1.0 / 6;
  auto loss = [&] {
    return scale * log_softmax_nll<double>(view(logits), labels.data(), MatrixView<double>{nullptr, 0, 0}, scale).loss_sum;
  };
  Tensor<double> grad({6, 4});
  log_softmax_nll<double>(view(logits), labels.data(), view(grad), scale);
  EXPECT_LT(max_gradient_error(loss, logits.values, grad.values), kTolerance);
}

// --- Networks: every parameter of the unrolled graph, dropout masks held fixed. ---

struct NetworkCase {
  const char* name;
  Graph graph;
  std::vector<std::string> frozen = {};  // node names
};

void PrintTo(const NetworkCase& c, std::ostream* os) { *os << c.name; }

// The report's family (graph_of) on 7 inputs and 4 classes.
Graph report_family(std::vector<int64_t> hidden, std::vector<FeedbackEdge> feedback, int steps,
                    FeedbackCombine combine = FeedbackCombine::kMix, FirstStepFeedback first_step = FirstStepFeedback::kNone,
                    Readout readout = Readout::kLastStep, double dropout = 0.5) {
  Architecture arch;
  arch.input_size = 7;
  arch.hidden_sizes = std::move(hidden);
  arch.classes = 4;
  arch.dropout = dropout;
  arch.feedback = std::move(feedback);
  arch.feedback_alpha = 0.3;
  arch.feedback_combine = combine;
  arch.first_step_feedback = first_step;
  arch.readout = readout;
  arch.steps = steps;
  arch.validate();
  return graph_of(arch);
}

// x [7] -> layers.0 [10] -> h1 -> layers.1 [8] -> h2 -> layers.2 [4], with
// dropout where `dropout_after` says and the edges `add_edges` adds.
Graph two_hidden(int steps, const std::vector<std::string>& dropout_after, const std::function<void(Graph&)>& add_edges,
                 Readout readout = Readout::kLastStep, double dropout_probability = 0.25) {
  Graph graph;
  graph.steps = steps;
  graph.readout_steps = readout;
  std::string below = "x";
  graph.add_node(below, OpKind::kInput, {}, {7});
  auto dropout = [&](const std::string& after, int64_t size) {
    if (std::find(dropout_after.begin(), dropout_after.end(), after) == dropout_after.end()) return;
    graph.add_node("dropout_" + after, OpKind::kDropout, {after}, {size}, dropout_probability);
    below = "dropout_" + after;
  };
  dropout("x", 7);
  graph.add_node("layers.0", OpKind::kLinear, {below}, {10});
  graph.add_node("h1", OpKind::kRelu, {"layers.0"}, {10});
  below = "h1";
  dropout("h1", 10);
  graph.add_node("layers.1", OpKind::kLinear, {below}, {8});
  graph.add_node("h2", OpKind::kRelu, {"layers.1"}, {8});
  below = "h2";
  dropout("h2", 8);
  graph.readout_node = graph.add_node("layers.2", OpKind::kLinear, {below}, {4});
  add_edges(graph);
  return graph;
}

// x [2, 6, 6] -> conv1 [3, 6, 6] (3x3, padding 1) -> h1 ReLU -> pool1 [3, 3, 3]
// -> conv2 [4, 3, 3] -> h2 ReLU -> flatten [36] -> dropout -> out Linear [4]:
// a small Spoerer-style net for the edges `add_edges` adds.
Graph small_conv_net(int steps, const std::function<void(Graph&)>& add_edges, Readout readout = Readout::kLastStep) {
  Graph graph;
  graph.steps = steps;
  graph.readout_steps = readout;
  auto conv = [&](const std::string& name, const std::string& input, Shape shape) {
    graph.add_node(name, OpKind::kConv2d, {input}, std::move(shape));
    graph.nodes.back().kernel = 3;
    graph.nodes.back().stride = 1;
    graph.nodes.back().padding = 1;
  };
  graph.add_node("x", OpKind::kInput, {}, {2, 6, 6});
  conv("conv1", "x", {3, 6, 6});
  graph.add_node("h1", OpKind::kRelu, {"conv1"}, {3, 6, 6});
  graph.add_node("pool1", OpKind::kMaxPool2d, {"h1"}, {3, 3, 3});
  graph.nodes.back().kernel = graph.nodes.back().stride = 2;
  conv("conv2", "pool1", {4, 3, 3});
  graph.add_node("h2", OpKind::kRelu, {"conv2"}, {4, 3, 3});
  graph.add_node("flatten", OpKind::kFlatten, {"h2"}, {36});
  graph.add_node("dropout", OpKind::kDropout, {"flatten"}, {36}, 0.25);
  graph.readout_node = graph.add_node("out", OpKind::kLinear, {"dropout"}, {4});
  add_edges(graph);
  return graph;
}

// `graph` with weights of their own at each step for the named nodes.
Graph untied(Graph graph, const std::vector<std::string>& names) {
  for (const std::string& name : names) graph.nodes[graph.node_index(name)].untied = true;
  return graph;
}

class NetworkGradients : public ::testing::TestWithParam<NetworkCase> {};

TEST_P(NetworkGradients, MatchFiniteDifferences) {
  const NetworkCase& c = GetParam();
  Network<double> network(c.graph);
  network.initialize(11);

  const int64_t batch = 8;
  const int steps = c.graph.steps;
  Rng rng(12);
  // A batch: a sequence gets a different image at each step, a static image the same one.
  struct Batch {
    std::vector<Tensor<double>> images;
    std::vector<const Tensor<double>*> inputs;
    std::vector<std::vector<int32_t>> labels;
    std::vector<const int32_t*> label_pointers;
  };
  auto make_batch = [&] {
    Batch b;
    for (int s = 0; s < (c.graph.readout_steps == Readout::kEveryStep ? steps : 1); ++s)
      b.images.push_back(random_tensor(batched(batch, c.graph.nodes[c.graph.input_nodes()[0]].shape), rng));
    for (int s = 0; s < steps; ++s) b.inputs.push_back(&b.images[b.images.size() == 1 ? 0 : s]);
    b.labels.resize(network.readout_count());
    for (auto& step_labels : b.labels)
      for (int64_t i = 0; i < batch; ++i) step_labels.push_back(static_cast<int32_t>(rng.below(4)));
    for (const auto& step_labels : b.labels) b.label_pointers.push_back(step_labels.data());
    return b;
  };
  const Batch stale = make_batch(), checked = make_batch();
  auto loss_of = [&](const Batch& b) {
    Rng dropout_rng(13);
    network.forward(b.inputs, Mode::kTrain, &dropout_rng);
    return network.loss(b.label_pointers).loss_sum / batch;
  };
  auto loss = [&] { return loss_of(checked); };
  // A first pass on another batch leaves every node's gradient buffer stale,
  // as training leaves it: the checked backward must overwrite, not add.
  loss_of(stale);
  network.backward();
  // Garbage in every parameter gradient too; freezing zeroes a frozen node's part of it.
  testing::fill_with_garbage(network.parameters().grads());
  for (const std::string& node : c.frozen) network.set_frozen(node, true);

  loss();
  // Every range is reported ready exactly once, and only when its gradient is
  // final and its weights are no longer needed: the weights of a reported
  // range turn to NaN until backward ends, so any later use shows up as NaN.
  auto& params = network.parameters();
  std::vector<int> reported(params.values().size(), 0);
  const std::vector<double> weights = params.values();
  network.backward([&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      ++reported[i];
      params.values()[i] = std::numeric_limits<double>::quiet_NaN();
    }
  });
  params.values() = weights;
  const std::vector<double> analytic = params.grads();
  for (size_t i = 0; i < params.infos().size(); ++i) {
    const ParameterInfo& info = params.infos()[i];
    const std::span<const double> grad(analytic.data() + info.offset, static_cast<size_t>(info.size()));
    double norm = 0;
    for (double g : grad) norm += std::abs(g);
    const bool frozen = std::any_of(c.frozen.begin(), c.frozen.end(),
                                    [&](const std::string& node) { return info.name.starts_with(node + "."); });
    EXPECT_EQ(reported[info.offset], frozen ? 0 : 1) << info.name;
    if (frozen) {
      EXPECT_EQ(norm, 0) << info.name << " is frozen";
      continue;
    }
    EXPECT_GT(norm, 0) << info.name;  // every trained tensor gets gradient, feedback weights included
    EXPECT_LT(max_gradient_error(loss, params.values_of(static_cast<int>(i)), grad), kTolerance) << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Graphs, NetworkGradients,
    ::testing::Values(
        NetworkCase{"feedforward", report_family({10}, {}, 1)},
        NetworkCase{"feedforward_deep", report_family({10, 8}, {}, 1)},  // the ff-deep control's shape
        NetworkCase{"report_fb_two_passes", report_family({10}, {{1, 0}}, 2)},
        NetworkCase{"fb_four_passes_no_dropout",
                    report_family({10}, {{1, 0}}, 4, FeedbackCombine::kMix, FirstStepFeedback::kNone, Readout::kLastStep, 0.0)},
        NetworkCase{"two_hidden_chain_of_edges", report_family({10, 8}, {{2, 1}, {1, 0}}, 3)},
        NetworkCase{"two_hidden_both_edges_into_input", report_family({10, 8}, {{2, 0}, {1, 0}}, 3)},
        NetworkCase{"two_hidden_from_top", report_family({10, 8}, {{2, 0}, {2, 1}}, 2)},
        NetworkCase{"additive_feedback", report_family({10, 8}, {{2, 1}, {1, 0}}, 3, FeedbackCombine::kAdd)},
        NetworkCase{"sequence_every_step_zero_first", report_family({10}, {{1, 0}}, 4, FeedbackCombine::kMix,
                                                                    FirstStepFeedback::kZero, Readout::kEveryStep)},
        NetworkCase{"two_hidden_lower_layers_frozen", report_family({10, 8}, {{2, 1}, {1, 0}}, 3), {"layers.0", "layers.1"}},
        // fb-fixed: the edge keeps its weights, but gradient still flows through it into layers.0.
        NetworkCase{"report_fb_feedback_frozen", report_family({10}, {{1, 0}}, 2), {"feedback.0"}},
        // fb-untied: the second pass has first-layer weights of its own.
        NetworkCase{"report_fb_first_layer_untied", untied(report_family({10}, {{1, 0}}, 2), {"layers.0"})},
        // Beyond the report's family: what the graph allows.
        NetworkCase{"dropout_on_input_and_hidden", two_hidden(3, {"x", "h1"}, [](Graph& g) {
                      g.add_edge("fb.h2_h1", "h2", "h1", FeedbackCombine::kMix, 0.3);
                    })},
        NetworkCase{"per_edge_alpha_and_combine", two_hidden(3, {"h2"}, [](Graph& g) {
                      g.add_edge("fb.h2_h1", "h2", "h1", FeedbackCombine::kAdd, 0.5);
                      g.add_edge("fb.h1_x", "h1", "x", FeedbackCombine::kMix, 0.2);
                      g.add_edge("fb.h2_x", "h2", "x", FeedbackCombine::kMix, 0.7);
                    })},
        NetworkCase{"lateral_edges", two_hidden(3, {}, [](Graph& g) {
                      g.add_edge("lateral.h1", "h1", "h1", FeedbackCombine::kMix, 0.4);
                      g.add_edge("lateral.h2", "h2", "h2", FeedbackCombine::kAdd, 0.3);
                    })},
        NetworkCase{"from_the_logits_and_bottom_up", two_hidden(3, {}, [](Graph& g) {
                      g.add_edge("fb.out_h1", "layers.2", "h1", FeedbackCombine::kMix, 0.3);
                      g.add_edge("up.x_h2", "x", "h2", FeedbackCombine::kAdd, 0.1);
                    })},
        NetworkCase{"every_step_readout_middle_frozen", two_hidden(3, {"h1"}, [](Graph& g) {
                      g.add_edge("fb.h2_x", "h2", "x", FeedbackCombine::kMix, 0.3);
                    }, Readout::kEveryStep), {"layers.1"}},
        NetworkCase{"untied_every_step_readout_one_frozen", untied(two_hidden(3, {"h1"}, [](Graph& g) {
                      g.add_edge("fb.h2_x", "h2", "x", FeedbackCombine::kMix, 0.3);
                    }, Readout::kEveryStep), {"layers.0", "layers.2"}), {"layers.2"}},
        // Dropout with p = 0 is the identity in training too: its node passes values and gradients through.
        NetworkCase{"identity_dropout_with_an_edge_into_it", two_hidden(3, {"h1"}, [](Graph& g) {
                      g.add_edge("fb.h2_dropout", "h2", "dropout_h1", FeedbackCombine::kMix, 0.4);
                    }, Readout::kLastStep, 0.0)},
        NetworkCase{"gain_feedback", report_family({10, 8}, {{2, 1}, {1, 0}}, 3, FeedbackCombine::kGain)},
        NetworkCase{"gain_after_mix_into_one_target", two_hidden(3, {}, [](Graph& g) {
                      g.add_edge("fb.h2_h1", "h2", "h1", FeedbackCombine::kMix, 0.4);
                      g.add_edge("gain.h2_h1", "h2", "h1", FeedbackCombine::kGain, 0.5);
                      g.add_edge("gain.h1_h1", "h1", "h1", FeedbackCombine::kGain, 0.3);
                    }, Readout::kEveryStep)},
        // Convolutional nets: lateral (conv) and top-down (upsample + conv) edges, each combine mode.
        NetworkCase{"conv_feedforward", small_conv_net(1, [](Graph&) {})},
        NetworkCase{"conv_blt_add", small_conv_net(3, [](Graph& g) {
                      g.add_edge("lateral.h1", "h1", "conv1", FeedbackCombine::kAdd, 1.0);
                      g.add_edge("lateral.h2", "h2", "conv2", FeedbackCombine::kAdd, 1.0);
                      g.add_edge("topdown.h2", "h2", "conv1", FeedbackCombine::kAdd, 1.0);
                    })},
        NetworkCase{"conv_blt_mix_every_step_zero_first", [] {
                      Graph g = small_conv_net(3, [](Graph& graph) {
                        graph.add_edge("lateral.h1", "h1", "conv1", FeedbackCombine::kMix, 0.3);
                        graph.add_edge("topdown.h2", "h2", "conv1", FeedbackCombine::kMix, 0.2);
                      }, Readout::kEveryStep);
                      g.first_step_feedback = FirstStepFeedback::kZero;
                      g.edges[1].kernel = 1;
                      return g;
                    }()},
        NetworkCase{"conv_gain_and_from_the_logits", small_conv_net(3, [](Graph& g) {
                      g.add_edge("topdown.h2", "h2", "conv1", FeedbackCombine::kGain, 0.5);
                      g.add_edge("lateral.h1", "h1", "conv1", FeedbackCombine::kGain, 0.3);
                      g.add_edge("fb.out_conv2", "out", "conv2", FeedbackCombine::kMix, 0.3);
                      g.add_edge("fb.out_x", "out", "x", FeedbackCombine::kAdd, 0.2);
                    })},
        NetworkCase{"conv_untied_first_layer", untied(small_conv_net(2, [](Graph& g) {
                      g.add_edge("topdown.h2", "h2", "conv1", FeedbackCombine::kAdd, 0.5);
                    }), {"conv1"})}),
    [](const ::testing::TestParamInfo<NetworkCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace fbnet
