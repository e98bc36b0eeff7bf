// Test-time interventions (model/intervention.hpp, train/interventions.hpp):
// each changes only what it should. Off with alpha = 0 changes nothing, and
// off on the report's FB is its feedforward pass; swap among identical images
// is no swap, and otherwise gives each image its partner's feedback; mean
// uses the mean over the whole evaluated set; one edge at a time leaves the
// other edges alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "model/network.hpp"
#include "train/batches.hpp"
#include "train/interventions.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

constexpr int64_t kInputs = 7, kHidden = 10, kClasses = 4;

// The report's FB on 7 inputs: x -> layers.0 -> h1 -> dropout -> layers.1, feedback h1 -> x, 2 passes.
Architecture report_fb(double alpha) {
  Architecture arch;
  arch.input_size = kInputs;
  arch.hidden_sizes = {kHidden};
  arch.classes = kClasses;
  arch.feedback = {{1, 0}};
  arch.feedback_alpha = alpha;
  arch.steps = 2;
  return arch;
}

// FB's feedforward layers alone (same parameter names), to compute by hand what a pass sees.
std::unique_ptr<Network<float>> feedforward_part(const Network<float>& fb) {
  Architecture arch = fb.architecture();
  arch.feedback.clear();
  arch.steps = 1;
  auto ff = std::make_unique<Network<float>>(arch);
  copy_parameters_by_name(fb.parameters(), ff->parameters(), ff->parameters().infos());
  return ff;
}

const Tensor<float>& run(Network<float>& network, const Tensor<float>& x) {
  const std::vector<const Tensor<float>*> steps(network.steps(), &x);
  network.forward(steps, Mode::kEval, nullptr);
  return network.logits(network.readout_count() - 1);
}

// What FB's second pass sees when image b receives the feedback row feedback(b):
// (1 - alpha) x_b + alpha feedback(b), alpha = 0.3. [B, 7]
Tensor<float> second_pass_input(const Tensor<float>& x, const std::function<const float*(int64_t)>& feedback) {
  Tensor<float> mixed(x.shape);
  for (int64_t b = 0; b < x.rows(); ++b)
    for (int64_t i = 0; i < kInputs; ++i) mixed.row(b)[i] = 0.7f * x.row(b)[i] + 0.3f * feedback(b)[i];
  return mixed;
}

void expect_near(const Tensor<float>& a, const Tensor<float>& b, double tolerance) {
  ASSERT_EQ(a.shape, b.shape);
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a.values[i], b.values[i], tolerance) << "at " << i;
}

LabeledImages images(int64_t count, uint64_t seed) {
  Rng rng(seed);
  return testing::synthetic_images(count, kInputs, kClasses, rng);
}

TEST(Interventions, OffWithAlphaZeroChangesNothing) {
  for (FirstStepFeedback first_step : {FirstStepFeedback::kNone, FirstStepFeedback::kZero}) {
    Architecture arch = report_fb(0.0);
    arch.first_step_feedback = first_step;
    Network<float> network(arch);
    network.initialize(3);
    const LabeledImages set = images(9, 1);
    const Tensor<float> unchanged = run(network, set.images);
    network.set_intervention(0, {InterventionKind::kOff});
    const Tensor<float> off = run(network, set.images);
    EXPECT_EQ(off.values, unchanged.values) << to_string(first_step);
  }
}

TEST(Interventions, OffMakesEveryPassTheFeedforwardPass) {
  Network<float> fb(report_fb(0.3));
  fb.initialize(3);
  const auto feedforward_owner = feedforward_part(fb);
  Network<float>& ff = *feedforward_owner;
  const LabeledImages set = images(9, 1);
  const Tensor<float> with_feedback = run(fb, set.images);
  fb.set_intervention(0, {InterventionKind::kOff});
  const Tensor<float> off = run(fb, set.images);
  EXPECT_EQ(off.values, run(ff, set.images).values);
  EXPECT_NE(off.values, with_feedback.values);
  fb.set_intervention(0, {});  // restored
  EXPECT_EQ(run(fb, set.images).values, with_feedback.values);
}

TEST(Interventions, SwapAmongIdenticalImagesIsNoSwap) {
  Network<float> network(report_fb(0.3));
  network.initialize(5);
  LabeledImages set = images(8, 2);
  for (int64_t b = 1; b < set.count(); ++b) std::copy_n(set.images.row(0), kInputs, set.images.row(b));
  const Tensor<float> unchanged = run(network, set.images);
  Rng rng(0, kSwapPartnerStream);
  const std::vector<int64_t> partner = swap_partners(set.labels.data(), set.count(), rng);
  for (int64_t b = 0; b < set.count(); ++b) EXPECT_NE(set.labels[partner[b]], set.labels[b]) << b;
  network.set_intervention(0, {InterventionKind::kSwap, {}, partner});
  EXPECT_EQ(run(network, set.images).values, unchanged.values);
}

TEST(Interventions, SwapGivesEachImageItsPartnersFeedback) {
  Network<float> fb(report_fb(0.3));
  fb.initialize(5);
  const auto feedforward_owner = feedforward_part(fb);
  Network<float>& ff = *feedforward_owner;
  const LabeledImages set = images(8, 2);
  run(fb, set.images);
  const Tensor<float> signal = fb.feedback_signal(1, 0);  // [8, 7]: what h1 of pass 1 sends into x
  const std::vector<int64_t> partner = {3, 2, 1, 0, 7, 6, 5, 4};
  const Tensor<float> expected_input =
      second_pass_input(set.images, [&](int64_t b) { return signal.row(partner[b]); });
  fb.set_intervention(0, {InterventionKind::kSwap, {}, partner});
  expect_near(run(fb, set.images), run(ff, expected_input), 1e-5);
}

TEST(Interventions, MeanUsesTheMeanOverTheWholeSet) {
  Network<float> fb(report_fb(0.3));
  fb.initialize(7);
  const auto feedforward_owner = feedforward_part(fb);
  Network<float>& ff = *feedforward_owner;
  const LabeledImages set = images(20, 4);
  // In batches of 7 (7 + 7 + 6), against the average of one forward over all 20.
  ImageBatches batches(set, fb.steps(), fb.readout_count());
  const auto means = mean_signals(fb, batches, 7);
  run(fb, set.images);
  const Tensor<float> signal = fb.feedback_signal(1, 0);
  Tensor<float> expected({1, kInputs});
  for (int64_t b = 0; b < set.count(); ++b)
    for (int64_t i = 0; i < kInputs; ++i) expected.values[i] += signal.row(b)[i] / 20.0f;
  ASSERT_EQ(means.size(), 1u);
  expect_near(means[0][1], expected, 1e-5);
  for (float value : means[0][0].values) EXPECT_EQ(value, 0.0f);  // nothing fired before step 1
  // Every image's pass 2 sees the mean.
  const Tensor<float> expected_input = second_pass_input(set.images, [&](int64_t) { return means[0][1].values.data(); });
  fb.set_intervention(0, {InterventionKind::kMean, means[0], {}});
  expect_near(run(fb, set.images), run(ff, expected_input), 1e-5);
}

// Two edges into x; intervening on one leaves the other as it was: off on
// "feedback.0" (mix) is that edge at alpha = 0, the rest unchanged.
TEST(Interventions, OneEdgeAtATimeLeavesTheOthersAlone) {
  Architecture arch = report_fb(0.3);
  arch.hidden_sizes = {kHidden, 6};
  arch.feedback = {{2, 0}, {1, 0}};
  arch.steps = 3;
  Network<float> network(arch);
  network.initialize(9);
  Graph without_first = network.graph();
  without_first.edges[0].alpha = 0.0;
  Network<float> reference(without_first);
  copy_parameters_by_name(network.parameters(), reference.parameters(), reference.parameters().infos());
  const LabeledImages set = images(9, 3);
  network.set_intervention(0, {InterventionKind::kOff});
  EXPECT_EQ(run(network, set.images).values, run(reference, set.images).values);
  network.set_intervention(0, {});

  ImageBatches batches(set, network.steps(), network.readout_count());
  const std::vector<InterventionResult> results = evaluate_interventions(network, batches, 4, 0);
  ASSERT_EQ(results.size(), 1u + 3u * 3u);  // none; off, mean, swap on both edges, on feedback.0, on feedback.1
  EXPECT_EQ(results[0].kind, InterventionKind::kNone);
  EXPECT_EQ(results[1].edges, (std::vector<std::string>{"feedback.0", "feedback.1"}));
  EXPECT_EQ(results[4].kind, InterventionKind::kOff);
  EXPECT_EQ(results[4].edges, (std::vector<std::string>{"feedback.0"}));
  EXPECT_EQ(results[9].kind, InterventionKind::kSwap);
  EXPECT_EQ(results[9].edges, (std::vector<std::string>{"feedback.1"}));
  // The net is left as it was.
  EXPECT_EQ(evaluate(network, batches, 4).loss, results[0].evaluation.loss);
}

// With feedback.0 at alpha = 0 (mix), an intervention on it alone changes
// nothing, and one on both edges is one on feedback.1 alone: each
// intervention reaches exactly the edges it names.
TEST(Interventions, ReachOnlyTheEdgesTheyName) {
  Architecture arch = report_fb(0.3);
  arch.hidden_sizes = {kHidden, 6};
  arch.feedback = {{2, 0}, {1, 0}};
  arch.steps = 3;
  Graph graph = graph_of(arch);
  graph.edges[0].alpha = 0.0;
  Network<float> network(graph);
  network.initialize(9);
  const LabeledImages set = images(40, 6);
  ImageBatches batches(set, network.steps(), network.readout_count());
  const auto means = mean_signals(network, batches, 16);
  const double unchanged = evaluate(network, batches, 16).loss;
  for (InterventionKind kind : {InterventionKind::kOff, InterventionKind::kMean, InterventionKind::kSwap}) {
    SCOPED_TRACE(to_string(kind));
    EXPECT_EQ(evaluate_intervention(network, batches, 16, kind, {0}, means, 1).loss, unchanged);
    const double second_alone = evaluate_intervention(network, batches, 16, kind, {1}, means, 1).loss;
    EXPECT_NE(second_alone, unchanged);
    EXPECT_EQ(evaluate_intervention(network, batches, 16, kind, {0, 1}, means, 1).loss, second_alone);
  }
}

TEST(Interventions, AreRefusedInTraining) {
  Network<float> network(report_fb(0.3));
  network.initialize(1);
  network.set_intervention(0, {InterventionKind::kOff});
  const LabeledImages set = images(4, 1);
  const std::vector<const Tensor<float>*> steps(2, &set.images);
  Rng dropout(1);
  EXPECT_THROW(network.forward(steps, Mode::kTrain, &dropout), InternalError);
}

}  // namespace
}  // namespace fbnet
