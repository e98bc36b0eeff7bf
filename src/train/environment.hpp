// The versions a result depends on, recorded in every run folder.
#pragma once

#include <nlohmann/json.hpp>

namespace fbnet {

// {"fbnet": ..., "compiler": ..., then compute_description(): "engine", "engine_version", "threads", "blas"}
nlohmann::ordered_json environment_description();

}  // namespace fbnet
