// Grid expansion, the worker processes, run status and the report.
#include "experiments/grid.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config.hpp"
#include "engine/error.hpp"
#include "engine/hash.hpp"
#include "experiments/process_pool.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "train/image_run.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

bool is_axis(const std::string& key, const nlohmann::json& value) {
  if (!value.is_array()) return false;
  if (key == "hidden") return !value.empty() && value.front().is_array();
  return true;
}

// Cartesian product of the axes of `grid`, in file order with the last axis
// varying fastest; its other settings are common to all.
void expand_into(const nlohmann::ordered_json& grid, const std::string& source, std::vector<nlohmann::ordered_json>& out) {
  nlohmann::ordered_json base = nlohmann::ordered_json::object();
  std::vector<std::pair<std::string, nlohmann::json>> axes;
  for (const auto& [key, value] : grid.items()) {
    if (is_axis(key, value)) {
      FBNET_CHECK(!value.empty(), "{}: the list for '{}' is empty", source, key);
      axes.emplace_back(key, value);
    } else {
      base[key] = value;
    }
  }
  std::vector<size_t> position(axes.size(), 0);
  while (true) {
    nlohmann::ordered_json config = base;
    for (size_t a = 0; a < axes.size(); ++a) config[axes[a].first] = axes[a].second[position[a]];
    out.push_back(config);
    size_t a = axes.size();
    while (a > 0 && ++position[a - 1] == axes[a - 1].second.size()) position[--a] = 0;
    if (a == 0) break;
  }
}

std::string run_folder(const GridOptions& options, const GridRun& run) {
  return (fs::path(options.out) / "runs" / run.id).string();
}

GridRunResult inspect(const GridOptions& options, const GridRun& run) {
  GridRunResult result;
  result.run = run;
  const std::string folder = run_folder(options, run);
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
    case RunStatus::kFinished: return "finished";
    case RunStatus::kFailed: return "failed";
  }
  return "?";
}

// A run's fully resolved settings (preset defaults included), for the report.
nlohmann::ordered_json resolved(const GridRun& run) {
  return config_to_json(resolve_config(settings_from_json<RunConfig>(run.settings, run.id)));
}

// The resolved settings whose values differ between runs, "out" aside.
std::vector<std::string> varying_keys(const std::vector<nlohmann::ordered_json>& configs) {
  std::vector<std::string> keys;
  for (const auto& item : configs.front().items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture those
    if (key == "out") continue;
    const bool varies =
        std::any_of(configs.begin(), configs.end(), [&](const auto& c) { return c[key] != item.value(); });
    if (varies) keys.push_back(key);
  }
  return keys;
}

std::string cell(const nlohmann::ordered_json& config, const std::string& key) {
  const auto& value = config[key];
  return value.is_string() ? value.get<std::string>() : value.dump();
}

void write_report(const GridOptions& options, const std::vector<GridRunResult>& results) {
  std::vector<nlohmann::ordered_json> configs;
  for (const auto& result : results) configs.push_back(resolved(result.run));
  const std::vector<std::string> keys = varying_keys(configs);
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
  for (size_t i = 0; i < results.size(); ++i) {
    const GridRunResult& r = results[i];
    std::vector<std::string> cells;
    for (const auto& key : keys) cells.push_back(cell(configs[i], key));
    csv += fmt::format("{},{},{},{},{},{},{},{}\n", r.run.id, fmt::join(cells, ","), status_name(r.status), r.epochs_done,
                       reported_epoch(r), accuracy(r, "validation_accuracy"), accuracy(r, "test_accuracy"),
                       accuracy(r, "noisy_test_accuracy"));
  }
  write_file_atomic((fs::path(options.out) / "grid.csv").string(), csv);

  // Best finished configuration per model, by the validation accuracy of the reported epoch.
  std::map<std::string, size_t> best;  // model -> index into results
  int finished = 0, failed = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const GridRunResult& r = results[i];
    failed += r.status == RunStatus::kFailed;
    if (r.status != RunStatus::kFinished) continue;
    ++finished;
    const std::string model = cell(configs[i], "model");
    const double accuracy_here = r.reported.value("validation_accuracy", -1.0);
    const auto it = best.find(model);
    if (it == best.end() || accuracy_here > results[it->second].reported.value("validation_accuracy", -1.0))
      best[model] = i;
  }
  nlohmann::ordered_json best_json = nlohmann::ordered_json::object();
  std::string separators;
  for (size_t i = 0; i < keys.size(); ++i) separators += "---|";
  std::string markdown = fmt::format("Grid {}: {} configurations, {} finished, {} failed, {} not yet run or partial.\n\n"
                                     "Best configuration per model by the validation accuracy of its {} epoch:\n\n"
                                     "| model | run | {} | epoch | validation | test | noisy test |\n|---|---|{}---|---|---|---|\n",
                                     options.grid_path, results.size(), finished, failed,
                                     results.size() - finished - failed,
                                     reported_epoch_phrase(options.reported_epoch),
                                     fmt::join(keys, " | "), separators);
  for (const auto& [model, i] : best) {
    const GridRunResult& r = results[i];
    std::vector<std::string> cells;
    for (const auto& key : keys) cells.push_back(cell(configs[i], key));
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", model, r.run.id, fmt::join(cells, " | "),
                            reported_epoch(r), accuracy(r, "validation_accuracy"), accuracy(r, "test_accuracy"),
                            accuracy(r, "noisy_test_accuracy"));
    best_json[model] = {{"id", r.run.id}, {"settings", r.run.settings}, {"resolved", configs[i]},
                        {"reported_epoch", reported_epoch_name(options.reported_epoch)}, {"reported", r.reported}};
  }
  write_file_atomic((fs::path(options.out) / "grid.md").string(), markdown);
  write_file_atomic((fs::path(options.out) / "best.json").string(), best_json.dump(2) + "\n");
}

}  // namespace

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

std::vector<GridRun> expand_grid(const nlohmann::json& document, const std::string& source) {
  FBNET_CHECK(document.is_object(), "{}: a grid file must be an object of settings", source);
  const nlohmann::ordered_json ordered = document;
  nlohmann::ordered_json shared = nlohmann::ordered_json::object();
  for (const auto& [key, value] : ordered.items())
    if (key != "grid") shared[key] = value;
  std::vector<nlohmann::ordered_json> configs;
  if (ordered.contains("grid")) {
    FBNET_CHECK(ordered["grid"].is_array() && !ordered["grid"].empty(),
                "{}: 'grid' must be a list of tables ([[grid]] in TOML)", source);
    for (const auto& sub : ordered["grid"]) {
      FBNET_CHECK(sub.is_object(), "{}: each [[grid]] entry must be a table of settings", source);
      // Shared axes expand too, inside each sub-grid; the sub-grid's own value wins.
      nlohmann::ordered_json combined = shared;
      for (const auto& [key, value] : sub.items()) combined[key] = value;
      expand_into(combined, source, configs);
    }
  } else {
    expand_into(shared, source, configs);
  }
  std::vector<GridRun> runs;
  for (size_t i = 0; i < configs.size(); ++i) {
    // The id hashes the settings as the file spells them, so that grid folders started before paths were made
    // absolute keep their runs; each run's `fbnet train` gets its paths absolute (relative to the grid file's folder).
    const nlohmann::ordered_json settings = with_absolute_paths<RunConfig>(configs[i], folder_of(source), source);
    // Every key a setting, every value well-formed, none that its optimiser would ignore: refused here, naming
    // the grid file, rather than failing each run later.
    const SettingList given = settings_from_json<RunConfig>(settings, source);
    const RunConfig config = resolve_config(given);
    try {
      refuse_unused_settings(config.training, given);
    } catch (const Error& error) {
      fail("{}: configuration {}: {}", source, i + 1, error.what());
    }
    validate(config);
    runs.push_back({fmt::format("{:04}-{:08x}", i, fnv1a(configs[i].dump()) & 0xffffffffULL), settings});
  }
  return runs;
}

std::vector<GridRunResult> run_grid(const GridOptions& options) {
  const std::vector<GridRun> runs = expand_grid(read_settings_document(options.grid_path), options.grid_path);
  FBNET_CHECK(options.threads_per_job >= 1, "--threads-per-job: must be at least 1, got {}", options.threads_per_job);
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "runs", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());
  const std::string fbnet = own_executable();

  std::vector<ChildJob> jobs;
  std::vector<size_t> job_runs;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (static_cast<int>(i % options.shard_count) != options.shard_index || options.report_only) continue;
    const GridRunResult state = inspect(options, runs[i]);
    if (state.status == RunStatus::kFinished || state.status == RunStatus::kFailed) continue;
    const std::string folder = run_folder(options, runs[i]);
    fs::create_directories(folder, error);
    FBNET_CHECK(!error, "cannot create {}: {}", folder, error.message());
    std::vector<std::string> argv = {fbnet, "train"};
    if (state.status == RunStatus::kPartial) {
      argv.insert(argv.end(), {"--resume", folder});
    } else {
      const std::string settings_path = (fs::path(folder) / "grid-settings.json").string();
      write_file_atomic(settings_path, runs[i].settings.dump(2) + "\n");
      argv.insert(argv.end(), {"--config", settings_path, "--out", folder});
    }
    argv.insert(argv.end(), {"--threads", std::to_string(options.threads_per_job), "--progress", "never"});
    jobs.push_back({argv, (fs::path(folder) / "log.txt").string(), ""});
    job_runs.push_back(i);
  }
  const int parallel = options.jobs > 0 ? options.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!jobs.empty())
    fmt::print("grid: {} configurations, {} to run in this shard ({}/{}), {} at a time\n", runs.size(), jobs.size(),
               options.shard_index + 1, options.shard_count, parallel);
  size_t done = 0;
  run_child_jobs(jobs, parallel, [&](size_t j, const ChildResult& result) {
    const GridRun& run = runs[job_runs[j]];
    ++done;
    if (result.signal == 0 && result.exit_code == 0) {
      fmt::print("grid: [{}/{}] {} finished\n", done, jobs.size(), run.id);
    } else {
      // A run that failed by itself (divergence, bad data) is marked, not retried;
      // one killed by a signal is left to resume.
      if (result.signal == 0)
        write_file_atomic((fs::path(run_folder(options, run)) / "failed.txt").string(),
                          fmt::format("exit status {}; see log.txt\n", result.exit_code));
      fmt::print("grid: [{}/{}] {} {} (see {}/log.txt)\n", done, jobs.size(), run.id,
                 result.signal ? fmt::format("killed by signal {}", result.signal) : "failed", run_folder(options, run));
    }
    std::fflush(stdout);
  });

  std::vector<GridRunResult> results;
  for (const GridRun& run : runs) results.push_back(inspect(options, run));
  write_report(options, results);
  fmt::print("grid: report in {}/grid.md, grid.csv, best.json\n", options.out);
  return results;
}

}  // namespace fbnet
