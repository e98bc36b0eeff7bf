// fbnet grid: a hyperparameter grid, run as parallel resumable processes, or
// written as Slurm job scripts (--slurm).
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "engine/error.hpp"
#include "experiments/grid.hpp"
#include "experiments/grid_slurm.hpp"

namespace fbnet {

void add_grid_command(CLI::App& app) {
  struct State {
    GridOptions options;
    std::string shard = "1/1";
    bool slurm = false;
    int array_size = 0, cpus_per_task = 0;
    std::string partition, account, time, mem;
    std::vector<std::string> sbatch;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "grid", "train every configuration of a grid file (lists are axes), in parallel; rerun to finish what is missing");
  command->add_option("grid", state->options.grid_path, "grid file, TOML or JSON (see configs/grid-*.toml)")->required();
  command->add_option("--out", state->options.out, "folder of the grid's runs and report")->capture_default_str();
  command->add_option("--jobs", state->options.jobs,
                      "processes at a time (0: one per core; measured best on 2 cores, see docs/BENCHMARKS.md); "
                      "with --slurm, per array task")
      ->capture_default_str();
  command->add_option("--threads-per-job", state->options.threads_per_job, "threads of each process (its products and element-wise loops)")
      ->capture_default_str();
  CLI::Option* shard = command->add_option(
      "--shard", state->shard,
      "run only shard K of N (distinct configurations i with i mod N = K - 1), 1-based: e.g. --shard "
      "$SLURM_ARRAY_TASK_ID/8 under sbatch --array=1-8");
  shard->capture_default_str();
  CLI::Option* report_only = command->add_flag(
      "--report-only", state->options.report_only,
      "train nothing; (re)write the report from the runs the folder holds (merges shards; runs other processes are "
      "training show as running)");
  command->add_option("--max-configurations", state->options.max_configurations,
                      "refuse a grid of more configurations, counted before any is built (default: the grid file's "
                      "max-configurations, else 100000)");
  add_report_epoch_option(*command, state->options.reported_epoch);

  // Slurm: the job scripts instead of training here (docs/CLUSTER.md). Each option may also come from the grid
  // file's [slurm] table, under the same name; a flag wins.
  command->add_flag(
      "--slurm", state->slurm,
      "write Slurm job scripts into OUT/slurm (an array whose tasks train one shard each, and a report job after "
      "them) and print the command that submits them; trains nothing here");
  const std::string group = "Slurm (with --slurm; also from the grid file's [slurm] table)";
  std::vector<CLI::Option*> slurm_options = {
      command->add_option("--array-size", state->array_size,
                          "array tasks, one shard each (default: enough for every run to start at once, at most 1000)"),
      command->add_option("--cpus-per-task", state->cpus_per_task,
                          "CPUs of each task (default: --jobs x --threads-per-job); its --jobs default to "
                          "CPUs / threads-per-job"),
      command->add_option("--partition", state->partition, "Slurm partition, passed to sbatch as given"),
      command->add_option("--account", state->account, "Slurm account, passed to sbatch as given"),
      command->add_option("--time", state->time, "time limit of each task, in Slurm's forms (e.g. 2:00:00, 1-12)"),
      command->add_option("--mem", state->mem, "memory of each task (e.g. 4G)"),
      command->add_option("--sbatch", state->sbatch,
                          "a further sbatch option for both jobs, as on sbatch's command line (e.g. "
                          "--sbatch=--qos=long); repeatable, passed as given")
          ->allow_extra_args(false)};  // one value per --sbatch, so that it never takes the grid file
  for (CLI::Option* option : slurm_options) option->group(group);
  command->callback([state, shard, report_only, slurm_options] {
    std::tie(state->options.shard_index, state->options.shard_count) = parse_shard(state->shard);
    if (!state->slurm) {
      for (const CLI::Option* option : slurm_options)
        FBNET_CHECK(option->count() == 0, "{}: a Slurm option; add --slurm to write the job scripts",
                    option->get_name());
      run_grid(state->options);
      return;
    }
    FBNET_CHECK(shard->count() == 0, "--shard: with --slurm each array task gets its shard from the script");
    FBNET_CHECK(report_only->count() == 0, "--report-only: with --slurm the report job runs it after the array");
    // The flags given, checked as the grid file's [slurm] table is, with the flag named in errors.
    nlohmann::json given = nlohmann::json::object();
    for (const CLI::Option* option : slurm_options) {
      if (option->count() == 0) continue;
      const std::string key = option->get_name().substr(2);
      if (key == "array-size") given[key] = state->array_size;
      else if (key == "cpus-per-task") given[key] = state->cpus_per_task;
      else if (key == "sbatch") given[key] = state->sbatch;
      else given[key] = option->as<std::string>();
    }
    const SlurmScripts scripts = write_slurm_scripts(state->options, read_slurm_options(given, "--"));
    fmt::print("grid: Slurm job scripts in {}: grid.sbatch (an array of {} tasks, each training {} run(s) at a time), "
               "report.sbatch (merges the shards after them), submit.sh\nsubmit both with:\n  {}\n",
               scripts.folder, scripts.array_size, scripts.jobs_per_task, scripts.submit_command);
  });
}

}  // namespace fbnet
