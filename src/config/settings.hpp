// The machinery behind a settings list: any config struct with a
// for_each_setting(config, visit) overload (RunConfig, SequenceConfig) gets
// parsing from text, formatting, JSON (config files and run folders) and the
// check that a config file names only known settings. A field's type picks its
// parse_value / json_value overload; an enum brings its own pair, found by
// argument-dependent lookup. A PathSetting field is the one kind of setting
// that names a file or folder: its relative text is made absolute where it is
// read (with_absolute_paths, SettingFlags), so that a resolved config holds
// absolute paths whichever folder fbnet ran in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/error.hpp"

namespace fbnet {

using SettingList = std::vector<std::pair<std::string, std::string>>;  // (name, text), in precedence order

// A setting that names a file or folder (data-dir, words, ff-model, out).
// `path` is absolute and lexically normal once read from a config file or a
// flag; "" means the setting's default (the dataset's folder, a run folder
// named after the run) and is never turned into a path.
struct PathSetting {
  std::string path;
  bool operator==(const PathSetting&) const = default;
};
template <class Field>
inline constexpr bool kIsPath = std::is_same_v<std::remove_cvref_t<Field>, PathSetting>;

// Field parsers; `setting` names the flag in errors ("--epochs: expected an integer").
void parse_value(const std::string& setting, const std::string& text, std::string& field);
void parse_value(const std::string& setting, const std::string& text, int& field);
void parse_value(const std::string& setting, const std::string& text, int64_t& field);
void parse_value(const std::string& setting, const std::string& text, uint64_t& field);
void parse_value(const std::string& setting, const std::string& text, double& field);
void parse_value(const std::string& setting, const std::string& text, bool& field);  // true or false
void parse_value(const std::string& setting, const std::string& text, std::vector<int64_t>& field);
// Takes the text as it is: its reader (config file, flag) has made it absolute.
void parse_value(const std::string& setting, const std::string& text, PathSetting& field);
inline nlohmann::json json_value(const std::string& field) { return field; }
inline nlohmann::json json_value(const PathSetting& field) { return field.path; }
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

// `text`, the value of a path setting, made absolute against `base` (an
// absolute folder: the config file's, or the current one for a flag) and
// lexically normal, without requiring it to exist; "" stays "". `source`
// names the setting and where it came from in errors ("cfg.toml: setting
// 'data-dir'", "--data-dir").
std::string absolute_path(const std::string& text, const std::filesystem::path& base, const std::string& source);
// The folder a config file's relative paths are relative to: its own.
std::filesystem::path folder_of(const std::string& config_file);

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

// The names of Config's path settings, in --help order.
template <class Config>
std::vector<std::string> path_settings() {
  Config config;
  std::vector<std::string> names;
  for_each_setting(config, [&](const char* setting, auto& field, const char*) {
    if constexpr (kIsPath<decltype(field)>) names.push_back(setting);
  });
  return names;
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

// `settings`, an object of settings (a config file's, a run's config.json),
// with each path setting's text made absolute against `base`; a path given as
// anything but a string is an error naming `source` and the setting.
template <class Config, class Json>
Json with_absolute_paths(Json settings, const std::filesystem::path& base, const std::string& source) {
  const std::vector<std::string> paths = path_settings<Config>();
  for (auto& [key, value] : settings.items()) {
    if (std::find(paths.begin(), paths.end(), key) == paths.end()) continue;
    FBNET_CHECK(value.is_string(), "{}: setting '{}' is a path; expected a string, got {}", source, key, value.type_name());
    value = absolute_path(value.template get<std::string>(), base, fmt::format("{}: setting '{}'", source, key));
  }
  return settings;
}

// A config file's settings; its relative paths are relative to its folder.
template <class Config>
SettingList read_config_file(const std::string& path) {
  return settings_from_json<Config>(with_absolute_paths<Config>(read_settings_document(path), folder_of(path), path), path);
}

}  // namespace fbnet
