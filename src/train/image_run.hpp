// One training run: builds the network from a RunConfig, trains it with
// SGD-momentum for config.training.epochs, evaluates validation, test and noisy test
// after each epoch, and keeps its run folder up to date:
//   config.json      the resolved config, architecture, parameter count, versions
//   metrics.jsonl    one JSON object per epoch
//   metrics.csv      the same as a table
//   checkpoint.safetensors  weights + momentum after the last epoch (resume)
//   model.safetensors       weights only, for use elsewhere
//   best.safetensors        weights of the epoch with the best validation accuracy so far
// Every file is replaced atomically, so a killed run loses at most the epoch
// in progress, and `resume` continues bit-identically from the last epoch.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "formats/metrics_file.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

struct RunResult {
  std::string folder;
  int64_t parameters = 0;
  std::vector<nlohmann::ordered_json> epochs;  // as written to metrics.jsonl
};

// The settings that identify a run: those that differ from its preset's
// defaults (a setting added to fbnet later leaves earlier runs' names alone),
// less out, progress, memory-limit and divergence-factor, which cannot change
// what a finished run holds; its engine when it is not the built-in default.
// Paths are absolute. default_run_folder and grid run ids hash it.
nlohmann::ordered_json identifying_settings(const RunConfig& config);

// runs/MODEL-seedS-DIGEST: the preset's name ("custom" once flags change its
// architecture) and 8 hex digits of a hash of its identifying_settings().
std::string default_run_folder(const RunConfig& config);

// resume: continue the run in config.output.out from its checkpoint (which must exist
// and match the architecture); otherwise config.output.out must not hold a run yet.
RunResult train_run(const RunConfig& config, const PreparedData& data, bool resume);

}  // namespace fbnet
