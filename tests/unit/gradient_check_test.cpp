// Finite-difference gradient checks, in float64, for every layer and for
// unrolled networks: FF, the report's FB (weights shared across passes), a net
// with two hidden layers and two feedback edges, additive feedback, a
// sequence readout at every step, and frozen layers. Backward starts from a
// gradient buffer full of garbage, as training leaves it from the last batch,
// so it must overwrite rather than add.
#include <gtest/gtest.h>

#include "engine/random.hpp"
#include "model/dropout.hpp"
#include "model/linear.hpp"
#include "model/log_softmax_nll.hpp"
#include "model/network.hpp"
#include "model/relu.hpp"
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

TEST(LayerGradients, Linear) {
  Rng rng(1);
  ParameterStore<double> store;
  store.declare("w", {3, 5});
  store.declare("b", {3});
  store.allocate();
  for (double& v : store.values()) v = rng.normal();
  const LinearParameters<double> p = store.linear(0, 1);
  Tensor<double> x = random_tensor({4, 5}, rng);
  const Tensor<double> upstream = random_tensor({4, 3}, rng);
  auto loss = [&] {
    Tensor<double> y({4, 3});
    linear_forward<double>(view(x), p, view(y));
    return dot(upstream, y);
  };
  Tensor<double> dx({4, 5});
  store.zero_grads();
  linear_backward<double>(view(x), p, view(upstream), view(dx));
  EXPECT_LT(max_gradient_error(loss, store.values(), store.grads()), kTolerance);
  EXPECT_LT(max_gradient_error(loss, x.values, dx.values), kTolerance);
}

TEST(LayerGradients, LinearWithScaleAccumulates) {
  // The feedback path: y += scale * (x W^T + b), gradients scaled alike.
  Rng rng(2);
  ParameterStore<double> store;
  store.declare("w", {2, 3});
  store.declare("b", {2});
  store.allocate();
  for (double& v : store.values()) v = rng.normal();
  const LinearParameters<double> p = store.linear(0, 1);
  Tensor<double> x = random_tensor({3, 3}, rng);
  const Tensor<double> base = random_tensor({3, 2}, rng);
  const Tensor<double> upstream = random_tensor({3, 2}, rng);
  const double scale = 0.3;
  auto loss = [&] {
    Tensor<double> y = base;
    linear_forward<double>(view(x), p, view(y), scale, true);
    return dot(upstream, y);
  };
  Tensor<double> dx = random_tensor({3, 3}, rng);
  const Tensor<double> dx_before = dx;
  store.zero_grads();
  linear_backward<double>(view(x), p, view(upstream), view(dx), scale, true);
  for (int64_t i = 0; i < dx.size(); ++i) dx.values[i] -= dx_before.values[i];
  EXPECT_LT(max_gradient_error(loss, store.values(), store.grads()), kTolerance);
  EXPECT_LT(max_gradient_error(loss, x.values, dx.values), kTolerance);
}

TEST(LayerGradients, Relu) {
  Rng rng(3);
  Tensor<double> z = random_tensor({4, 6}, rng);
  const Tensor<double> upstream = random_tensor({4, 6}, rng);
  auto loss = [&] {
    Tensor<double> y = z;
    relu_forward<double>(view(y));
    return dot(upstream, y);
  };
  Tensor<double> y = z;
  relu_forward<double>(view(y));
  Tensor<double> dz = upstream;
  relu_backward<double>(view(y), view(dz));
  EXPECT_LT(max_gradient_error(loss, z.values, dz.values), kTolerance);
}

TEST(LayerGradients, DropoutWithFixedMask) {
  Rng rng(4);
  Tensor<double> x = random_tensor({5, 4}, rng);
  const Tensor<double> upstream = random_tensor({5, 4}, rng);
  Tensor<double> mask({5, 4});
  Tensor<double> y({5, 4});
  auto loss = [&] {
    Rng mask_rng(99);  // the same mask at every evaluation
    dropout_forward<double>(view(x), 0.5, mask_rng, view(mask), view(y));
    return dot(upstream, y);
  };
  loss();
  Tensor<double> dx = upstream;
  dropout_backward<double>(view(mask), view(dx));
  EXPECT_LT(max_gradient_error(loss, x.values, dx.values), kTolerance);
  int kept = 0;
  for (double m : mask.values) {
    EXPECT_TRUE(m == 0.0 || m == 2.0);
    kept += m != 0.0;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 20);
}

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

// --- Networks: every parameter of the unrolled net, dropout masks held fixed. ---

struct NetworkCase {
  const char* name;
  std::vector<int64_t> hidden;
  std::vector<FeedbackEdge> feedback;
  int steps;
  FeedbackCombine combine = FeedbackCombine::kMix;
  FirstStepFeedback first_step = FirstStepFeedback::kNone;
  Readout readout = Readout::kLastStep;
  double dropout = 0.5;
  std::vector<int> frozen_layers = {};
};

// Test names print the case name, not its bytes.
void PrintTo(const NetworkCase& c, std::ostream* os) { *os << c.name; }

class NetworkGradients : public ::testing::TestWithParam<NetworkCase> {};

TEST_P(NetworkGradients, MatchFiniteDifferences) {
  const NetworkCase& c = GetParam();
  Architecture arch;
  arch.input_size = 7;
  arch.hidden_sizes = c.hidden;
  arch.classes = 4;
  arch.dropout = c.dropout;
  arch.feedback = c.feedback;
  arch.feedback_alpha = 0.3;
  arch.feedback_combine = c.combine;
  arch.first_step_feedback = c.first_step;
  arch.readout = c.readout;
  arch.steps = c.steps;
  Network<double> network(arch);
  network.initialize(11);
  // Stale garbage everywhere; freezing zeroes a frozen layer's part of it.
  testing::fill_with_garbage(network.parameters().grads());
  for (int layer : c.frozen_layers) network.set_layer_frozen(layer, true);

  const int64_t batch = 8;
  Rng rng(12);
  // A sequence gets a different image at each step; a static image the same one.
  std::vector<Tensor<double>> images;
  for (int s = 0; s < (c.readout == Readout::kEveryStep ? c.steps : 1); ++s) images.push_back(random_tensor({batch, 7}, rng));
  std::vector<const Tensor<double>*> inputs;
  for (int s = 0; s < c.steps; ++s) inputs.push_back(&images[images.size() == 1 ? 0 : s]);
  std::vector<std::vector<int32_t>> labels(network.readout_count());
  for (auto& step_labels : labels)
    for (int64_t b = 0; b < batch; ++b) step_labels.push_back(static_cast<int32_t>(rng.below(4)));
  std::vector<const int32_t*> label_pointers;
  for (const auto& step_labels : labels) label_pointers.push_back(step_labels.data());

  auto loss = [&] {
    Rng dropout_rng(13);
    network.forward(inputs, Mode::kTrain, &dropout_rng);
    return network.loss(label_pointers).loss_sum / batch;
  };
  loss();
  network.backward();
  const std::vector<double> analytic = network.parameters().grads();
  auto& params = network.parameters();
  for (size_t i = 0; i < params.infos().size(); ++i) {
    const ParameterInfo& info = params.infos()[i];
    const std::span<const double> grad(analytic.data() + info.offset, static_cast<size_t>(info.size()));
    double norm = 0;
    for (double g : grad) norm += std::abs(g);
    // "layers.{l}.weight" or "layers.{l}.bias"
    const bool frozen = info.name.starts_with("layers.") && network.layer_frozen(std::stoi(info.name.substr(7)));
    if (frozen) {
      EXPECT_EQ(norm, 0) << info.name << " is frozen";
      continue;
    }
    EXPECT_GT(norm, 0) << info.name;  // every trained tensor gets gradient, feedback weights included
    EXPECT_LT(max_gradient_error(loss, params.values_of(static_cast<int>(i)), grad), kTolerance) << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, NetworkGradients,
    ::testing::Values(
        NetworkCase{"feedforward", {10}, {}, 1},
        NetworkCase{"report_fb_two_passes", {10}, {{1, 0}}, 2},
        NetworkCase{"fb_four_passes_no_dropout", {10}, {{1, 0}}, 4, FeedbackCombine::kMix, FirstStepFeedback::kNone,
                    Readout::kLastStep, 0.0},
        NetworkCase{"two_hidden_chain_of_edges", {10, 8}, {{2, 1}, {1, 0}}, 3},
        NetworkCase{"two_hidden_both_edges_into_input", {10, 8}, {{2, 0}, {1, 0}}, 3},
        NetworkCase{"two_hidden_from_top", {10, 8}, {{2, 0}, {2, 1}}, 2},
        NetworkCase{"additive_feedback", {10, 8}, {{2, 1}, {1, 0}}, 3, FeedbackCombine::kAdd},
        NetworkCase{"sequence_every_step_zero_first", {10}, {{1, 0}}, 4, FeedbackCombine::kMix,
                    FirstStepFeedback::kZero, Readout::kEveryStep},
        NetworkCase{"two_hidden_lower_layers_frozen", {10, 8}, {{2, 1}, {1, 0}}, 3, FeedbackCombine::kMix,
                    FirstStepFeedback::kNone, Readout::kLastStep, 0.5, {0, 1}}),
    [](const ::testing::TestParamInfo<NetworkCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace fbnet
