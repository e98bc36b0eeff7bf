// A run folder's per-epoch metrics: metrics.jsonl (one JSON object per epoch)
// and metrics.csv (the same as a table), both replaced atomically.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fbnet {

void write_metrics(const std::string& folder, const std::vector<nlohmann::ordered_json>& epochs);
// The records of metrics.jsonl; a torn last line ends the list.
std::vector<nlohmann::ordered_json> read_metrics(const std::string& folder);

}  // namespace fbnet
