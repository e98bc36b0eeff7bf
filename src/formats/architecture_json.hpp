// An Architecture (the report's family of nets) as the JSON that model files
// and run folders record, and back. Reading checks every field's type and
// range, so that metadata from an untrusted file cannot make fbnet allocate
// absurd sizes; errors name the source and the field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/architecture.hpp"

namespace fbnet {

nlohmann::json architecture_to_json(const Architecture& architecture);
Architecture architecture_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace fbnet
