// Validation, schedule, parameter and FLOP counts of an Architecture.
#include "model/architecture.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace fbnet {

int64_t Architecture::activation_size(int index) const {
  if (index == 0) return input_size;
  if (index <= static_cast<int>(hidden_sizes.size())) return hidden_sizes[index - 1];
  return classes;
}

void Architecture::validate() const {
  FBNET_CHECK(input_size > 0, "architecture: input size must be positive, got {}", input_size);
  FBNET_CHECK(classes >= 2, "architecture: need at least 2 classes, got {}", classes);
  FBNET_CHECK(!hidden_sizes.empty(), "architecture: --hidden needs at least one hidden layer");
  for (int64_t size : hidden_sizes)
    FBNET_CHECK(size > 0, "architecture: --hidden sizes must be positive, got {}", size);
  FBNET_CHECK(dropout >= 0.0 && dropout < 1.0, "architecture: --dropout must be in [0, 1), got {}", dropout);
  FBNET_CHECK(feedback_alpha >= 0.0 && feedback_alpha <= 1.0,
              "architecture: --feedback-alpha must be in [0, 1], got {}", feedback_alpha);
  FBNET_CHECK(steps >= 1, "architecture: --steps must be at least 1, got {}", steps);
  const int hidden_count = static_cast<int>(hidden_sizes.size());
  for (const FeedbackEdge& edge : feedback) {
    FBNET_CHECK(edge.source >= 1 && edge.source <= hidden_count,
                "architecture: feedback source must be a hidden layer h1..h{}, got index {}", hidden_count,
                edge.source);
    FBNET_CHECK(edge.target >= 0 && edge.target < edge.source,
                "architecture: feedback must go from a higher to a lower layer, got {}->{}",
                activation_name(edge.source, hidden_count), activation_name(edge.target, hidden_count));
  }
  FBNET_CHECK(!(feedback.empty() && steps > 1 && readout == Readout::kLastStep),
              "architecture: --steps {} without feedback edges repeats the same pass; use --steps 1", steps);
}

int Architecture::top_layer(int step) const {
  if (is_readout(step)) return layer_count() - 1;
  int top = -1;
  for (const FeedbackEdge& edge : feedback) top = std::max(top, edge.source - 1);
  return top;
}

int64_t Architecture::parameter_count() const {
  int64_t count = 0;
  for (int layer = 0; layer < layer_count(); ++layer)
    count += (layer_input_size(layer) + 1) * layer_output_size(layer);
  for (const FeedbackEdge& edge : feedback)
    count += (activation_size(edge.source) + 1) * activation_size(edge.target);
  return count;
}

int64_t Architecture::matmul_flops_per_sample(bool training) const {
  // Follows Network::forward and Network::backward product by product.
  int64_t flops = 0;
  for (int step = 0; step < steps; ++step) {
    const int top = top_layer(step);
    for (int layer = 0; layer <= top; ++layer) {
      const int64_t product = 2 * layer_input_size(layer) * layer_output_size(layer);
      flops += product;  // forward
      if (!training) continue;
      flops += product;  // weight gradient
      bool has_incoming_feedback = false;
      for (const FeedbackEdge& edge : feedback) has_incoming_feedback |= edge.target == layer;
      if (layer > 0 || (has_incoming_feedback && step > 0)) flops += product;  // input gradient
    }
    if (step == 0) continue;
    for (const FeedbackEdge& edge : feedback) {
      const int64_t product = 2 * activation_size(edge.source) * activation_size(edge.target);
      flops += training ? 3 * product : product;  // forward, weight gradient, source gradient
    }
  }
  return flops;
}

std::string Architecture::describe() const {
  const int hidden_count = static_cast<int>(hidden_sizes.size());
  std::string text;
  for (int layer = 0; layer < layer_count(); ++layer) {
    const bool is_output = layer == layer_count() - 1;
    text += fmt::format("  layer {}: {} [{}] -> {} [{}]  Linear({}, {}){}{}  params {}\n", layer,
                        activation_name(layer, hidden_count), layer_input_size(layer),
                        activation_name(layer + 1, hidden_count), layer_output_size(layer),
                        layer_input_size(layer), layer_output_size(layer),
                        is_output && dropout > 0 ? fmt::format(" after Dropout({})", dropout) : "",
                        is_output ? " -> log-softmax" : " -> ReLU",
                        (layer_input_size(layer) + 1) * layer_output_size(layer));
  }
  for (size_t e = 0; e < feedback.size(); ++e) {
    const FeedbackEdge& edge = feedback[e];
    text += fmt::format("  feedback {}: {} (step t-1) -> input of layer {} (step t)  Linear({}, {}), {} alpha {}  params {}\n", e,
                        activation_name(edge.source, hidden_count), edge.target, activation_size(edge.source),
                        activation_size(edge.target),
                        feedback_combine == FeedbackCombine::kMix ? "mix" : "add", feedback_alpha,
                        (activation_size(edge.source) + 1) * activation_size(edge.target));
  }
  text += fmt::format("  steps {}, readout at {}, first-step feedback {}\n", steps,
                      readout == Readout::kLastStep ? "the last step" : "every step",
                      first_step_feedback == FirstStepFeedback::kNone ? "none" : "zero");
  return text;
}

std::string activation_name(int index, int hidden_count) {
  if (index == 0) return "x";
  if (index <= hidden_count) return fmt::format("h{}", index);
  return "out";
}

namespace {

int parse_activation(const std::string& name, int hidden_count, const std::string& edge_text) {
  if (name == "x") return 0;
  if (name.size() >= 2 && name[0] == 'h' && std::all_of(name.begin() + 1, name.end(), ::isdigit)) {
    const int index = std::stoi(name.substr(1));
    if (index >= 1 && index <= hidden_count) return index;
  }
  fail("--feedback: '{}' in edge '{}' is not a layer; expected x or h1..h{}", name, edge_text, hidden_count);
}

}  // namespace

std::vector<FeedbackEdge> parse_feedback_edges(const std::string& text, int hidden_count) {
  std::vector<FeedbackEdge> edges;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string edge_text = text.substr(start, end - start);
    std::erase(edge_text, ' ');
    const size_t arrow = edge_text.find("->");
    FBNET_CHECK(arrow != std::string::npos, "--feedback: edge '{}' must look like SOURCE->TARGET, e.g. h1->x",
                edge_text);
    FeedbackEdge edge{parse_activation(edge_text.substr(0, arrow), hidden_count, edge_text),
                      parse_activation(edge_text.substr(arrow + 2), hidden_count, edge_text)};
    FBNET_CHECK(edge.target < edge.source, "--feedback: edge '{}' must go from a higher to a lower layer",
                edge_text);
    edges.push_back(edge);
    start = end + 1;
  }
  return edges;
}

std::string format_feedback_edges(const std::vector<FeedbackEdge>& edges, int hidden_count) {
  std::string text;
  for (const FeedbackEdge& edge : edges) {
    if (!text.empty()) text += ",";
    text += activation_name(edge.source, hidden_count) + "->" + activation_name(edge.target, hidden_count);
  }
  return text;
}

}  // namespace fbnet
