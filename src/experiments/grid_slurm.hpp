// `fbnet grid FILE --slurm`: the job scripts that run a grid on a Slurm
// cluster. An array job whose task K trains shard K of the grid (resumable,
// requeued on preemption), and a report job that runs after every task has
// ended (afterany) and merges the shards into the report. Each option comes
// from a flag or from the grid file's [slurm] table under the same name (a
// flag wins); what fbnet cannot check (partition and account names, further
// sbatch options) goes into the scripts as given. docs/CLUSTER.md shows a
// generated script.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/grid.hpp"

namespace fbnet {

struct SlurmOptions {
  int array_size = 0;     // array tasks, one shard each (0: enough for every run to start at once, at most 1000)
  int cpus_per_task = 0;  // 0: jobs x threads-per-job
  std::string partition;  // "": the cluster's default; these four are passed to sbatch as given
  std::string account;
  std::string time;       // a Slurm time limit per task, e.g. 2:00:00
  std::string mem;        // memory per task, e.g. 4G
  std::vector<std::string> sbatch;  // further sbatch options, one each ("--qos=long"), after the file's
};

// The names of the options, as flags (--NAME) and as [slurm] keys.
const std::vector<std::string>& slurm_option_names();

// `options` (an object of the option names above) checked and read;
// `where` prefixes each error: "--" for flags, "FILE: [slurm] " for the
// file's table.
SlurmOptions read_slurm_options(const nlohmann::json& options, const std::string& where);

// `flags` over `file`: each option given as a flag replaces the file's, and
// --sbatch lines follow the file's.
SlurmOptions combine_slurm_options(const SlurmOptions& file, const SlurmOptions& flags);

struct SlurmScripts {
  std::string folder;          // OUT/slurm
  std::string submit_command;  // what the user runs to submit both jobs
  int array_size = 0;
  int jobs_per_task = 0;
};

// Checks the grid (its size, every configuration) as a run would, then writes
// OUT/slurm/grid.sbatch, report.sbatch and submit.sh (and the logs folder
// sbatch needs), for `grid` (out, threads per job, reported epoch, limit;
// jobs: processes per task) and the options of the grid file and `flags`.
SlurmScripts write_slurm_scripts(const GridOptions& grid, const SlurmOptions& flags);

}  // namespace fbnet
