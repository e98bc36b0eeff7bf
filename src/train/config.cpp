// Parsing, formatting, presets and validation of RunConfig settings.
#include "train/config.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "engine/enum_names.hpp"
#include "engine/error.hpp"
#include "train/atomic_file.hpp"

namespace fbnet {
namespace {

constexpr EnumName<ModelPreset> kModelNames[] = {
    {ModelPreset::kFF, "ff"}, {ModelPreset::kFFLarge, "ff-large"}, {ModelPreset::kFB, "fb"}, {ModelPreset::kCustom, "custom"}};
constexpr EnumName<ProgressMode> kProgressNames[] = {
    {ProgressMode::kAuto, "auto"}, {ProgressMode::kAlways, "always"}, {ProgressMode::kNever, "never"}};

template <class Integer>
Integer parse_integer(const std::string& setting, const std::string& text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  FBNET_CHECK(error == std::errc() && end == text.data() + text.size() && !text.empty(),
              "--{}: expected an integer, got '{}'", setting, text);
  return value;
}

double parse_double(const std::string& setting, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  FBNET_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(value),
              "--{}: expected a number, got '{}'", setting, text);
  return value;
}

// Overloads, one per field type that for_each_setting visits.
void parse_value(const std::string&, const std::string& text, std::string& field) { field = text; }
void parse_value(const std::string& setting, const std::string& text, int& field) { field = parse_integer<int>(setting, text); }
void parse_value(const std::string& setting, const std::string& text, int64_t& field) { field = parse_integer<int64_t>(setting, text); }
void parse_value(const std::string& setting, const std::string& text, uint64_t& field) { field = parse_integer<uint64_t>(setting, text); }
void parse_value(const std::string& setting, const std::string& text, double& field) { field = parse_double(setting, text); }
void parse_value(const std::string& setting, const std::string& text, std::vector<int64_t>& field) {
  field.clear();
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) field.push_back(parse_integer<int64_t>(setting, item));
}
void parse_value(const std::string& setting, const std::string& text, ModelPreset& field) { field = parse_enum(kModelNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, FeedbackCombine& field) { field = parse_feedback_combine(text, "--" + setting); }
void parse_value(const std::string& setting, const std::string& text, FirstStepFeedback& field) { field = parse_first_step_feedback(text, "--" + setting); }
void parse_value(const std::string& setting, const std::string& text, ProgressMode& field) { field = parse_enum(kProgressNames, "--" + setting, text); }

nlohmann::json json_value(const std::string& field) { return field; }
template <class Number>
  requires std::is_arithmetic_v<Number>
nlohmann::json json_value(Number field) { return field; }
nlohmann::json json_value(const std::vector<int64_t>& field) { return field; }
nlohmann::json json_value(ModelPreset field) { return enum_name(kModelNames, field); }
nlohmann::json json_value(FeedbackCombine field) { return to_string(field); }
nlohmann::json json_value(FirstStepFeedback field) { return to_string(field); }
nlohmann::json json_value(ProgressMode field) { return enum_name(kProgressNames, field); }

// A JSON value of a config file as the text a flag would carry.
std::string json_as_text(const nlohmann::json& value, const std::string& source, const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(json_as_text(item, source, key));
    return fmt::format("{}", fmt::join(items, ","));
  }
  fail("{}: setting '{}' has a value of type {}; expected a string, a number or a list", source, key, value.type_name());
}

// The report's networks with the hyperparameters its grid chose (NOTES.md).
struct Preset {
  ModelPreset model;
  int64_t hidden;
  const char* feedback;
  int steps;
  double feedback_alpha;
  double learning_rate;
  double momentum;
  int64_t batch_size;
};
constexpr Preset kPresets[] = {
    {ModelPreset::kFF, 500, "", 1, 0.3, 0.02, 0.7, 128},
    {ModelPreset::kFFLarge, 1000, "", 1, 0.3, 0.04, 0.5, 128},
    {ModelPreset::kFB, 500, "h1->x", 2, 0.3, 0.02, 0.3, 64},
};

void apply_preset(RunConfig& config) {
  for (const Preset& preset : kPresets) {
    if (preset.model != config.model) continue;
    config.hidden = {preset.hidden};
    config.feedback = preset.feedback;
    config.steps = preset.steps;
    config.feedback_alpha = preset.feedback_alpha;
    config.learning_rate = preset.learning_rate;
    config.momentum = preset.momentum;
    config.batch_size = preset.batch_size;
  }
}

}  // namespace

void parse_setting(RunConfig& config, const std::string& name, const std::string& text) {
  bool found = false;
  for_each_setting(config, [&](const char* setting, auto& field, const char*) {
    if (name != setting) return;
    parse_value(name, text, field);
    found = true;
  });
  FBNET_CHECK(found, "unknown setting '{}'", name);
}

std::string format_setting(const RunConfig& config, const std::string& name) {
  const nlohmann::json value = config_to_json(config).at(name);
  return value.is_string() ? value.get<std::string>() : json_as_text(value, "config", name);
}

bool is_setting(const std::string& name) {
  RunConfig config;
  bool found = false;
  for_each_setting(config, [&](const char* setting, auto&, const char*) { found |= name == setting; });
  return found;
}

RunConfig resolve_config(const std::vector<std::pair<std::string, std::string>>& explicit_settings) {
  RunConfig config;
  for (const auto& [name, text] : explicit_settings)
    if (name == "model") parse_setting(config, name, text);
  apply_preset(config);
  for (const auto& [name, text] : explicit_settings) parse_setting(config, name, text);
  return config;
}

std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path) {
  return settings_from_json(read_settings_document(path), path);
}

nlohmann::json read_settings_document(const std::string& path) {
  std::error_code error;
  FBNET_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path);
  const std::string extension = std::filesystem::path(path).extension().string();
  nlohmann::json json;
  if (extension == ".toml") {
    try {
      const toml::table table = toml::parse_file(path);
      std::stringstream text;
      text << toml::json_formatter{table};
      json = nlohmann::json::parse(text.str());
    } catch (const toml::parse_error& error) {
      fail("{}: invalid TOML at line {}: {}", path, error.source().begin.line, error.description());
    }
  } else if (extension == ".json") {
    json = read_json_file(path);
  } else {
    fail("{}: expected a .json or .toml file", path);
  }
  return json;
}

std::vector<std::pair<std::string, std::string>> settings_from_json(const nlohmann::json& json,
                                                                    const std::string& source) {
  FBNET_CHECK(json.is_object(), "{}: a config must be an object of settings", source);
  std::vector<std::pair<std::string, std::string>> settings;
  for (const auto& [key, value] : json.items()) {
    FBNET_CHECK(is_setting(key), "{}: unknown setting '{}' (see fbnet train --help)", source, key);
    settings.emplace_back(key, json_as_text(value, source, key));
  }
  return settings;
}

nlohmann::json read_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& error) {
    fail("{}: invalid JSON: {}", path, error.what());
  }
}

nlohmann::ordered_json config_to_json(const RunConfig& config) {
  nlohmann::ordered_json json;
  for_each_setting(config, [&](const char* name, const auto& field, const char*) { json[name] = json_value(field); });
  return json;
}

void validate(const RunConfig& config) {
  FBNET_CHECK(config.epochs > 0, "--epochs: must be positive, got {}", config.epochs);
  FBNET_CHECK(config.learning_rate > 0, "--learning-rate: must be positive, got {}", config.learning_rate);
  FBNET_CHECK(config.momentum >= 0 && config.momentum < 1, "--momentum: must be in [0, 1), got {}", config.momentum);
  FBNET_CHECK(config.batch_size > 0, "--batch-size: must be positive, got {}", config.batch_size);
  FBNET_CHECK(config.eval_batch_size > 0, "--eval-batch-size: must be positive, got {}", config.eval_batch_size);
  FBNET_CHECK(config.validation_size >= 0, "--validation-size: must be >= 0, got {}", config.validation_size);
  FBNET_CHECK(config.train_limit >= 0, "--train-limit: must be >= 0, got {}", config.train_limit);
  FBNET_CHECK(config.noise_scale >= 0, "--noise-scale: must be >= 0, got {}", config.noise_scale);
  FBNET_CHECK(config.threads >= 0 && config.threads <= 256, "--threads: must be in 0..256, got {}", config.threads);
  // Alpha, dropout, steps, hidden sizes and feedback edges: the architecture's own checks.
  architecture_from(config, 784, 2).validate();
}

Architecture architecture_from(const RunConfig& config, int64_t input_size, int classes) {
  Architecture arch;
  arch.input_size = input_size;
  arch.classes = classes;
  arch.hidden_sizes = config.hidden;
  arch.feedback = parse_feedback_edges(config.feedback, static_cast<int>(config.hidden.size()));
  arch.feedback_alpha = config.feedback_alpha;
  arch.feedback_combine = config.feedback_combine;
  arch.first_step_feedback = config.first_step_feedback;
  arch.steps = config.steps;
  arch.dropout = config.dropout;
  arch.readout = Readout::kLastStep;
  return arch;
}

std::string model_name(ModelPreset model) { return enum_name(kModelNames, model); }

}  // namespace fbnet
