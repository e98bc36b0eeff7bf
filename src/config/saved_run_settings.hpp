// A saved run's settings (its config.json, a model file's config), read back
// with the value each setting added to fbnet later had in effect for runs
// saved before it existed: such a run's file lacks the key, and the default
// of today may not be what computed it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"

namespace fbnet {

template <class Config>
SettingList saved_run_settings(const nlohmann::json& saved, const std::string& source) {
  // (setting, its value before it existed); first, so that the run's own and the user's settings override it.
  static const std::pair<const char*, const char*> kValueBeforeItExisted[] = {
      {"engine", "openblas"},     // every product ran on OpenBLAS until oneDNN's dnnl_sgemm became the default
      {"conv-engine", "im2col"},  // oneDNN's primitives came later, and became the default
  };
  SettingList settings;
  if (saved.is_object())  // (anything else, settings_from_json refuses, naming the source)
    for (const auto& [key, value] : kValueBeforeItExisted)
      if (is_setting<Config>(key) && !saved.contains(key)) settings.emplace_back(key, value);
  for (auto& setting : settings_from_json<Config>(saved, source)) settings.push_back(std::move(setting));
  return settings;
}

}  // namespace fbnet
