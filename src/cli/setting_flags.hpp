// Binds the settings of a for_each_setting() list (RunConfig, SequenceConfig)
// to command line flags, so that every setting is a flag with its help and
// default, and collects the flags a user actually gave (in order), their
// paths made absolute against the current folder.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/saved_run_settings.hpp"
#include "config/settings.hpp"
#include "experiments/reported_epoch.hpp"

namespace fbnet {

// The resolved settings in FOLDER/config.json, which every run writes.
nlohmann::json resumed_config(const std::string& folder);

// --report-epoch last|best of the commands that report finished runs (grid, reproduce table1 and controls).
inline void add_report_epoch_option(CLI::App& command, ReportedEpoch& epoch) {
  command.add_option("--report-epoch", epoch, "which epoch of each run the report shows and selects by: last (the "
                     "report's rule) or best (the epoch of best validation accuracy, best.safetensors)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, ReportedEpoch>{{"last", ReportedEpoch::kLast},
                                                                               {"best", ReportedEpoch::kBest}}))
      ->default_str("last");
}

class SettingFlags {
 public:
  // Adds --NAME for every setting of Config, or only for `only` when it is
  // non-empty. --help shows Config's defaults, or `default_text` for every
  // flag where the defaults come from elsewhere (e.g. "the run's").
  template <class Config>
  void add_to(CLI::App& app, const std::vector<std::string>& only = {}, const char* default_text = nullptr) {
    const Config defaults;
    for_each_setting(defaults, [&](const char* name, const auto& field, const char* help) {
      if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) return;
      add_flag(app, name, help, default_text ? default_text : format_setting(defaults, name), type_name(field));
      if constexpr (kIsPath<decltype(field)>) path_flags_.push_back(name);
    });
  }
  // (name, text) of the flags given on the command line; a relative path is
  // relative to the current folder, and comes back absolute.
  std::vector<std::pair<std::string, std::string>> given() const;

 private:
  // The value's kind in --help, e.g. "--epochs INT=30".
  template <class Field>
  static const char* type_name(const Field&) {
    if constexpr (std::is_same_v<Field, std::string>) return "TEXT";
    else if constexpr (kIsPath<Field>) return "PATH";
    else if constexpr (std::is_same_v<Field, double>) return "FLOAT";
    else if constexpr (std::is_same_v<Field, bool>) return "true|false";
    else if constexpr (std::is_integral_v<Field>) return "INT";
    else if constexpr (std::is_same_v<Field, std::vector<int64_t>>) return "INT,...";
    else return "NAME";
  }
  void add_flag(CLI::App& app, const std::string& name, const std::string& help, const std::string& default_text,
                const char* type);

  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, CLI::Option*>> options_;
  std::vector<std::string> path_flags_;
};

// The settings of a Config a command starts from, lowest precedence first: a
// run folder's resolved config (resume), a --config file, then the flags given.
template <class Config>
SettingList explicit_settings(const std::string& resume_folder, const std::string& config_path,
                              const SettingFlags& flags) {
  SettingList settings;
  if (!resume_folder.empty()) {
    // A run of the other experiment, or another folder to write to, would fail later with a misleading message.
    const nlohmann::json resumed = resumed_config(resume_folder);
    const bool sequence_run = resumed.contains("net"), sequence_command = is_setting<Config>("net");
    FBNET_CHECK(sequence_run == sequence_command, "--resume: {} is {}; continue it with {} --resume {}", resume_folder,
                sequence_run ? "a sequence run (experiment 2)" : "an experiment-1 run",
                sequence_run ? "fbnet sequence" : "fbnet train", resume_folder);
    // Runs from before paths were made absolute stored them as given, relative to the folder fbnet ran in.
    const std::string source = resume_folder + "/config.json";
    settings =
        saved_run_settings<Config>(with_absolute_paths<Config>(resumed, std::filesystem::current_path(), source), source);
    settings.emplace_back("out", absolute_path(resume_folder, std::filesystem::current_path(), "--resume"));
  }
  if (!config_path.empty())
    for (auto& setting : read_config_file<Config>(config_path)) settings.push_back(std::move(setting));
  for (auto& setting : flags.given()) {
    FBNET_CHECK(resume_folder.empty() || setting.first != "out" ||
                    std::filesystem::weakly_canonical(setting.second) == std::filesystem::weakly_canonical(resume_folder),
                "--out: --resume continues the run in its own folder {}; leave out --out (or copy the folder to {} "
                "and resume that)", resume_folder, setting.second);
    settings.push_back(std::move(setting));
  }
  return settings;
}

}  // namespace fbnet
