// Architecture <-> JSON.
#include "formats/architecture_json.hpp"

#include "engine/error.hpp"
#include "formats/graph_json.hpp"
#include "model/graph.hpp"

namespace fbnet {

nlohmann::json architecture_to_json(const Architecture& a) {
  if (a.graph) return {{"input_size", a.input_size}, {"classes", a.classes}, {"graph", graph_to_json(*a.graph)}};
  nlohmann::json edges = nlohmann::json::array();
  for (const FeedbackEdge& edge : a.feedback) edges.push_back({{"source", edge.source}, {"target", edge.target}});
  nlohmann::json json = {{"input_size", a.input_size},
                         {"hidden_sizes", a.hidden_sizes},
                         {"classes", a.classes},
                         {"dropout", a.dropout},
                         {"feedback", edges},
                         {"feedback_alpha", a.feedback_alpha},
                         {"feedback_combine", to_string(a.feedback_combine)},
                         {"first_step_feedback", to_string(a.first_step_feedback)},
                         {"readout", to_string(a.readout)},
                         {"steps", a.steps}};
  // Written only when set, so that the metadata of nets without it stays as it was.
  if (!a.untied_layers.empty()) json["untied_layers"] = a.untied_layers;
  return json;
}

Architecture architecture_from_json(const nlohmann::json& json, const std::string& source) {
  // Integers must be JSON integers: converting 1e30 to int64 would be undefined.
  auto integer = [&](const nlohmann::json& value, const char* field) -> int64_t {
    FBNET_CHECK(value.is_number_integer(), "{}: architecture field '{}' must be an integer, got {}", source, field,
                value.dump());
    return value.get<int64_t>();
  };
  auto small_integer = [&](const nlohmann::json& value, const char* field) -> int {
    const int64_t v = integer(value, field);
    FBNET_CHECK(v >= -(int64_t{1} << 30) && v <= (int64_t{1} << 30), "{}: architecture field '{}' = {} is out of range",
                source, field, v);
    return static_cast<int>(v);
  };
  auto text = [&](const nlohmann::json& value, const char* field) -> std::string {
    FBNET_CHECK(value.is_string(), "{}: architecture field '{}' must be a string", source, field);
    return value.get<std::string>();
  };
  try {
    Architecture a;
    a.input_size = integer(json.at("input_size"), "input_size");
    if (json.contains("graph")) {
      a.classes = integer(json.at("classes"), "classes");
      a.graph = std::make_shared<const Graph>(graph_from_json(json.at("graph"), source + ": architecture field 'graph'"));
      a.validate();
      return a;
    }
    a.hidden_sizes.clear();
    FBNET_CHECK(json.at("hidden_sizes").is_array(), "{}: architecture field 'hidden_sizes' must be a list", source);
    for (const auto& size : json.at("hidden_sizes")) a.hidden_sizes.push_back(integer(size, "hidden_sizes"));
    a.classes = integer(json.at("classes"), "classes");
    a.dropout = json.at("dropout").get<double>();
    FBNET_CHECK(json.at("feedback").is_array(), "{}: architecture field 'feedback' must be a list", source);
    for (const auto& edge : json.at("feedback"))
      a.feedback.push_back({small_integer(edge.at("source"), "source"), small_integer(edge.at("target"), "target")});
    a.feedback_alpha = json.at("feedback_alpha").get<double>();
    a.feedback_combine = parse_feedback_combine(text(json.at("feedback_combine"), "feedback_combine"), source);
    a.first_step_feedback = parse_first_step_feedback(text(json.at("first_step_feedback"), "first_step_feedback"), source);
    a.readout = parse_readout(text(json.at("readout"), "readout"), source);
    a.steps = small_integer(json.at("steps"), "steps");
    if (json.contains("untied_layers")) {
      FBNET_CHECK(json["untied_layers"].is_array(), "{}: architecture field 'untied_layers' must be a list", source);
      for (const auto& layer : json["untied_layers"]) a.untied_layers.push_back(small_integer(layer, "untied_layers"));
    }
    a.validate();
    return a;
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed architecture metadata: {}", source, error.what());
  } catch (const Error& error) {
    fail("{}: invalid architecture metadata: {}", source, error.what());
  }
}

}  // namespace fbnet
