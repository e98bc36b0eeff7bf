// Grid expansion into runs and their ids, the worker processes and their
// claims, run status and the report.
#include "experiments/grid.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/saved_run_settings.hpp"
#include "data/dataset.hpp"
#include "engine/error.hpp"
#include "engine/hash.hpp"
#include "experiments/grid_claim.hpp"
#include "experiments/grid_space.hpp"
#include "experiments/process_pool.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "train/image_run.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

// The limit a grid is checked against, and where it came from (for the message).
std::pair<uint64_t, std::string> size_limit(const GridSpace& space, uint64_t max_configurations) {
  if (max_configurations > 0) return {max_configurations, "--max-configurations"};
  if (space.file_limit() > 0) return {space.file_limit(), "the grid file's max-configurations"};
  return {kDefaultMaxConfigurations, "the default limit"};
}

// The distinct runs of `space`, built one configuration at a time; each is
// checked as `fbnet train` would check it, naming the grid file.
std::vector<GridRun> distinct_runs(const GridSpace& space, const std::string& source) {
  std::vector<GridRun> runs;
  std::unordered_set<std::string> ids;
  for (uint64_t i = 0; i < space.size(); ++i) {
    // Each run's `fbnet train` gets its paths absolute (relative to the grid file's folder).
    nlohmann::ordered_json settings = with_absolute_paths<RunConfig>(space.configuration(i), folder_of(source), source);
    // Every key a setting, every value well-formed, none that its optimiser would ignore: refused here, naming
    // the grid file, rather than failing each run later.
    const SettingList given = settings_from_json<RunConfig>(settings, source);
    const RunConfig config = resolve_config(given);
    try {
      refuse_unused_settings(config, given);
    } catch (const Error& error) {
      fail("{}: configuration {}: {}", source, i + 1, error.what());
    }
    validate(config);
    std::string id = grid_run_id(config);
    // A configuration that resolves like an earlier one (two sub-grids that overlap) is that run.
    if (ids.insert(id).second) runs.push_back({std::move(id), std::move(settings)});
  }
  return runs;
}

std::string run_folder(const GridOptions& options, const std::string& id) {
  return (fs::path(options.out) / "runs" / id).string();
}

// Whether `name` has the shape of grid_run_id's ids ("ff-large-0123456789abcdef").
bool is_current_id(const std::string& name) {
  const size_t dash = name.rfind('-');
  return dash != std::string::npos && dash > 0 && name.size() - dash - 1 == 16 &&
         std::all_of(name.begin() + dash + 1, name.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); });
}

// Run folders from before ids came from resolved settings ("0007-3fa2c1d9": a position and a hash of the file's
// spelling), by the id their settings have now: config.json's resolved config, or, for a run killed before it
// wrote one, the grid-settings.json the grid gave it. Where two hold one configuration (a grid whose sub-grids
// overlapped trained it twice), the one with a checkpoint wins.
std::map<std::string, std::string> older_run_folders(const std::string& runs_folder) {
  std::map<std::string, std::string> found;
  std::error_code error;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(runs_folder, error))
    if (entry.is_directory() && !is_current_id(entry.path().filename().string())) folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    const std::string name = folder.filename().string();
    const fs::path config_path = folder / "config.json", settings_path = folder / "grid-settings.json";
    try {
      // Runs from before paths were made absolute stored them relative to the folder fbnet ran in.
      RunConfig config;
      if (fs::is_regular_file(config_path)) {
        const std::string source = config_path.string();
        const nlohmann::json description = read_json_file(source);
        FBNET_CHECK(description.is_object() && description.contains("config"), "{}: has no 'config' entry", source);
        // A run from before a setting existed gets the value that computed it (saved_run_settings.hpp).
        config = resolve_config(saved_run_settings<RunConfig>(
            with_absolute_paths<RunConfig>(description["config"], fs::current_path(), source), source));
      } else if (fs::is_regular_file(settings_path)) {
        // Only the grid's own settings, for a run killed before it computed anything: the rest take today's
        // defaults, as the run will when it trains.
        const std::string source = settings_path.string();
        config = resolve_config(settings_from_json<RunConfig>(
            with_absolute_paths<RunConfig>(read_json_file(source), fs::current_path(), source), source));
      } else {
        continue;  // nothing was trained there
      }
      const std::string id = grid_run_id(config);
      const auto it = found.find(id);
      if (it == found.end() || (!fs::exists(fs::path(runs_folder) / it->second / "checkpoint.safetensors") &&
                                fs::exists(folder / "checkpoint.safetensors")))
        found[id] = name;
    } catch (const Error& problem) {
      fmt::print(stderr, "grid: note: {} is not a run this grid can use ({}); left alone\n", folder.string(),
                 problem.what());
    }
  }
  return found;
}

GridRunResult inspect(const GridOptions& options, const GridRun& run) {
  GridRunResult result;
  result.run = run;
  const std::string folder = run_folder(options, run.id);
  if (fs::exists(fs::path(folder) / "failed.txt")) {
    result.status = RunStatus::kFailed;
  } else if (fs::exists(fs::path(folder) / "checkpoint.safetensors")) {
    const TrainingSettings training = resolve_config(settings_from_json<RunConfig>(run.settings, run.id)).training;
    result.epochs_done = read_checkpoint((fs::path(folder) / "checkpoint.safetensors").string()).epoch;
    // The records of the checkpoint's epochs: a run killed after writing metrics has one more.
    std::vector<nlohmann::ordered_json> records;
    for (auto& record : read_metrics(folder))
      if (record.value("epoch", 0) <= result.epochs_done) records.push_back(std::move(record));
    const bool finished = result.epochs_done >= training.epochs || stopped_early(records, training.early_stopping);
    result.status = finished ? RunStatus::kFinished : RunStatus::kPartial;
    if (!records.empty() && records.back().value("epoch", 0) == result.epochs_done)
      result.reported = reported_record(records, options.reported_epoch);
  }
  return result;
}

const char* status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kPending: return "pending";
    case RunStatus::kPartial: return "partial";
    case RunStatus::kRunning: return "running";
    case RunStatus::kFinished: return "finished";
    case RunStatus::kFailed: return "failed";
  }
  return "?";
}

// A run's fully resolved settings (preset defaults included), for the report.
nlohmann::ordered_json resolved(const GridRun& run) {
  return config_to_json(resolve_config(settings_from_json<RunConfig>(run.settings, run.id)));
}

// The resolved settings whose values differ between runs, "out" aside. Each
// run is resolved in turn, not all kept at once: a grid may have 100,000 runs.
std::vector<std::string> varying_keys(const std::vector<GridRunResult>& results) {
  const nlohmann::ordered_json first = resolved(results.front().run);
  std::vector<std::pair<std::string, bool>> keys;  // (key, varies)
  for (const auto& item : first.items()) keys.emplace_back(item.key(), false);
  for (size_t i = 1; i < results.size(); ++i) {
    const nlohmann::ordered_json config = resolved(results[i].run);
    for (auto& [key, varies] : keys) varies = varies || config[key] != first[key];
  }
  std::vector<std::string> varying;
  for (const auto& [key, varies] : keys)
    if (varies && key != "out") varying.push_back(key);
  return varying;
}

std::string cell(const nlohmann::ordered_json& config, const std::string& key) {
  const auto& value = config[key];
  return value.is_string() ? value.get<std::string>() : value.dump();
}

void write_report(const GridOptions& options, const std::vector<GridRunResult>& results) {
  const std::vector<std::string> keys = varying_keys(results);
  auto accuracy = [](const GridRunResult& r, const char* key) {
    return r.reported.is_object() && r.reported.contains(key) && r.reported[key].is_number()
               ? fmt::format("{:.2f}", r.reported[key].get<double>())
               : std::string();
  };
  auto reported_epoch = [](const GridRunResult& r) {
    return r.reported.is_object() ? std::to_string(r.reported.value("epoch", 0)) : std::string();
  };
  std::string csv = fmt::format("id,{},status,epochs_done,reported_epoch,validation_accuracy,test_accuracy,"
                                "noisy_test_accuracy\n", fmt::join(keys, ","));
  // Best finished configuration per model, by the validation accuracy of the reported epoch.
  std::map<std::string, size_t> best;  // model -> index into results
  size_t finished = 0, failed = 0, running = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const GridRunResult& r = results[i];
    const nlohmann::ordered_json config = resolved(r.run);
    std::vector<std::string> cells;
    for (const auto& key : keys) cells.push_back(cell(config, key));
    csv += fmt::format("{},{},{},{},{},{},{},{}\n", r.run.id, fmt::join(cells, ","), status_name(r.status), r.epochs_done,
                       reported_epoch(r), accuracy(r, "validation_accuracy"), accuracy(r, "test_accuracy"),
                       accuracy(r, "noisy_test_accuracy"));
    failed += r.status == RunStatus::kFailed;
    running += r.status == RunStatus::kRunning;
    if (r.status != RunStatus::kFinished) continue;
    ++finished;
    const std::string model = cell(config, "model");
    const double accuracy_here = r.reported.value("validation_accuracy", -1.0);
    const auto it = best.find(model);
    if (it == best.end() || accuracy_here > results[it->second].reported.value("validation_accuracy", -1.0))
      best[model] = i;
  }
  write_file_atomic((fs::path(options.out) / "grid.csv").string(), csv);
  nlohmann::ordered_json best_json = nlohmann::ordered_json::object();
  std::string separators;
  for (size_t i = 0; i < keys.size(); ++i) separators += "---|";
  // A report-only snapshot taken while other processes train says so; the processes that train rewrite it.
  const std::string in_progress =
      running > 0 ? fmt::format(" {} being trained by another process (this report is a snapshot),", running) : "";
  std::string markdown = fmt::format("Grid {}: {} configurations, {} finished, {} failed,{} {} not yet run or partial.\n\n"
                                     "Best configuration per model by the validation accuracy of its {} epoch:\n\n"
                                     "| model | run | {} | epoch | validation | test | noisy test |\n|---|---|{}---|---|---|---|\n",
                                     options.grid_path, results.size(), finished, failed, in_progress,
                                     results.size() - finished - failed - running,
                                     reported_epoch_phrase(options.reported_epoch),
                                     fmt::join(keys, " | "), separators);
  for (const auto& [model, i] : best) {
    const GridRunResult& r = results[i];
    const nlohmann::ordered_json config = resolved(r.run);
    std::vector<std::string> cells;
    for (const auto& key : keys) cells.push_back(cell(config, key));
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", model, r.run.id, fmt::join(cells, " | "),
                            reported_epoch(r), accuracy(r, "validation_accuracy"), accuracy(r, "test_accuracy"),
                            accuracy(r, "noisy_test_accuracy"));
    best_json[model] = {{"id", r.run.id}, {"settings", r.run.settings}, {"resolved", config},
                        {"reported_epoch", reported_epoch_name(options.reported_epoch)}, {"reported", r.reported}};
  }
  write_file_atomic((fs::path(options.out) / "grid.md").string(), markdown);
  write_file_atomic((fs::path(options.out) / "best.json").string(), best_json.dump(2) + "\n");
}

// The `fbnet train` command line of a run in `state`.
std::vector<std::string> train_command(const GridOptions& options, const GridRunResult& state, const std::string& folder) {
  std::vector<std::string> argv = {own_executable(), "train"};
  if (state.status == RunStatus::kPartial) {
    argv.insert(argv.end(), {"--resume", folder});
  } else {
    const std::string settings_path = (fs::path(folder) / "grid-settings.json").string();
    write_file_atomic(settings_path, state.run.settings.dump(2) + "\n");
    argv.insert(argv.end(), {"--config", settings_path, "--out", folder});
  }
  argv.insert(argv.end(), {"--threads", std::to_string(options.threads_per_job), "--progress", "never"});
  return argv;
}

int parallel_jobs(const GridOptions& options) {
  return options.jobs > 0 ? options.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void create_folder(const std::string& folder, const std::string& what) {
  std::error_code error;
  fs::create_directories(folder, error);
  FBNET_CHECK(!error, "{}: cannot create {}: {}", what, folder, error.message());
}

// Trains the runs `mine` (indices into `runs`) that are not done, claiming each first; runs other processes hold
// are put off until the rest have started, then waited for (and taken over when their trainer dies).
void train_runs(const GridOptions& options, const std::vector<GridRun>& runs, const std::vector<size_t>& mine) {
  std::deque<size_t> queue(mine.begin(), mine.end());
  std::vector<size_t> held_elsewhere;
  std::vector<size_t> started_runs;       // the run of each started job, in start order
  std::map<size_t, RunClaim> claims;      // by start order: released when the job ends
  using Clock = std::chrono::steady_clock;
  auto last_look = Clock::now();
  bool said_waiting = false;
  size_t done = 0;
  auto next_job = [&](bool& later) -> std::optional<ChildJob> {
    while (true) {
      if (queue.empty()) {
        if (held_elsewhere.empty()) return std::nullopt;
        if (!said_waiting) {
          std::vector<std::string> ids;
          for (size_t r : held_elsewhere) ids.push_back(runs[r].id);
          fmt::print("grid: waiting for {} run(s) of this shard that another process is training: {}\n", ids.size(),
                     fmt::join(ids, ", "));
          std::fflush(stdout);
          said_waiting = true;
        }
        // Look again at most once a second: the claims are files on a possibly shared file system.
        if (Clock::now() - last_look < std::chrono::seconds(1)) {
          later = true;
          return std::nullopt;
        }
        queue.assign(held_elsewhere.begin(), held_elsewhere.end());
        held_elsewhere.clear();
        last_look = Clock::now();
      }
      const size_t r = queue.front();
      queue.pop_front();
      const std::string folder = run_folder(options, runs[r].id);
      create_folder(folder, runs[r].id);
      std::optional<RunClaim> claim = RunClaim::try_claim(folder);
      if (!claim) {
        held_elsewhere.push_back(r);
        continue;
      }
      const GridRunResult state = inspect(options, runs[r]);
      if (state.status == RunStatus::kFinished || state.status == RunStatus::kFailed) {
        fmt::print("grid: {} was {} by another process\n", runs[r].id, status_name(state.status));
        std::fflush(stdout);
        continue;  // the claim is released here
      }
      if (state.status == RunStatus::kPartial)
        fmt::print("grid: resuming {} after epoch {}\n", runs[r].id, state.epochs_done);
      else
        fmt::print("grid: training {}\n", runs[r].id);
      std::fflush(stdout);
      ChildJob job{train_command(options, state, folder), (fs::path(folder) / "log.txt").string(), "", claim->fd()};
      claims.emplace(started_runs.size(), std::move(*claim));
      started_runs.push_back(r);
      return job;
    }
  };
  run_child_jobs(next_job, parallel_jobs(options), [&](size_t j, const ChildResult& result) {
    const GridRun& run = runs[started_runs[j]];
    ++done;
    if (result.signal == 0 && result.exit_code == 0) {
      fmt::print("grid: [{}/{}] {} finished\n", done, mine.size(), run.id);
    } else {
      // A run that failed by itself (divergence, bad data) is marked, not retried; one killed by a signal is left
      // to resume. Marked before the claim is released, so that no other process takes it for one to train.
      if (result.signal == 0)
        write_file_atomic((fs::path(run_folder(options, run.id)) / "failed.txt").string(),
                          fmt::format("exit status {}; see log.txt\n", result.exit_code));
      fmt::print("grid: [{}/{}] {} {} (see {}/log.txt)\n", done, mine.size(), run.id,
                 result.signal ? fmt::format("killed by signal {}", result.signal) : "failed",
                 run_folder(options, run.id));
    }
    std::fflush(stdout);
    claims.erase(j);
  });
}

}  // namespace

std::string grid_run_id(const RunConfig& config) {
  nlohmann::ordered_json identity = {{"model", model_name(config.model)}};
  nlohmann::ordered_json settings = identifying_settings(config);
  settings.erase("threads");
  if (settings.contains("data-dir") && config.data.data_dir.path == dataset_spec(config.data.dataset).default_dir)
    settings.erase("data-dir");
  identity.update(settings);
  return fmt::format("{}-{:016x}", model_name(config.model), fnv1a(identity.dump()));
}

std::vector<GridRun> expand_grid(const nlohmann::json& document, const std::string& source,
                                 uint64_t max_configurations) {
  const GridSpace space(document, source);
  const auto [limit, limit_source] = size_limit(space, max_configurations);
  space.check_size(limit, limit_source);
  return distinct_runs(space, source);
}

std::vector<GridRunResult> run_grid(const GridOptions& options) {
  FBNET_CHECK(options.threads_per_job >= 1, "--threads-per-job: must be at least 1, got {}", options.threads_per_job);
  // Counted from the lists before anything is built; a grid past the limit ends here.
  const GridSpace space(read_settings_document(options.grid_path), options.grid_path);
  const auto [limit, limit_source] = size_limit(space, options.max_configurations);
  space.check_size(limit, limit_source);
  std::vector<GridRun> runs = distinct_runs(space, options.grid_path);
  if (runs.size() < space.size())
    fmt::print("grid: {} of the {} configurations repeat an earlier one's resolved settings; each is trained once\n",
               space.size() - runs.size(), space.size());
  const std::string runs_folder = (fs::path(options.out) / "runs").string();
  create_folder(runs_folder, "--out");
  const std::map<std::string, std::string> older = older_run_folders(runs_folder);
  for (GridRun& run : runs) {
    const auto it = older.find(run.id);
    if (it != older.end() && !fs::exists(run_folder(options, run.id))) run.id = it->second;
  }

  if (!options.report_only) {
    std::vector<size_t> mine;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (static_cast<int>(i % options.shard_count) != options.shard_index) continue;
      const RunStatus status = inspect(options, runs[i]).status;
      if (status != RunStatus::kFinished && status != RunStatus::kFailed) mine.push_back(i);
    }
    if (!mine.empty()) {
      fmt::print("grid: {} configurations, {} to run in this shard ({}/{}), {} at a time\n", runs.size(), mine.size(),
                 options.shard_index + 1, options.shard_count, parallel_jobs(options));
      std::fflush(stdout);
      train_runs(options, runs, mine);
    }
  }

  std::vector<GridRunResult> results;
  for (const GridRun& run : runs) {
    results.push_back(inspect(options, run));
    GridRunResult& result = results.back();
    if (result.status != RunStatus::kFinished && result.status != RunStatus::kFailed &&
        RunClaim::is_held(run_folder(options, run.id)))
      result.status = RunStatus::kRunning;
  }
  write_report(options, results);
  fmt::print("grid: report in {}/grid.md, grid.csv, best.json\n", options.out);
  return results;
}

std::vector<GridRunResult> run_grid_document(const nlohmann::ordered_json& document, const std::string& folder,
                                             const std::string& name, int jobs, ReportedEpoch reported_epoch) {
  const std::string path = (fs::path(folder) / (name + ".json")).string();
  write_file_atomic(path, document.dump(2) + "\n");
  GridOptions grid;
  grid.grid_path = path;
  grid.out = (fs::path(folder) / name).string();
  grid.jobs = jobs;
  grid.reported_epoch = reported_epoch;
  std::vector<GridRunResult> results = run_grid(grid);
  for (const auto& result : results)
    FBNET_CHECK(result.status == RunStatus::kFinished, "{}: run {} {}; see {}/runs/{}/log.txt", name, result.run.id,
                result.status == RunStatus::kFailed ? "failed" : "did not finish", grid.out, result.run.id);
  return results;
}

nlohmann::ordered_json with_settings(nlohmann::ordered_json document,
                                     const std::vector<std::pair<std::string, std::string>>& settings) {
  for (const auto& [name, text] : settings) document[name] = text;
  return document;
}

void validate_learning_rate_sweep(const std::vector<double>& learning_rates) {
  for (size_t i = 0; i < learning_rates.size(); ++i) {
    FBNET_CHECK(learning_rates[i] > 0, "--sweep-learning-rates: must be positive, got {}", learning_rates[i]);
    FBNET_CHECK(std::find(learning_rates.begin(), learning_rates.begin() + i, learning_rates[i]) ==
                    learning_rates.begin() + i,
                "--sweep-learning-rates: {} is given twice", learning_rates[i]);
  }
}

std::pair<int, int> parse_shard(const std::string& text) {
  int k = 0, n = 0;
  char slash = 0;
  std::istringstream stream(text);
  FBNET_CHECK((stream >> k >> slash >> n) && slash == '/' && stream.eof() && n >= 1 && k >= 1 && k <= n,
              "--shard: expected K/N with 1 <= K <= N (1-based; under a Slurm array of 0-based ids pass "
              "$((SLURM_ARRAY_TASK_ID + 1))/N), got '{}'", text);
  return {k - 1, n};
}

}  // namespace fbnet
