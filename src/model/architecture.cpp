// Validation, spellings and feedback-edge parsing of an Architecture; its
// parameter count comes from the graph built from it.
#include "model/architecture.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "engine/enum_names.hpp"
#include "engine/error.hpp"
#include "model/graph.hpp"

namespace fbnet {
namespace {

constexpr EnumName<FeedbackCombine> kCombineNames[] = {
    {FeedbackCombine::kMix, "mix"}, {FeedbackCombine::kAdd, "add"}, {FeedbackCombine::kGain, "gain"}};
constexpr EnumName<FirstStepFeedback> kFirstStepNames[] = {{FirstStepFeedback::kNone, "none"},
                                                           {FirstStepFeedback::kZero, "zero"}};
constexpr EnumName<Readout> kReadoutNames[] = {{Readout::kLastStep, "last-step"}, {Readout::kEveryStep, "every-step"}};

}  // namespace

const char* to_string(FeedbackCombine value) { return enum_name(kCombineNames, value); }
const char* to_string(FirstStepFeedback value) { return enum_name(kFirstStepNames, value); }
const char* to_string(Readout value) { return enum_name(kReadoutNames, value); }
FeedbackCombine parse_feedback_combine(const std::string& text, const std::string& what) {
  return parse_enum(kCombineNames, what, text);
}
FirstStepFeedback parse_first_step_feedback(const std::string& text, const std::string& what) {
  return parse_enum(kFirstStepNames, what, text);
}
Readout parse_readout(const std::string& text, const std::string& what) { return parse_enum(kReadoutNames, what, text); }

int64_t Architecture::activation_size(int index) const {
  if (index == 0) return input_size;
  if (index <= static_cast<int>(hidden_sizes.size())) return hidden_sizes[index - 1];
  return classes;
}

void Architecture::validate() const {
  // Bounds far above any MLP fbnet trains, so that sizes from an untrusted
  // checkpoint cannot overflow the counts below or allocate absurd memory.
  constexpr size_t kMaxHiddenLayers = 64;
  constexpr int64_t kMaxParameters = int64_t{1} << 31;
  const char* owner = "architecture";
  FBNET_CHECK_FIELD(input_size > 0 && input_size <= kMaxWidth, owner, "input_size", "must be in 1..{}, got {}", kMaxWidth,
                    input_size);
  FBNET_CHECK_FIELD(classes >= 2 && classes <= kMaxWidth, owner, "classes", "must be in 2..{}, got {}", kMaxWidth, classes);
  if (graph) {
    graph->validate();
    const std::vector<int> inputs = graph->input_nodes();
    FBNET_CHECK_FIELD(inputs.size() == 1 && element_count(graph->nodes[inputs[0]].shape) == input_size, owner, "graph",
                      "an image net has one input node of the images' {} values", input_size);
    FBNET_CHECK_FIELD(graph->nodes[graph->readout_node].shape == Shape{classes}, owner, "graph",
                      "the readout '{}' gives {}, but the data has {} classes", graph->nodes[graph->readout_node].name,
                      shape_string(graph->nodes[graph->readout_node].shape), classes);
    FBNET_CHECK_FIELD(parameter_count() <= kMaxParameters, owner, "graph", "{} parameters is more than the {} fbnet allows",
                      parameter_count(), kMaxParameters);
    return;
  }
  FBNET_CHECK_FIELD(!hidden_sizes.empty(), owner, "hidden_sizes", "needs at least one hidden layer");
  FBNET_CHECK_FIELD(hidden_sizes.size() <= kMaxHiddenLayers, owner, "hidden_sizes", "allows at most {} layers, got {}",
                    kMaxHiddenLayers, hidden_sizes.size());
  for (int64_t size : hidden_sizes)
    FBNET_CHECK_FIELD(size > 0 && size <= kMaxWidth, owner, "hidden_sizes", "sizes must be in 1..{}, got {}", kMaxWidth,
                      size);
  FBNET_CHECK_FIELD(feedback.size() <= kMaxHiddenLayers * kMaxHiddenLayers, owner, "feedback",
                    "too many feedback edges ({})", feedback.size());
  FBNET_CHECK_FIELD(steps >= 1 && steps <= kMaxSteps, owner, "steps", "must be in 1..{}, got {}", kMaxSteps, steps);
  FBNET_CHECK_FIELD(dropout >= 0.0 && dropout < 1.0, owner, "dropout", "must be in [0, 1), got {}", dropout);
  FBNET_CHECK_FIELD(feedback_alpha >= 0.0 && feedback_alpha <= 1.0, owner, "feedback_alpha", "must be in [0, 1], got {}",
                    feedback_alpha);
  const int hidden_count = static_cast<int>(hidden_sizes.size());
  for (const FeedbackEdge& edge : feedback) {
    FBNET_CHECK_FIELD(edge.source >= 1 && edge.source <= hidden_count, owner, "feedback",
                      "a source must be a hidden layer h1..h{}, got index {}", hidden_count, edge.source);
    FBNET_CHECK_FIELD(edge.target >= 0 && edge.target < edge.source, owner, "feedback",
                      "an edge must go from a higher to a lower layer, got {}->{}",
                      activation_name(edge.source, hidden_count), activation_name(edge.target, hidden_count));
  }
  FBNET_CHECK_FIELD(parameter_count() <= kMaxParameters, owner, "hidden_sizes",
                    "{} parameters is more than the {} fbnet allows", parameter_count(), kMaxParameters);
  FBNET_CHECK_FIELD(!(feedback.empty() && steps > 1 && readout == Readout::kLastStep), owner, "steps",
                    "{} steps without feedback edges repeat the same pass; use 1", steps);
  FBNET_CHECK_FIELD(feedback.empty() || steps >= 2, owner, "steps",
                    "feedback fires from the second pass on, so with 1 step its weights would never be used; it "
                    "needs 2 or more (the report's FB: 2)");
  for (size_t i = 0; i < untied_layers.size(); ++i) {
    FBNET_CHECK_FIELD(untied_layers[i] >= 0 && untied_layers[i] <= hidden_count, owner, "untied_layers",
                      "layer {} is not one of 0..{}", untied_layers[i], hidden_count);
    FBNET_CHECK_FIELD(std::find(untied_layers.begin(), untied_layers.begin() + i, untied_layers[i]) ==
                          untied_layers.begin() + i,
                      owner, "untied_layers", "layers.{} is named twice", untied_layers[i]);
  }
  // Graph::validate checks the same of any graph; here the message names the setting.
  if (untied_layers.empty()) return;
  const Graph graph = graph_of(*this);
  const Schedule schedule = schedule_of(graph);
  for (int layer : untied_layers)
    for (int step = 0; step < steps; ++step)
      FBNET_CHECK_FIELD(schedule.computed[step][graph.node_index(fmt::format("layers.{}", layer))], owner,
                        "untied_layers", "layers.{} does not run at step {} of this net; only a layer that runs at every "
                        "step can have weights per step", layer, step);
}

int64_t Architecture::parameter_count() const { return fbnet::parameter_count(graph_of(*this)); }

std::string activation_name(int index, int hidden_count) {
  if (index == 0) return "x";
  if (index <= hidden_count) return fmt::format("h{}", index);
  return "out";
}

namespace {

int parse_activation(const std::string& name, int hidden_count, const std::string& edge_text) {
  if (name == "x") return 0;
  int index = 0;
  if (name.size() >= 2 && name[0] == 'h') {
    const auto [end, error] = std::from_chars(name.data() + 1, name.data() + name.size(), index);
    if (error == std::errc() && end == name.data() + name.size() && index >= 1 && index <= hidden_count) return index;
  }
  fail_field("architecture", "feedback", "'{}' in edge '{}' is not a layer; expected x or h1..h{}", name, edge_text,
             hidden_count);
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
    // SOURCE->TARGET, or SOURCE:TARGET, which a shell leaves alone unquoted.
    const size_t arrow = edge_text.find("->");
    const size_t colon = edge_text.find(':');
    FBNET_CHECK_FIELD((arrow != std::string::npos) != (colon != std::string::npos), "architecture", "feedback",
                      "edge '{}' must look like SOURCE->TARGET or SOURCE:TARGET, e.g. h1->x or h1:x", edge_text);
    const size_t split = arrow != std::string::npos ? arrow : colon;
    FeedbackEdge edge{parse_activation(edge_text.substr(0, split), hidden_count, edge_text),
                      parse_activation(edge_text.substr(split + (arrow != std::string::npos ? 2 : 1)), hidden_count, edge_text)};
    FBNET_CHECK_FIELD(edge.target < edge.source, "architecture", "feedback",
                      "edge '{}' must go from a higher to a lower layer", edge_text);
    edges.push_back(edge);
    start = end + 1;
  }
  return edges;
}

std::vector<int> parse_untied_layers(const std::vector<std::string>& names, int hidden_count) {
  std::vector<int> layers;
  for (const std::string& name : names) {
    int layer = -1;
    const char* digits = name.data() + std::min(name.size(), std::string_view("layers.").size());
    const auto [end, error] = std::from_chars(digits, name.data() + name.size(), layer);
    FBNET_CHECK_FIELD(name.starts_with("layers.") && error == std::errc() && end == name.data() + name.size() &&
                          layer >= 0 && layer <= hidden_count,
                      "architecture", "untied_layers", "'{}' is not a linear layer of this net; expected layers.0..layers.{}",
                      name, hidden_count);
    layers.push_back(layer);
  }
  return layers;
}

}  // namespace fbnet
