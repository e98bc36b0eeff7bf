// Writing and reading metrics.jsonl and metrics.csv.
#include "formats/metrics_file.hpp"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "formats/atomic_file.hpp"

namespace fbnet {
void write_metrics(const std::string& folder, const std::vector<nlohmann::ordered_json>& epochs) {
  std::string jsonl;
  for (const auto& record : epochs) jsonl += record.dump() + "\n";
  write_file_atomic(path_in(folder, "metrics.jsonl"), jsonl);
  std::string csv;
  if (!epochs.empty()) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : epochs.front().items()) keys.push_back(key);
    csv += fmt::format("{}\n", fmt::join(keys, ","));
  }
  for (const auto& record : epochs) {
    std::vector<std::string> cells;
    for (const auto& [key, value] : record.items()) cells.push_back(value.dump());
    csv += fmt::format("{}\n", fmt::join(cells, ","));
  }
  write_file_atomic(path_in(folder, "metrics.csv"), csv);
}

std::vector<nlohmann::ordered_json> read_metrics(const std::string& folder) {
  std::vector<nlohmann::ordered_json> epochs;
  std::ifstream in(path_in(folder, "metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      epochs.push_back(nlohmann::ordered_json::parse(line));
    } catch (const nlohmann::json::exception&) {
      break;  // a torn last line from an older writer; the epoch is recomputed
    }
  }
  return epochs;
}

}  // namespace fbnet
