// Binds the settings of for_each_setting() to command line flags, so that
// every setting is a flag with its help and default, and collects the flags a
// user actually gave (in order) for resolve_config().
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace fbnet {

class SettingFlags {
 public:
  // Adds --NAME for every setting, or only for `only` when it is non-empty.
  void add_to(CLI::App& app, const std::vector<std::string>& only = {});
  // (name, text) of the flags given on the command line.
  std::vector<std::pair<std::string, std::string>> given() const;

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, CLI::Option*>> options_;
};

// The settings a command starts from, lowest precedence first: a run folder's
// resolved config (resume), a --config file, then the flags given.
std::vector<std::pair<std::string, std::string>> explicit_settings(const std::string& resume_folder,
                                                                   const std::string& config_path,
                                                                   const SettingFlags& flags);

}  // namespace fbnet
