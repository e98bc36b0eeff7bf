// The versions a result depends on, recorded in every run folder.
#pragma once

#include <nlohmann/json.hpp>

namespace fbnet {

// {"fbnet": ..., "compiler": ..., "blas": ..., "blas_threads": ...}
nlohmann::json environment_description();

}  // namespace fbnet
