// fbnet grid: a hyperparameter grid, run as parallel resumable processes.
#include <memory>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "engine/error.hpp"
#include "experiments/grid.hpp"

namespace fbnet {

void add_grid_command(CLI::App& app) {
  struct State {
    GridOptions options;
    std::string shard = "1/1";
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "grid", "train every configuration of a grid file (lists are axes), in parallel; rerun to finish what is missing");
  command->add_option("grid", state->options.grid_path, "grid file, TOML or JSON (see configs/grid-*.toml)")->required();
  command->add_option("--out", state->options.out, "folder of the grid's runs and report")->capture_default_str();
  command->add_option("--jobs", state->options.jobs,
                      "processes at a time (0: one per core; measured best on 2 cores, see docs/BENCHMARKS.md)")
      ->capture_default_str();
  command->add_option("--threads-per-job", state->options.threads_per_job, "threads of each process (its products and element-wise loops)")
      ->capture_default_str();
  command->add_option(
      "--shard", state->shard,
      "run only shard K of N (distinct configurations i with i mod N = K - 1), 1-based: e.g. --shard "
      "$SLURM_ARRAY_TASK_ID/8 under sbatch --array=1-8")
      ->capture_default_str();
  command->add_flag(
      "--report-only", state->options.report_only,
      "train nothing; (re)write the report from the runs the folder holds (merges shards; runs other processes are "
      "training show as running)");
  command->add_option("--max-configurations", state->options.max_configurations,
                      "refuse a grid of more configurations, counted before any is built (default: the grid file's "
                      "max-configurations, else 100000)");
  add_report_epoch_option(*command, state->options.reported_epoch);

  command->callback([state] {
    std::tie(state->options.shard_index, state->options.shard_count) = parse_shard(state->shard);
    run_grid(state->options);
  });
}

}  // namespace fbnet
