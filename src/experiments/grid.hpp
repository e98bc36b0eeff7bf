// Grid search: a settings file whose values may be lists expands into
// configurations, each trained as its own `fbnet train` process in its own run
// folder, in parallel, resumable after any kill, and splittable into shards
// that share a folder. The report picks the best configuration per model by
// validation accuracy at the reported epoch: the last (the report's rule) or
// the best-validation one (--report-epoch best).
//
// A grid file is a config file (TOML or JSON) where
//   - a list value is an axis: learning-rate = [0.01, 0.02]
//     (hidden, itself a list, is an axis when it is a list of lists);
//   - [[grid]] tables (JSON: "grid": [...]) are sub-grids whose axes combine
//     only among themselves, over the file's shared top-level settings; the
//     configurations are the union over sub-grids.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/reported_epoch.hpp"

namespace fbnet {

struct GridRun {
  std::string id;                  // "0007-3fa2c1d9": position and a hash of the settings as the file spells them
  nlohmann::ordered_json settings;  // flat settings, as a config file would hold them, paths absolute
};

// The configurations of the grid file `source` (its `document`), whose
// relative paths are relative to the file's folder. Throws fbnet::Error naming
// the file and key of a malformed grid.
std::vector<GridRun> expand_grid(const nlohmann::json& document, const std::string& source);

struct GridOptions {
  std::string grid_path;
  std::string out = "runs/grid";
  int jobs = 0;             // parallel processes (0: one per core)
  int threads_per_job = 1;  // threads of each process (products and element-wise loops)
  int shard_index = 0;      // this process runs configurations i with i % shard_count == shard_index
  int shard_count = 1;
  bool report_only = false;  // only (re)write the report from what the folder holds
  ReportedEpoch reported_epoch = ReportedEpoch::kLast;  // the epoch whose results the report shows and compares
};

enum class RunStatus { kPending, kPartial, kFinished, kFailed };

struct GridRunResult {
  GridRun run;
  RunStatus status = RunStatus::kPending;
  int epochs_done = 0;
  nlohmann::json reported;  // the metrics.jsonl record of the reported epoch, when any
};

// Runs what is missing of this shard, then writes OUT/grid.csv, OUT/grid.md
// and OUT/best.json from all the shards' run folders. Returns every run's state.
std::vector<GridRunResult> run_grid(const GridOptions& options);

// Writes `document` to FOLDER/NAME.json, runs it as a grid into FOLDER/NAME
// and returns its runs; throws when a run failed or did not finish, naming it.
std::vector<GridRunResult> run_grid_document(const nlohmann::ordered_json& document, const std::string& folder,
                                             const std::string& name, int jobs,
                                             ReportedEpoch reported_epoch = ReportedEpoch::kLast);

// `document` with each (setting, value) set in it: the flags a reproduce
// command passes on to every run of its grids.
nlohmann::ordered_json with_settings(nlohmann::ordered_json document,
                                     const std::vector<std::pair<std::string, std::string>>& settings);

// Throws fbnet::Error naming --sweep-learning-rates when a rate is not
// positive or is given twice (a sweep is a grid over these rates).
void validate_learning_rate_sweep(const std::vector<double>& learning_rates);

// "k/n" -> (k - 1, n), 1-based on the command line.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace fbnet
