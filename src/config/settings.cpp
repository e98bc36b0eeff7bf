// Text and file forms of settings: number parsing with errors that name the
// flag, paths made absolute, and JSON/TOML config documents.
#include "config/settings.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "formats/atomic_file.hpp"

namespace fbnet {

std::string setting_for_field(const std::string& field) {
  static const std::pair<const char*, const char*> kSettings[] = {
      {"hidden_sizes", "hidden"},   {"feedback", "feedback"},        {"feedback_alpha", "feedback-alpha"},
      {"steps", "steps"},           {"dropout", "dropout"},          {"dataset", "dataset"},
      {"data_dir", "data-dir"},     {"validation_size", "validation-size"}, {"noise_scale", "noise-scale"},
      {"words", "words"},           {"allowed", "allowed"},          {"length", "length"},
      {"untied_layers", "untied"},  {"occlusion_size", "occlusion-size"}, {"graph", "graph"}};
  for (const auto& [field_name, setting] : kSettings)
    if (field == field_name) return setting;
  return "";
}

std::string message_for_user(const FieldError& error) {
  const std::string setting = setting_for_field(error.field());
  return setting.empty() ? error.what() : fmt::format("--{}: {}", setting, error.detail());
}
namespace {

template <class Integer>
Integer parse_integer(const std::string& setting, const std::string& text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  FBNET_CHECK(error == std::errc() && end == text.data() + text.size() && !text.empty(),
              "--{}: expected an integer, got '{}'", setting, text);
  return value;
}

}  // namespace

void parse_value(const std::string&, const std::string& text, std::string& field) { field = text; }
void parse_value(const std::string& setting, const std::string& text, int& field) { field = parse_integer<int>(setting, text); }
void parse_value(const std::string& setting, const std::string& text, int64_t& field) { field = parse_integer<int64_t>(setting, text); }
void parse_value(const std::string& setting, const std::string& text, uint64_t& field) { field = parse_integer<uint64_t>(setting, text); }

void parse_value(const std::string& setting, const std::string& text, double& field) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  FBNET_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(value),
              "--{}: expected a number, got '{}'", setting, text);
  field = value;
}

void parse_value(const std::string& setting, const std::string& text, bool& field) {
  FBNET_CHECK(text == "true" || text == "false", "--{}: expected true or false, got '{}'", setting, text);
  field = text == "true";
}

void parse_value(const std::string& setting, const std::string& text, std::vector<int64_t>& field) {
  field.clear();
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) field.push_back(parse_integer<int64_t>(setting, item));
}

void parse_value(const std::string&, const std::string& text, PathSetting& field) { field.path = text; }

std::string absolute_path(const std::string& text, const std::filesystem::path& base, const std::string& source) {
  if (text.empty()) return text;
  FBNET_CHECK(text.find('\0') == std::string::npos, "{}: a path cannot hold a NUL character", source);
  // A shell expands '~' in a flag; in a config file (or a quoted flag) it would name a folder called '~'.
  FBNET_CHECK(text.front() != '~', "{}: '{}': fbnet does not expand '~'; write the home folder's path out", source, text);
  // An absolute text replaces `base`; lexically_normal drops "." and "a/.." without touching the disk,
  // and a trailing separator goes too, so that runs/a and runs/a/ are one setting.
  std::filesystem::path path = (base / text).lexically_normal();
  if (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
  return path.string();
}

std::filesystem::path folder_of(const std::string& config_file) {
  return std::filesystem::absolute(config_file).parent_path();
}

std::string json_as_text(const nlohmann::json& value, const std::string& source, const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(json_as_text(item, source, key));
    return fmt::format("{}", fmt::join(items, ","));
  }
  fail("{}: setting '{}' has a value of type {}; expected a string, a number, true/false or a list", source, key, value.type_name());
}

nlohmann::json read_settings_document(const std::string& path) {
  std::error_code error;
  FBNET_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path);
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".toml") {
    try {
      const toml::table table = toml::parse_file(path);
      std::stringstream text;
      text << toml::json_formatter{table};
      return nlohmann::json::parse(text.str());
    } catch (const toml::parse_error& error) {
      fail("{}: invalid TOML at line {}: {}", path, error.source().begin.line, error.description());
    }
  }
  FBNET_CHECK(extension == ".json", "{}: expected a .json or .toml file", path);
  return read_json_file(path);
}

nlohmann::json read_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& error) {
    fail("{}: invalid JSON: {}", path, error.what());
  }
}

}  // namespace fbnet
