// The Slurm options of a grid, checked where fbnet can check them, and the
// array, report and submit scripts written from them.
#include "experiments/grid_slurm.hpp"

#include <cctype>
#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/settings.hpp"
#include "engine/error.hpp"
#include "experiments/grid_space.hpp"
#include "experiments/process_pool.hpp"
#include "formats/atomic_file.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

// Slurm's default MaxArraySize is 1001: task ids up to 1000.
constexpr int kDefaultMaxArraySize = 1000;

// Text for one #SBATCH line: a line break would end the directive and start a shell line of the script.
void check_one_line(const std::string& text, const std::string& where, const std::string& key) {
  FBNET_CHECK(text.find_first_of("\n\r") == std::string::npos, "{}{}: '{}' holds a line break; give one value",
              where, key, text);
}

std::string string_option(const nlohmann::json& value, const std::string& where, const std::string& key) {
  FBNET_CHECK(value.is_string(), "{}{}: expected text, got {}", where, key, value.dump());
  const std::string text = value.get<std::string>();
  check_one_line(text, where, key);
  return text;
}

// A partition or account name: passed through unchecked, but one word, as Slurm's names are.
std::string name_option(const nlohmann::json& value, const std::string& where, const std::string& key) {
  const std::string text = string_option(value, where, key);
  FBNET_CHECK(!text.empty() && text.find_first_of(" \t") == std::string::npos,
              "{}{}: '{}' is not a Slurm {} name (one word without spaces)", where, key, text, key);
  return text;
}

int count_option(const nlohmann::json& value, const std::string& where, const std::string& key) {
  FBNET_CHECK(value.is_number_integer() && value.get<int64_t>() >= 1 && value.get<int64_t>() <= 1000000,
              "{}{}: expected a whole number of at least 1, got {}", where, key, value.dump());
  return value.get<int>();
}

// A value in one of Slurm's textual forms (a number, in a TOML file, stands for its digits).
std::string pattern_option(const nlohmann::json& value, const std::string& where, const std::string& key,
                           const std::regex& form, const char* expected) {
  const std::string text =
      value.is_number_integer() ? std::to_string(value.get<int64_t>()) : string_option(value, where, key);
  FBNET_CHECK(std::regex_match(text, form), "{}{}: '{}' is not {}", where, key, text, expected);
  return text;
}

std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void make_executable(const std::string& path) {
  std::error_code error;
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec, error);
  FBNET_CHECK(!error, "cannot make {} executable: {}", path, error.message());
}

// The #SBATCH lines both jobs share: where they run and for how long, then the user's own options, last so that
// sbatch (which takes the last of an option given twice) lets them override ours.
std::string shared_directives(const SlurmOptions& options) {
  std::string lines;
  if (!options.partition.empty()) lines += fmt::format("#SBATCH --partition={}\n", options.partition);
  if (!options.account.empty()) lines += fmt::format("#SBATCH --account={}\n", options.account);
  if (!options.time.empty()) lines += fmt::format("#SBATCH --time={}\n", options.time);
  if (!options.mem.empty()) lines += fmt::format("#SBATCH --mem={}\n", options.mem);
  lines += "#SBATCH --requeue\n#SBATCH --open-mode=append\n";
  for (const std::string& option : options.sbatch) lines += fmt::format("#SBATCH {}\n", option);
  return lines;
}

// A batch script: what wrote it and what it does (comment lines), its own #SBATCH options (one a line), the
// shared ones, then its commands.
std::string batch_script(const std::string& grid_path, const std::string& purpose, const std::string& directives,
                         const SlurmOptions& options, const std::string& commands) {
  std::string script = fmt::format("#!/bin/bash\n# Written by fbnet grid {} --slurm\n", grid_path);
  std::istringstream purpose_lines(purpose), directive_lines(directives);
  for (std::string line; std::getline(purpose_lines, line);) script += "# " + line + "\n";
  for (std::string line; std::getline(directive_lines, line);) script += "#SBATCH " + line + "\n";
  return script + "#SBATCH --ntasks=1\n" + shared_directives(options) + "set -euo pipefail\n" + commands + "\n";
}

}  // namespace

const std::vector<std::string>& slurm_option_names() {
  static const std::vector<std::string> names = {"array-size", "cpus-per-task", "partition", "account",
                                                 "time",       "mem",           "sbatch"};
  return names;
}

SlurmOptions read_slurm_options(const nlohmann::json& options, const std::string& where) {
  FBNET_CHECK(options.is_object(), "{}: expected a table of Slurm options ({}), got {}", where,
              fmt::join(slurm_option_names(), ", "), options.dump());
  SlurmOptions read;
  for (const auto& [key, value] : options.items()) {
    if (key == "array-size") {
      read.array_size = count_option(value, where, key);
    } else if (key == "cpus-per-task") {
      read.cpus_per_task = count_option(value, where, key);
    } else if (key == "partition") {
      read.partition = name_option(value, where, key);
    } else if (key == "account") {
      read.account = name_option(value, where, key);
    } else if (key == "time") {
      // Slurm's forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes,
      // days-hours:minutes:seconds, or no limit.
      static const std::regex slurm_time(R"(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE)");
      read.time = pattern_option(value, where, key, slurm_time,
                                 "a Slurm time limit; expected MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, "
                                 "DAYS-HOURS, DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS (e.g. 2:00:00 or 1-12)");
    } else if (key == "mem") {
      static const std::regex slurm_size(R"(\d+[KMGT]?)");
      read.mem = pattern_option(value, where, key, slurm_size,
                                "a Slurm memory size; expected a number of MiB or one with a unit K, M, G or T (e.g. "
                                "4000 or 8G)");
    } else if (key == "sbatch") {
      const nlohmann::json lines = value.is_array() ? value : nlohmann::json::array({value});
      for (const auto& line : lines) {
        const std::string text = string_option(line, where, key);
        FBNET_CHECK(text.size() > 1 && text[0] == '-',
                    "{}{}: '{}' is not an sbatch option; give it as on sbatch's command line, e.g. --qos=long",
                    where, key, text);
        read.sbatch.push_back(text);
      }
    } else {
      fail("{}{}: not a Slurm option of fbnet grid; expected one of {} (further sbatch options go in sbatch, e.g. "
           "sbatch = [\"--qos=long\"])", where, key, fmt::join(slurm_option_names(), ", "));
    }
  }
  return read;
}

SlurmOptions combine_slurm_options(const SlurmOptions& file, const SlurmOptions& flags) {
  SlurmOptions combined = file;
  if (flags.array_size > 0) combined.array_size = flags.array_size;
  if (flags.cpus_per_task > 0) combined.cpus_per_task = flags.cpus_per_task;
  for (auto [field, flag] : {std::pair{&combined.partition, &flags.partition}, {&combined.account, &flags.account},
                             {&combined.time, &flags.time}, {&combined.mem, &flags.mem}})
    if (!flag->empty()) *field = *flag;
  combined.sbatch.insert(combined.sbatch.end(), flags.sbatch.begin(), flags.sbatch.end());
  return combined;
}

SlurmScripts write_slurm_scripts(const GridOptions& grid, const SlurmOptions& flags) {
  const nlohmann::json document = read_settings_document(grid.grid_path);
  const std::vector<GridRun> runs = expand_grid(document, grid.grid_path, grid.max_configurations);
  SlurmOptions file;
  if (document.is_object() && document.contains("slurm"))
    file = read_slurm_options(document["slurm"], grid.grid_path + ": [slurm] ");
  const SlurmOptions options = combine_slurm_options(file, flags);

  // Processes per task, and the CPUs they take: from --jobs, --cpus-per-task or both.
  FBNET_CHECK(grid.threads_per_job >= 1, "--threads-per-job: must be at least 1, got {}", grid.threads_per_job);
  const int jobs = grid.jobs > 0 ? grid.jobs : std::max(1, options.cpus_per_task / grid.threads_per_job);
  const int cpus = options.cpus_per_task > 0 ? options.cpus_per_task : jobs * grid.threads_per_job;
  // An error names the flag, or the grid file's key where the value came from there.
  auto source = [&](const char* key, bool from_flag) {
    return from_flag ? fmt::format("--{}", key) : fmt::format("{}: [slurm] {}", grid.grid_path, key);
  };
  FBNET_CHECK(jobs * grid.threads_per_job <= cpus,
              "--jobs: {} processes of {} thread(s) each need {} CPUs, but each task has {} ({})", jobs,
              grid.threads_per_job, jobs * grid.threads_per_job, cpus,
              source("cpus-per-task", flags.cpus_per_task > 0));
  const int array_size = options.array_size > 0
                             ? options.array_size
                             : std::min(kDefaultMaxArraySize, static_cast<int>((runs.size() + jobs - 1) / jobs));
  FBNET_CHECK(static_cast<size_t>(array_size) <= runs.size(),
              "{}: {} tasks for a grid of {} distinct configurations would leave {} with nothing to train; "
              "give at most {}", source("array-size", flags.array_size > 0), array_size, runs.size(),
              array_size - runs.size(), runs.size());

  const std::string out = fs::absolute(grid.out).lexically_normal().string();
  const std::string grid_path = fs::absolute(grid.grid_path).lexically_normal().string();
  // The paths go into #SBATCH lines and comments, which end at a line break and (--output) at white space.
  FBNET_CHECK(out.find_first_of(" \t\n\r") == std::string::npos,
              "--out: '{}' holds white space, which an #SBATCH --output line cannot carry; choose a folder without",
              out);
  FBNET_CHECK(grid_path.find_first_of("\n\r") == std::string::npos, "{}: a grid file's name cannot hold a line break "
              "in a job script", grid_path);
  const std::string folder = (fs::path(out) / "slurm").string();
  const std::string logs = (fs::path(folder) / "logs").string();
  std::error_code error;
  fs::create_directories(logs, error);  // sbatch does not create the folder of --output
  FBNET_CHECK(!error, "--out: cannot create {}: {}", logs, error.message());
  // The job name from the file's name, with anything but letters, digits, '-', '_' and '.' made '_': an
  // #SBATCH line ends at a space.
  std::string name = fs::path(grid_path).stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  const std::string fbnet = shell_quoted(own_executable());
  std::string common_flags = fmt::format("--out {} --report-epoch {}", shell_quoted(out),
                                         reported_epoch_name(grid.reported_epoch));
  if (grid.max_configurations > 0) common_flags += fmt::format(" --max-configurations {}", grid.max_configurations);

  const std::string array_path = (fs::path(folder) / "grid.sbatch").string();
  const std::string report_path = (fs::path(folder) / "report.sbatch").string();
  const std::string submit_path = (fs::path(folder) / "submit.sh").string();
  const std::string grid_command = fmt::format("exec {} grid {} {}", fbnet, shell_quoted(grid_path), common_flags);
  const std::string array_script = batch_script(
      grid_path,
      fmt::format("Array task K of {tasks} trains shard K of the grid's {runs} runs (every {tasks}th from the Kth), "
                  "{jobs} at\na time. Submit it with submit.sh beside it, which also submits the report job. A task "
                  "that is preempted\nor requeued starts again and resumes: finished runs are kept, interrupted ones "
                  "continue from their last\nepoch, and one that another process still trains is waited for.",
                  fmt::arg("tasks", array_size), fmt::arg("runs", runs.size()), fmt::arg("jobs", jobs)),
      fmt::format("--job-name=fbnet-{}\n--array=1-{}\n--cpus-per-task={}\n--output={}/grid-%A_%a.out", name,
                  array_size, cpus, logs),
      options,
      fmt::format(": \"${{SLURM_ARRAY_TASK_ID:?this script is one task of a Slurm array: submit it with {}}}\"\n"
                  "{} --shard \"$SLURM_ARRAY_TASK_ID/{}\" --jobs {} --threads-per-job {}",
                  submit_path, grid_command, array_size, jobs, grid.threads_per_job));
  const std::string report_script = batch_script(
      grid_path,
      fmt::format("Merges the shards of grid.sbatch's tasks into the report ({}/grid.md, grid.csv,\nbest.json) once "
                  "every task has ended; submit.sh makes it wait for them.", out),
      fmt::format("--job-name=fbnet-{}-report\n--cpus-per-task=1\n--output={}/report-%j.out", name, logs), options,
      grid_command + " --report-only");
  const std::string submit_script = fmt::format(
      "#!/bin/sh\n"
      "# Written by fbnet grid {grid} --slurm\n"
      "# Submits the array job, then the report job, which runs once every array task has ended (afterany:\n"
      "# also after a task failed or was cancelled; the report then says what is missing, and running this\n"
      "# again trains only that). Arguments are further sbatch options for both jobs.\n"
      "set -e\n"
      "array=$(sbatch --parsable \"$@\" {array})\n"
      "array=${{array%%;*}}  # --parsable prints ID or ID;CLUSTER\n"
      "report=$(sbatch --parsable \"$@\" --dependency=afterany:\"$array\" {report})\n"
      "echo \"fbnet grid: submitted array job $array ({tasks} tasks) and report job ${{report%%;*}}, which runs after "
      "it; logs in {logs}\"\n",
      fmt::arg("grid", grid_path), fmt::arg("array", shell_quoted(array_path)),
      fmt::arg("report", shell_quoted(report_path)), fmt::arg("tasks", array_size), fmt::arg("logs", logs));
  write_file_atomic(array_path, array_script);
  write_file_atomic(report_path, report_script);
  write_file_atomic(submit_path, submit_script);
  make_executable(submit_path);
  return {folder, "sh " + shell_quoted(submit_path), array_size, jobs};
}

}  // namespace fbnet
