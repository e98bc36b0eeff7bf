// Architecture: the plain description of the report's family of feedback
// networks, from which graph_of() builds the Graph a Network runs. The
// report's FF, FF-large and FB nets are three values of this struct, not
// three classes.
//
// Activations are numbered a_0 = input, a_1..a_N = hidden layers, a_{N+1} =
// output logits; layer l maps a_l to a_{l+1}. A feedback edge takes hidden
// activation a_source at step t-1 through a Linear layer of its own into the
// input a_target of layer `target` at step t (target < source), where it is
// combined with the feedforward input.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fbnet {

struct Graph;

// How the feedback signal fb enters the feedforward input x.
enum class FeedbackCombine {
  kMix,  // (1 - alpha) x + alpha fb: the report's rule
  kAdd,   // x + alpha fb
  kGain,  // x * (1 + alpha fb): multiplicative modulation; fb = 0 leaves x as it is
};

// What feedback enters at the first step, before any higher layer has fired.
enum class FirstStepFeedback {
  kNone,  // no mixing at step 1: experiment 1 (pass 1 is a plain forward pass)
  kZero,  // mixing with fb = 0: experiment 2 (the first image enters at 1 - alpha)
};

// At which steps the output layer reads out and the loss is taken.
enum class Readout {
  kLastStep,   // static image, several passes: experiment 1
  kEveryStep,  // sequence, one image per step: experiment 2
};

struct FeedbackEdge {
  int source = 1;  // hidden activation index, 1..N
  int target = 0;  // activation index, 0..source-1
  bool operator==(const FeedbackEdge&) const = default;
};

struct Architecture {
  int64_t input_size = 784;
  std::vector<int64_t> hidden_sizes = {500};
  int64_t classes = 10;
  double dropout = 0.5;  // on the input of the output layer, in training only
  std::vector<FeedbackEdge> feedback;
  // Layers with weights of their own at each step instead of shared ones (the
  // fb-untied control unties layer 0); each must run at every step.
  std::vector<int> untied_layers;
  double feedback_alpha = 0.3;
  FeedbackCombine feedback_combine = FeedbackCombine::kMix;
  FirstStepFeedback first_step_feedback = FirstStepFeedback::kNone;
  Readout readout = Readout::kLastStep;
  int steps = 1;  // passes over a static image, or sequence length
  // A net outside the report's family, given whole (a conv preset, a graph
  // file): graph_of() returns it, and of the fields above only input_size and
  // classes, which must agree with it, still mean anything.
  std::shared_ptr<const Graph> graph;

  int64_t activation_size(int index) const;
  int64_t layer_output_size(int layer) const { return activation_size(layer + 1); }

  // Throws fbnet::Error naming the offending field.
  void validate() const;

  // Parameters of the graph built from this description (graph_of).
  int64_t parameter_count() const;
};

// Spellings in flags, config files and checkpoint metadata.
const char* to_string(FeedbackCombine value);
const char* to_string(FirstStepFeedback value);
const char* to_string(Readout value);
// Throw fbnet::Error naming `what` and the allowed spellings.
FeedbackCombine parse_feedback_combine(const std::string& text, const std::string& what);
FirstStepFeedback parse_first_step_feedback(const std::string& text, const std::string& what);
Readout parse_readout(const std::string& text, const std::string& what);

std::string activation_name(int index, int hidden_count);
// "h1->x,h2->h1" (or "h1:x,h2:h1") -> edges; throws fbnet::FieldError on malformed text.
std::vector<FeedbackEdge> parse_feedback_edges(const std::string& text, int hidden_count);
// {"layers.0"} -> {0}; throws fbnet::FieldError (untied_layers) on another name.
std::vector<int> parse_untied_layers(const std::vector<std::string>& names, int hidden_count);

}  // namespace fbnet
