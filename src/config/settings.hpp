// The machinery behind a settings list: any config struct with a
// for_each_setting(config, visit) overload (RunConfig, SequenceConfig) gets
// parsing from text, formatting, JSON (config files and run folders) and the
// check that a config file names only known settings. A field's type picks its
// parse_value / json_value overload; an enum brings its own pair, found by
// argument-dependent lookup.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/error.hpp"

namespace fbnet {

using SettingList = std::vector<std::pair<std::string, std::string>>;  // (name, text), in precedence order

// Field parsers; `setting` names the flag in errors ("--epochs: expected an integer").
void parse_value(const std::string& setting, const std::string& text, std::string& field);
void parse_value(const std::string& setting, const std::string& text, int& field);
void parse_value(const std::string& setting, const std::string& text, int64_t& field);
void parse_value(const std::string& setting, const std::string& text, uint64_t& field);
void parse_value(const std::string& setting, const std::string& text, double& field);
void parse_value(const std::string& setting, const std::string& text, bool& field);  // true or false
void parse_value(const std::string& setting, const std::string& text, std::vector<int64_t>& field);
inline nlohmann::json json_value(const std::string& field) { return field; }
template <class Number>
  requires std::is_arithmetic_v<Number>
nlohmann::json json_value(Number field) { return field; }
inline nlohmann::json json_value(const std::vector<int64_t>& field) { return field; }

// A value of a config file as the text a flag would carry ([1, 2] -> "1,2").
std::string json_as_text(const nlohmann::json& value, const std::string& source, const std::string& key);
// A JSON or TOML (by extension) file as a JSON document, not yet checked as settings.
nlohmann::json read_settings_document(const std::string& path);
// Parses a JSON file; throws fbnet::Error naming the file.
nlohmann::json read_json_file(const std::string& path);

// The setting that sets a field of a model or data description
// ("hidden_sizes" -> "hidden"), or "" when no setting does (a size read from
// the dataset).
std::string setting_for_field(const std::string& field);
// A FieldError as the user who gave the setting sees it: "--hidden: DETAIL",
// or the error's own message when no setting sets the field.
std::string message_for_user(const FieldError& error);

template <class Config>
bool is_setting(const std::string& name) {
  Config config;
  bool found = false;
  for_each_setting(config, [&](const char* setting, auto&, const char*) { found |= name == setting; });
  return found;
}

template <class Config>
void parse_setting(Config& config, const std::string& name, const std::string& text) {
  bool found = false;
  for_each_setting(config, [&](const char* setting, auto& field, const char*) {
    if (name != setting) return;
    parse_value(name, text, field);
    found = true;
  });
  FBNET_CHECK(found, "unknown setting '{}'", name);
}

// The settings in --help order.
template <class Config>
nlohmann::ordered_json config_to_json(const Config& config) {
  nlohmann::ordered_json json;
  for_each_setting(config, [&](const char* name, const auto& field, const char*) { json[name] = json_value(field); });
  return json;
}

template <class Config>
std::string format_setting(const Config& config, const std::string& name) {
  const nlohmann::json value = config_to_json(config).at(name);
  return value.is_string() ? value.get<std::string>() : json_as_text(value, "config", name);
}

// An object of settings as (name, text) pairs; an unknown key is an error
// naming `source` and the key.
template <class Config>
SettingList settings_from_json(const nlohmann::json& json, const std::string& source) {
  FBNET_CHECK(json.is_object(), "{}: a config must be an object of settings", source);
  SettingList settings;
  for (const auto& [key, value] : json.items()) {
    FBNET_CHECK(is_setting<Config>(key), "{}: unknown setting '{}' (see --help for the settings)", source, key);
    settings.emplace_back(key, json_as_text(value, source, key));
  }
  return settings;
}

template <class Config>
SettingList read_config_file(const std::string& path) {
  return settings_from_json<Config>(read_settings_document(path), path);
}

}  // namespace fbnet
