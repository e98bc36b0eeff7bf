// CLI11 options generated from the settings list.
#include "cli/setting_flags.hpp"

#include <algorithm>
#include <filesystem>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "engine/error.hpp"
#include "train/config.hpp"

namespace fbnet {
namespace {

// The value's kind in --help, e.g. "--epochs INT=30".
template <class Field>
const char* type_name(const Field&) {
  if constexpr (std::is_same_v<Field, std::string>) return "TEXT";
  else if constexpr (std::is_same_v<Field, double>) return "FLOAT";
  else if constexpr (std::is_integral_v<Field>) return "INT";
  else if constexpr (std::is_same_v<Field, std::vector<int64_t>>) return "INT,...";
  else return "NAME";
}

}  // namespace

void SettingFlags::add_to(CLI::App& app, const std::vector<std::string>& only) {
  const RunConfig defaults;
  for_each_setting(defaults, [&](const char* name, const auto& field, const char* help) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) return;
    CLI::Option* option = app.add_option(std::string("--") + name, values_[name], help);
    option->default_str(format_setting(defaults, name));
    option->type_name(type_name(field));
    options_.emplace_back(name, option);
  });
}

std::vector<std::pair<std::string, std::string>> SettingFlags::given() const {
  std::vector<std::pair<std::string, std::string>> settings;
  for (const auto& [name, option] : options_)
    if (option->count() > 0) settings.emplace_back(name, values_.at(name));
  return settings;
}

std::vector<std::pair<std::string, std::string>> explicit_settings(const std::string& resume_folder,
                                                                   const std::string& config_path,
                                                                   const SettingFlags& flags) {
  std::vector<std::pair<std::string, std::string>> settings;
  if (!resume_folder.empty()) {
    const std::string path = (std::filesystem::path(resume_folder) / "config.json").string();
    FBNET_CHECK(std::filesystem::is_regular_file(path), "--resume: {} is not a run folder (it has no config.json)",
                resume_folder);
    const nlohmann::json run = read_json_file(path);
    FBNET_CHECK(run.is_object() && run.contains("config"), "{}: has no 'config' entry", path);
    settings = settings_from_json(run["config"], path);
    settings.emplace_back("out", resume_folder);
  }
  if (!config_path.empty())
    for (auto& setting : read_config_file(config_path)) settings.push_back(std::move(setting));
  for (auto& setting : flags.given()) settings.push_back(std::move(setting));
  return settings;
}

}  // namespace fbnet
