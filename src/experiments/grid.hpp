// Grid search: a settings file whose values may be lists expands into
// configurations (grid_space.hpp), each trained as its own `fbnet train`
// process in its own run folder, in parallel, resumable after any kill, and
// splittable into shards that share a folder. The report picks the best
// configuration per model by validation accuracy at the reported epoch: the
// last (the report's rule) or the best-validation one (--report-epoch best).
//
// A run's id, its folder's name under OUT/runs, comes from its resolved
// settings (grid_run_id), so that two spellings of one grid (a default given
// or left out, keys in another order, TOML or JSON) share their runs, and a
// configuration that two sub-grids both give is one run. Folders from before
// (named by position and the file's spelling) are found by their config.json.
//
// Any number of processes may work on one grid folder at once (shards, a
// requeued Slurm task beside its predecessor, a grid started twice): each run
// is claimed before it is trained (grid_claim.hpp), and a process that finds
// a run of its shard claimed by another trains the others first, then waits
// for it, taking it over should its trainer die, so that its report, written
// last, is complete for its shard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "experiments/reported_epoch.hpp"

namespace fbnet {

struct GridRun {
  std::string id;                   // the run folder's name: "fb-3fa2c1d94b1e22aa", or an older folder's own
  nlohmann::ordered_json settings;  // flat settings, as a config file would hold them, paths absolute
};

// "MODEL-HASH": 16 hex digits of a hash of the settings that identify the run
// (identifying_settings: those that differ from the preset's defaults, paths
// absolute), without threads (the grid's --threads-per-job sets them, and a
// run may resume with others) and without a data-dir that names the
// dataset's default folder.
std::string grid_run_id(const RunConfig& config);

// The distinct configurations of the grid file `source` (its `document`),
// whose relative paths are relative to the file's folder, after checking the
// grid's size against `max_configurations` (0: the file's max-configurations,
// else kDefaultMaxConfigurations). Throws fbnet::Error naming the file and
// key of a malformed grid, or the count and axes of one that is too large.
std::vector<GridRun> expand_grid(const nlohmann::json& document, const std::string& source,
                                 uint64_t max_configurations = 0);

struct GridOptions {
  std::string grid_path;
  std::string out = "runs/grid";
  int jobs = 0;             // parallel processes (0: one per core)
  int threads_per_job = 1;  // threads of each process (products and element-wise loops)
  int shard_index = 0;      // this process runs distinct configurations i with i % shard_count == shard_index
  int shard_count = 1;
  bool report_only = false;  // only (re)write the report from what the folder holds
  uint64_t max_configurations = 0;  // 0: the grid file's, else kDefaultMaxConfigurations
  ReportedEpoch reported_epoch = ReportedEpoch::kLast;  // the epoch whose results the report shows and compares
};

// kRunning: another process holds the run's claim (a report-only snapshot).
enum class RunStatus { kPending, kPartial, kRunning, kFinished, kFailed };

struct GridRunResult {
  GridRun run;
  RunStatus status = RunStatus::kPending;
  int epochs_done = 0;
  nlohmann::json reported;  // the metrics.jsonl record of the reported epoch, when any
};

// Runs what is missing of this shard, waiting for its runs that other
// processes hold, then writes OUT/grid.csv, OUT/grid.md and OUT/best.json
// from all the shards' run folders. Returns every run's state.
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
