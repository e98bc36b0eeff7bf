// Which epoch of a finished run a report uses: the last, as the report did,
// or the one with the best validation accuracy (best.safetensors), as early
// stopping would keep. Table 1, the controls and the grid take either
// (--report-epoch last|best); every epoch's record holds its test results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fbnet {

enum class ReportedEpoch { kLast, kBest };

// "last" or "best", as --report-epoch spells it.
const char* reported_epoch_name(ReportedEpoch epoch);
// How a report's text names it: "last" or "best-validation".
const char* reported_epoch_phrase(ReportedEpoch epoch);
// The run folder's model file of that epoch: model.safetensors or best.safetensors.
const char* model_file_name(ReportedEpoch epoch);
// That epoch's record among a run's `records`; null when there is none.
nlohmann::ordered_json reported_record(const std::vector<nlohmann::ordered_json>& records, ReportedEpoch epoch);

}  // namespace fbnet
