// Behaviour of the unrolled network beyond its gradients: the report's
// parameter counts, what alpha = 0 and the first-step modes mean, float32
// against float64, and architecture validation.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "engine/blas.hpp"
#include "engine/random.hpp"
#include "model/network.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

Architecture small_fb(double alpha) {
  Architecture arch;
  arch.input_size = 9;
  arch.hidden_sizes = {8};
  arch.classes = 3;
  arch.feedback = {{1, 0}};
  arch.feedback_alpha = alpha;
  arch.steps = 2;
  return arch;
}

template <class Scalar>
Tensor<Scalar> random_input(int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  Tensor<Scalar> t({rows, cols});
  for (Scalar& v : t.values) v = static_cast<Scalar>(rng.normal());
  return t;
}

TEST(Network, ReportParameterCountsOnTwentySixClasses) {
  const struct {
    const char* model;
    int64_t parameters;
  } rows[] = {{"ff", 405526}, {"ff-large", 811026}, {"fb", 798310},
              // 784*500+500 + 500*500+500 + 500*26+26: FB's depth, its own weights per layer, no feedback.
              {"ff-deep", 656026}};
  for (const auto& row : rows) {
    const RunConfig config = resolve_config({{"model", row.model}});
    EXPECT_EQ(architecture_from(config, Shape{28, 28}, 26).parameter_count(), row.parameters) << row.model;
    Network<float> network(architecture_from(config, Shape{28, 28}, 26));
    EXPECT_EQ(static_cast<int64_t>(network.parameters().values().size()), row.parameters) << row.model;
  }
}

TEST(Network, AlphaZeroFeedbackNetEqualsItsFeedforwardNet) {
  Network<double> fb(small_fb(0.0));
  fb.initialize(3);
  Architecture ff_arch = small_fb(0.0);
  ff_arch.feedback.clear();
  ff_arch.steps = 1;
  Network<double> ff(ff_arch);
  // Copy the shared feedforward weights (they come first in the layout).
  std::copy_n(fb.parameters().values().begin(), ff.parameters().values().size(), ff.parameters().values().begin());
  const Tensor<double> x = random_input<double>(4, 9, 5);
  std::vector<const Tensor<double>*> two = {&x, &x}, one = {&x};
  fb.forward(two, Mode::kEval, nullptr);
  ff.forward(one, Mode::kEval, nullptr);
  for (int64_t i = 0; i < fb.logits(0).size(); ++i) EXPECT_DOUBLE_EQ(fb.logits(0).values[i], ff.logits(0).values[i]);
}

TEST(Network, FeedbackChangesTheSecondPass) {
  Network<double> fb(small_fb(0.5));
  fb.initialize(3);
  Network<double> same(small_fb(0.0));
  same.parameters().values() = fb.parameters().values();
  const Tensor<double> x = random_input<double>(4, 9, 5);
  std::vector<const Tensor<double>*> two = {&x, &x};
  fb.forward(two, Mode::kEval, nullptr);
  same.forward(two, Mode::kEval, nullptr);
  double difference = 0;
  for (int64_t i = 0; i < fb.logits(0).size(); ++i) difference += std::abs(fb.logits(0).values[i] - same.logits(0).values[i]);
  EXPECT_GT(difference, 1e-3);
}

TEST(Network, ZeroFirstStepFeedbackScalesTheFirstInputByOneMinusAlpha) {
  // Experiment 2: step 1 sees (1 - alpha) x_1, i.e. a feedforward net on 0.6 x.
  Architecture seq = small_fb(0.4);
  seq.first_step_feedback = FirstStepFeedback::kZero;
  seq.readout = Readout::kEveryStep;
  Network<double> network(seq);
  network.initialize(8);
  Architecture ff_arch = seq;
  ff_arch.feedback.clear();
  ff_arch.steps = 1;
  ff_arch.readout = Readout::kLastStep;
  Network<double> ff(ff_arch);
  std::copy_n(network.parameters().values().begin(), ff.parameters().values().size(), ff.parameters().values().begin());
  const Tensor<double> x = random_input<double>(3, 9, 6);
  Tensor<double> scaled = x;
  for (double& v : scaled.values) v *= 0.6;
  std::vector<const Tensor<double>*> steps = {&x, &x}, one = {&scaled};
  network.forward(steps, Mode::kEval, nullptr);
  ff.forward(one, Mode::kEval, nullptr);
  ASSERT_EQ(network.readout_count(), 2);
  for (int64_t i = 0; i < ff.logits(0).size(); ++i) EXPECT_NEAR(network.logits(0).values[i], ff.logits(0).values[i], 1e-12);
}

TEST(Network, Float32AgreesWithFloat64) {
  Architecture arch = small_fb(0.3);
  arch.input_size = 784;
  arch.hidden_sizes = {500};
  arch.classes = 26;
  Network<double> reference(arch);
  reference.initialize(21);
  Network<float> network(arch);
  for (size_t i = 0; i < network.parameters().values().size(); ++i)
    network.parameters().values()[i] = static_cast<float>(reference.parameters().values()[i]);
  const Tensor<float> x = random_input<float>(16, 784, 7);
  Tensor<double> x64({16, 784});
  for (int64_t i = 0; i < x.size(); ++i) x64.values[i] = x.values[i];
  std::vector<const Tensor<float>*> xs = {&x, &x};
  std::vector<const Tensor<double>*> x64s = {&x64, &x64};
  network.forward(xs, Mode::kEval, nullptr);
  reference.forward(x64s, Mode::kEval, nullptr);
  double worst = 0, largest = 0;
  for (int64_t i = 0; i < x.rows() * 26; ++i) {
    worst = std::max(worst, std::abs(network.logits(0).values[i] - reference.logits(0).values[i]));
    largest = std::max(largest, std::abs(reference.logits(0).values[i]));
  }
  EXPECT_LT(worst / largest, 1e-5);
}

TEST(Network, EvaluationIsDeterministicAndDropoutOnlyInTraining) {
  Network<float> network(small_fb(0.3));
  network.initialize(1);
  const Tensor<float> x = random_input<float>(6, 9, 2);
  std::vector<const Tensor<float>*> xs = {&x, &x};
  network.forward(xs, Mode::kEval, nullptr);
  const std::vector<float> first = network.logits(0).values;
  network.forward(xs, Mode::kEval, nullptr);
  EXPECT_EQ(first, network.logits(0).values);
  Rng rng(4);
  network.forward(xs, Mode::kTrain, &rng);
  EXPECT_NE(first, network.logits(0).values);
}

TEST(Network, FlopsCountEveryProduct) {
  Architecture ff;
  ff.classes = 26;
  EXPECT_EQ(matmul_flops_per_sample(graph_of(ff), false), 2 * (784 * 500 + 500 * 26));
  // Training: forward + weight gradients + the hidden layer's input gradient.
  EXPECT_EQ(matmul_flops_per_sample(graph_of(ff), true), 2 * (2 * 784 * 500 + 3 * 500 * 26));
  Architecture fb = ff;
  fb.feedback = {{1, 0}};
  fb.steps = 2;
  // Passes: layer 0 twice, feedback once, output once.
  EXPECT_EQ(matmul_flops_per_sample(graph_of(fb), false), 2 * (2 * 784 * 500 + 500 * 784 + 500 * 26));
  // ff-deep: the products of FB's unrolled path, each layer once; in training every layer above the
  // first also takes its input gradient.
  const Architecture deep = architecture_from(resolve_config({{"model", "ff-deep"}}), Shape{28, 28}, 26);
  EXPECT_EQ(matmul_flops_per_sample(graph_of(deep), false), 2 * (784 * 500 + 500 * 500 + 500 * 26));
  EXPECT_EQ(matmul_flops_per_sample(graph_of(deep), true), 2 * (2 * 784 * 500 + 3 * 500 * 500 + 3 * 500 * 26));
}

// What backward keeps per sample, the base of the memory estimate: FB on 10
// classes computes x, layers.0 and h1 at step 0, and at step 1 x with its
// combined value, layers.0, h1, dropout and layers.1.
TEST(Network, ActivationValuesCountEveryComputedNodeAndCombine) {
  const Architecture fb = architecture_from(resolve_config({{"model", "fb"}}), Shape{28, 28}, 10);
  EXPECT_EQ(activation_values_per_sample(graph_of(fb)), (784 + 500 + 500) + (2 * 784 + 500 + 500 + 500 + 10));
  const Architecture ff = architecture_from(resolve_config({{"model", "ff"}}), Shape{28, 28}, 10);
  EXPECT_EQ(activation_values_per_sample(graph_of(ff)), 784 + 500 + 500 + 500 + 10);
}

TEST(Network, RecordedProductsOfATrainingStepMatchTheFlopCount) {
  // The FLOP count (fbnet info, the benchmark's floor) and the products the
  // engine really runs must agree.
  for (const char* model : {"ff", "fb", "fb-untied", "fb-fixed"}) {
    const RunConfig config = resolve_config({{"model", model}});
    const Architecture arch = architecture_from(config, Shape{28, 28}, 26);
    Network<float> network(arch);
    network.initialize(1);
    for (const std::string& name : split_names(config.frozen)) network.set_frozen(name, true);
    const Tensor<float> x = random_input<float>(64, 784, 3);
    std::vector<const Tensor<float>*> inputs(arch.steps, &x);
    std::vector<int32_t> labels(64, 1);
    std::vector<const int32_t*> step_labels = {labels.data()};
    Rng rng(2);
    GemmRecorder recorder;
    network.forward(inputs, Mode::kTrain, &rng);
    network.loss(step_labels);
    network.backward();
    int64_t flops = 0;
    for (const GemmCall& call : recorder.calls()) flops += call.flops();
    EXPECT_EQ(flops, 64 * matmul_flops_per_sample(graph_of(arch), true, split_names(config.frozen))) << model;
    // fb-fixed skips its feedback's weight gradient.
    const std::string name = model;
    EXPECT_EQ(recorder.calls().size(), name == "ff" ? 5u : name == "fb-fixed" ? 10u : 11u) << model;
  }
}

TEST(Network, ArchitectureValidationNamesTheProblem) {
  const struct {
    const char* what;
    std::function<void(Architecture&)> change;
    const char* message;
  } cases[] = {
      {"edge upwards", [](Architecture& a) { a.feedback = {{1, 1}}; }, "field 'feedback': an edge must go from a higher"},
      {"edge from output", [](Architecture& a) { a.feedback = {{2, 0}}; }, "field 'feedback': a source must be"},
      {"alpha", [](Architecture& a) { a.feedback_alpha = 1.5; }, "field 'feedback_alpha'"},
      {"steps", [](Architecture& a) { a.steps = 0; }, "field 'steps'"},
      {"dropout", [](Architecture& a) { a.dropout = 1.0; }, "field 'dropout'"},
      {"no hidden", [](Architecture& a) { a.hidden_sizes.clear(); }, "field 'hidden_sizes'"},
  };
  for (const auto& c : cases) {
    Architecture arch = small_fb(0.3);
    c.change(arch);
    try {
      arch.validate();
      ADD_FAILURE() << c.what << ": no error";
    } catch (const FieldError& error) {  // model errors name fields; the config names the flag that set one
      EXPECT_NE(std::string(error.what()).find(c.message), std::string::npos) << c.what << ": " << error.what();
    }
  }
}

TEST(Network, FeedbackEdgesParse) {
  const auto edges = parse_feedback_edges("h2->h1, h1->x", 2);
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0], (FeedbackEdge{2, 1}));
  EXPECT_EQ(edges[1], (FeedbackEdge{1, 0}));
  EXPECT_THROW(parse_feedback_edges("h3->x", 2), Error);
  EXPECT_THROW(parse_feedback_edges("x->h1", 2), Error);
  EXPECT_THROW(parse_feedback_edges("h1-x", 2), Error);
}


TEST(Graph, AnEdgeIntoTheReadoutIsRefused) {
  Graph graph;
  graph.add_node("x", OpKind::kInput, {}, {4});
  graph.add_node("layers.0", OpKind::kLinear, {"x"}, {3});
  graph.add_node("h1", OpKind::kRelu, {"layers.0"}, {3});
  graph.readout_node = graph.add_node("layers.1", OpKind::kLinear, {"h1"}, {2});
  graph.steps = 2;
  graph.add_edge("into_out", "h1", "layers.1", FeedbackCombine::kMix, 0.3);
  testing::expect_error([&] { Network<double> network(graph); }, "targets the readout node 'layers.1'");
}

}  // namespace
}  // namespace fbnet
