// CLI11 options generated from the settings list.
#include "cli/setting_flags.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/error.hpp"
#include "train/config.hpp"

namespace fbnet {
void SettingFlags::add_flag(CLI::App& app, const std::string& name, const std::string& help,
                            const std::string& default_text, const char* type) {
  CLI::Option* option = app.add_option("--" + name, values_[name], help);
  option->default_str(default_text);
  option->type_name(type);
  options_.emplace_back(name, option);
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
    settings = settings_from_json<RunConfig>(run["config"], path);
    settings.emplace_back("out", resume_folder);
  }
  if (!config_path.empty())
    for (auto& setting : read_config_file<RunConfig>(config_path)) settings.push_back(std::move(setting));
  for (auto& setting : flags.given()) settings.push_back(std::move(setting));
  return settings;
}

}  // namespace fbnet
