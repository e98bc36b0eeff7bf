// The epoch a report uses, by name and by record.
#include "experiments/reported_epoch.hpp"

#include "train/training_loop.hpp"

namespace fbnet {

const char* reported_epoch_name(ReportedEpoch epoch) { return epoch == ReportedEpoch::kBest ? "best" : "last"; }

const char* reported_epoch_phrase(ReportedEpoch epoch) { return epoch == ReportedEpoch::kBest ? "best-validation" : "last"; }

const char* model_file_name(ReportedEpoch epoch) {
  return epoch == ReportedEpoch::kBest ? "best.safetensors" : "model.safetensors";
}

nlohmann::ordered_json reported_record(const std::vector<nlohmann::ordered_json>& records, ReportedEpoch epoch) {
  if (records.empty()) return nullptr;
  if (epoch == ReportedEpoch::kLast) return records.back();
  const BestEpoch best = best_epoch(records);
  return best.epoch > 0 ? records[best.index] : nullptr;
}

}  // namespace fbnet
