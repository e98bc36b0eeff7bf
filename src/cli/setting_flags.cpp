// CLI11 options generated from the settings list.
#include "cli/setting_flags.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "engine/error.hpp"

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
  for (const auto& [name, option] : options_) {
    if (option->count() == 0) continue;
    const bool is_path = std::find(path_flags_.begin(), path_flags_.end(), name) != path_flags_.end();
    const std::string& text = values_.at(name);
    settings.emplace_back(name, is_path ? absolute_path(text, std::filesystem::current_path(), "--" + name) : text);
  }
  return settings;
}

nlohmann::json resumed_config(const std::string& folder) {
  const std::string path = (std::filesystem::path(folder) / "config.json").string();
  FBNET_CHECK(std::filesystem::is_regular_file(path), "--resume: {} is not a run folder (it has no config.json)", folder);
  const nlohmann::json run = read_json_file(path);
  FBNET_CHECK(run.is_object() && run.contains("config"), "{}: has no 'config' entry", path);
  return run["config"];
}

}  // namespace fbnet
