// LstmClassifier: float64 finite-difference checks of every parameter's
// gradient through time, the parameter count torch reports, and the errors a
// caller can cause.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/random.hpp"
#include "model/lstm.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

using testing::max_gradient_error;
constexpr double kTolerance = 1e-6;

struct LstmCase {
  const char* name;
  int64_t input_size, hidden_size, classes;
  int steps;
  int64_t batch;
};

void PrintTo(const LstmCase& c, std::ostream* os) { *os << c.name; }

class LstmGradients : public ::testing::TestWithParam<LstmCase> {};

TEST_P(LstmGradients, MatchFiniteDifferences) {
  const LstmCase& c = GetParam();
  LstmClassifier<double> lstm(c.input_size, c.hidden_size, c.classes, c.steps);
  lstm.initialize(21);
  // Larger weights than the default init, so that the gates saturate unevenly
  // and the cell state carries across steps.
  for (double& v : lstm.parameters().values()) v *= 3;

  Rng rng(22);
  std::vector<Tensor<double>> images(c.steps, Tensor<double>({c.batch, c.input_size}));
  for (auto& image : images)
    for (double& v : image.values) v = rng.normal();
  std::vector<const Tensor<double>*> inputs;
  for (const auto& image : images) inputs.push_back(&image);
  std::vector<std::vector<int32_t>> labels(c.steps);
  std::vector<const int32_t*> label_pointers;
  for (auto& step_labels : labels) {
    for (int64_t b = 0; b < c.batch; ++b) step_labels.push_back(static_cast<int32_t>(rng.below(c.classes)));
    label_pointers.push_back(step_labels.data());
  }

  auto loss = [&] {
    lstm.forward(inputs, Mode::kTrain, nullptr);
    return lstm.loss(label_pointers).loss_sum / c.batch;
  };
  loss();
  // Garbage in the gradient buffer: backward must overwrite, not accumulate.
  testing::fill_with_garbage(lstm.parameters().grads());
  lstm.backward();
  const std::vector<double> analytic = lstm.parameters().grads();
  auto& params = lstm.parameters();
  for (size_t i = 0; i < params.infos().size(); ++i) {
    const ParameterInfo& info = params.infos()[i];
    const std::span<const double> grad(analytic.data() + info.offset, static_cast<size_t>(info.size()));
    // Every tensor gets gradient, except W_hh of a single step (it only sees h_{-1} = 0).
    double norm = 0;
    for (double g : grad) norm += std::abs(g);
    if (c.steps > 1 || info.name != "lstm.weight_hh_l0") EXPECT_GT(norm, 0) << info.name;
    // Step 1e-5: the rounding of the loss (~1e-16 / step) then stays well under the tolerance.
    const double error = max_gradient_error(loss, params.values_of(static_cast<int>(i)), grad, 1e-5);
    EXPECT_LT(error, kTolerance) << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(LstmSizes, LstmGradients,
                         ::testing::Values(LstmCase{"three_steps", 7, 5, 4, 3, 3},
                                           LstmCase{"one_step", 7, 5, 4, 1, 3},
                                           LstmCase{"five_steps_batch_one", 4, 3, 3, 5, 1},
                                           LstmCase{"wide_hidden", 3, 9, 2, 4, 2}),
                         [](const ::testing::TestParamInfo<LstmCase>& info) { return std::string(info.param.name); });

TEST(LstmLayout, ParameterCountAndNames) {
  // sum(p.numel() for p in (nn.LSTM(7, 5), nn.Linear(5, 4)) parameters) = 280 + 24.
  EXPECT_EQ(lstm_parameter_count(7, 5, 4), 304);
  LstmClassifier<float> lstm(7, 5, 4, 3);
  EXPECT_EQ(static_cast<int64_t>(lstm.parameters().values().size()), 304);
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"lstm.weight_ih_l0", {20, 7}}, {"lstm.weight_hh_l0", {20, 5}}, {"lstm.bias_ih_l0", {20}},
      {"lstm.bias_hh_l0", {20}},      {"readout.weight", {4, 5}},     {"readout.bias", {4}}};
  ASSERT_EQ(lstm.parameters().infos().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(lstm.parameters().infos()[i].name, expected[i].first);
    EXPECT_EQ(lstm.parameters().infos()[i].shape, expected[i].second);
  }
  // Initialised within PyTorch's bound 1/sqrt(H), and not all equal.
  lstm.initialize(3);
  const double bound = 1.0 / std::sqrt(5.0);
  for (float v : lstm.parameters().values()) EXPECT_LE(std::abs(v), bound);
  EXPECT_NE(lstm.parameters().values()[0], lstm.parameters().values()[1]);
}

TEST(LstmErrors, ShapesAndCallOrder) {
  EXPECT_THROW(LstmClassifier<double>(7, 0, 4, 3), Error);
  EXPECT_THROW(LstmClassifier<double>(7, 5, 4, 0), Error);

  LstmClassifier<double> lstm(7, 5, 4, 3);
  lstm.initialize(1);
  EXPECT_THROW(lstm.backward(), InternalError);  // no forward or loss yet
  Tensor<double> x({2, 7});
  Tensor<double> wrong_width({2, 6});
  Tensor<double> wrong_batch({3, 7});
  const std::vector<const Tensor<double>*> two_steps = {&x, &x};
  const std::vector<const Tensor<double>*> four_steps = {&x, &x, &x, &x};
  const std::vector<const Tensor<double>*> bad_width = {&x, &wrong_width, &x};
  const std::vector<const Tensor<double>*> bad_batch = {&x, &x, &wrong_batch};
  EXPECT_THROW(lstm.forward(two_steps, Mode::kTrain, nullptr), InternalError);
  EXPECT_THROW(lstm.forward(four_steps, Mode::kTrain, nullptr), InternalError);
  EXPECT_THROW(lstm.forward(bad_width, Mode::kTrain, nullptr), InternalError);
  EXPECT_THROW(lstm.forward(bad_batch, Mode::kTrain, nullptr), InternalError);

  const std::vector<const Tensor<double>*> inputs = {&x, &x, &x};
  lstm.forward(inputs, Mode::kTrain, nullptr);
  EXPECT_EQ(lstm.logits(2).shape, Shape({2, 4}));
  EXPECT_THROW(lstm.logits(3), InternalError);
  EXPECT_THROW(lstm.backward(), InternalError);  // no loss yet
  const std::vector<int32_t> good = {0, 3};
  const std::vector<int32_t> out_of_range = {0, 4};
  EXPECT_THROW(lstm.loss(std::vector<const int32_t*>{good.data(), good.data()}), InternalError);
  EXPECT_THROW(lstm.loss(std::vector<const int32_t*>{good.data(), out_of_range.data(), good.data()}), Error);
  const LossAndCorrect result = lstm.loss(std::vector<const int32_t*>{good.data(), good.data(), good.data()});
  EXPECT_GT(result.loss_sum, 0);
  EXPECT_NO_THROW(lstm.backward());
}

}  // namespace
}  // namespace fbnet
