// FF runs, the sequence runs of both variants and the LSTM, the sgd variant's
// learning-rate sweep, then the report (figure1_report.hpp).
#include "experiments/figure1.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/sequence_config.hpp"
#include "engine/error.hpp"
#include "experiments/figure1_report.hpp"
#include "experiments/grid.hpp"
#include "experiments/process_pool.hpp"
#include "experiments/statistics.hpp"
#include "formats/atomic_file.hpp"
#include "formats/metrics_file.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

// The FF nets of experiment 1, one per seed: returns their model files.
std::vector<std::string> train_ff(const Figure1Options& options, const SequenceConfig& shared) {
  std::vector<int> seeds;
  for (int seed = 0; seed < options.seeds; ++seed) seeds.push_back(seed);
  const nlohmann::ordered_json document = {{"model", "ff"},
                                           {"dataset", shared.data.dataset},
                                           {"data-dir", shared.data.data_dir.path},
                                           {"validation-size", shared.data.validation_size},
                                           {"split-seed", shared.data.split_seed},
                                           {"epochs", options.ff_epochs},
                                           {"seed", seeds}};
  std::vector<std::string> models(options.seeds);
  for (const GridRunResult& result : run_grid_document(document, options.out, "ff", options.jobs))
    models.at(result.run.settings["seed"].get<int>()) =
        (fs::path(options.out) / "ff" / "runs" / result.run.id / "model.safetensors").string();
  return models;
}

// One `fbnet sequence` process: its folder and the flags that make it differ
// from the shared settings.
struct SequenceJob {
  std::string folder;
  std::vector<std::string> flags;
  bool may_diverge = false;  // a sweep run may diverge; that is a result, not an error
};

std::string sequences_folder(const Figure1Options& options) { return (fs::path(options.out) / "sequences").string(); }

std::string lstm_folder(const Figure1Options& options, int seed) {
  return path_in(sequences_folder(options), fmt::format("lstm-seed{}", seed));
}
std::string authors_folder(const Figure1Options& options, int seed) {
  return path_in(sequences_folder(options), fmt::format("fb-authors-seed{}", seed));
}
std::string sgd_folder(const Figure1Options& options, double learning_rate, int seed) {
  return path_in(sequences_folder(options), fmt::format("fb-sgd-lr{}-seed{}", learning_rate, seed));
}

// A sweep run that diverged leaves failed.json, so that a rerun keeps the
// result instead of training it again; any other failure is an error.
bool finished(const std::string& folder) {
  return fs::exists(path_in(folder, "results.json")) || fs::exists(path_in(folder, "failed.json"));
}

SequenceJob lstm_job(const Figure1Options& options, int seed) {
  return {lstm_folder(options, seed),
          {"--net", "lstm", "--epochs", std::to_string(options.lstm_training.epochs), "--learning-rate",
           fmt::format("{}", options.lstm_training.optimizer.learning_rate), "--momentum", fmt::format("{}", options.lstm_training.optimizer.momentum)},
          false};
}

SequenceJob fb_job(std::string folder, const std::string& ff_model, std::vector<std::string> flags, bool may_diverge) {
  flags.insert(flags.end(), {"--net", "fb", "--ff-model", ff_model});
  return {std::move(folder), std::move(flags), may_diverge};
}

// Whether a run that exited with an error said it diverged (the training loop's message).
bool diverged(const std::string& folder) {
  std::ifstream log(path_in(folder, "log.txt"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  return text.find("training diverged") != std::string::npos;
}

// Runs the jobs whose folders hold no finished run, `options.jobs` at a time.
void run_sequence_jobs(const Figure1Options& options, const std::vector<SequenceJob>& all_jobs) {
  std::vector<ChildJob> jobs;
  std::vector<const SequenceJob*> specs;
  for (const SequenceJob& job : all_jobs) {
    if (finished(job.folder)) continue;
    std::error_code error;
    fs::create_directories(job.folder, error);
    FBNET_CHECK(!error, "--out: cannot create {}: {}", job.folder, error.message());
    std::vector<std::string> argv = {own_executable(), "sequence"};
    if (fs::exists(path_in(job.folder, "checkpoint.safetensors"))) {
      argv.insert(argv.end(), {"--resume", job.folder});  // an interrupted run continues where it stopped
    } else {
      for (const auto& [name, text] : options.settings) argv.insert(argv.end(), {"--" + name, text});
      argv.insert(argv.end(), job.flags.begin(), job.flags.end());
      argv.insert(argv.end(), {"--out", job.folder});
    }
    argv.insert(argv.end(), {"--progress", "never", "--threads", "1"});
    jobs.push_back({argv, path_in(job.folder, "log.txt"), ""});
    specs.push_back(&job);
  }
  if (jobs.empty()) return;
  const int parallel = options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  fmt::print("figure1: {} sequence runs to train, {} at a time\n", jobs.size(), parallel);
  std::fflush(stdout);
  std::vector<std::string> failed;
  run_child_jobs(jobs, parallel, [&](size_t index, const ChildResult& result) {
    const SequenceJob& job = *specs[index];
    const bool ok = result.signal == 0 && result.exit_code == 0;
    const bool kept_divergence = !ok && result.signal == 0 && job.may_diverge && diverged(job.folder);
    if (kept_divergence)
      write_file_atomic(path_in(job.folder, "failed.json"),
                        nlohmann::json({{"exit_code", result.exit_code}, {"log", "log.txt"}}).dump() + "\n");
    fmt::print("figure1: {} {}\n", job.folder, ok ? "finished" : kept_divergence ? "diverged (kept as a result)" : "FAILED");
    std::fflush(stdout);
    if (!ok && !kept_divergence) failed.push_back(job.folder);
  });
  FBNET_CHECK(failed.empty(), "figure1: {} sequence run(s) failed: {}; see log.txt in each", failed.size(),
              fmt::join(failed, ", "));
}

SequenceRunResults read_run(const std::string& folder) {
  return {read_json_file(path_in(folder, "results.json")), read_metrics(folder)};
}

SweepPoint read_sweep_point(const std::string& folder, double learning_rate) {
  SweepPoint point;
  point.learning_rate = learning_rate;
  point.folder = folder;
  if (!fs::exists(path_in(folder, "results.json"))) return point;
  const std::vector<nlohmann::ordered_json> epochs = read_metrics(folder);
  FBNET_CHECK(!epochs.empty(), "{}: results.json without metrics.jsonl", folder);
  try {
    point.validation_accuracy = epochs.back().at("positions").at("validation").get<std::vector<double>>();
    point.train_loss = epochs.back().at("train_loss").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}/metrics.jsonl: the last epoch has no validation accuracy per position ({}); the sweep needs "
         "--validation-sequences > 0 and --validation-size > 0", folder, e.what());
  }
  point.validation_mean = summarize(point.validation_accuracy).mean;
  point.finished = true;
  return point;
}

}  // namespace

void reproduce_figure1(const Figure1Options& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  FBNET_CHECK(options.ff_epochs >= 1 && options.lstm_training.epochs >= 1, "--ff-epochs and --lstm-epochs: must be positive");
  const bool authors = options.variants != Figure1Variants::kSgd;
  const bool sgd = options.variants != Figure1Variants::kAuthors;
  FBNET_CHECK(!sgd || !options.sweep_learning_rates.empty(), "--sweep-learning-rates: the sgd variant needs at least one");
  validate_learning_rate_sweep(options.sweep_learning_rates);
  for (const auto& [name, text] : options.settings)
    FBNET_CHECK(name != "net" && name != "seed" && name != "sequence-seed" && name != "out" && name != "ff-model" &&
                    name != "progress" && name != "threads" && name != "gradient-accumulation",
                "reproduce figure1: setting '{}' is chosen per run by figure1 itself; remove it from the config", name);
  // The FF nets, the feedback net's two variants and the LSTM are the report's SGD runs; another optimiser or
  // schedule would reach some of them and not others.
  for (const auto& [name, text] : options.settings)
    FBNET_CHECK(name != "optimizer" && name != "nesterov" && name != "weight-decay" && name.rfind("adam-", 0) != 0 &&
                    name.rfind("lr-", 0) != 0 && name != "warmup-epochs" && name != "early-stopping",
                "reproduce figure1: setting '{}' would change the optimiser of some of its runs and not others; "
                "figure1 trains every net with the report's SGD (use fbnet sequence for other optimisers)", name);
  SequenceConfig shared = resolve_sequence_config(options.settings);
  shared.ff_model.path = "(trained by figure1)";  // validated as set; each fb run gets its own
  validate(shared);
  FBNET_CHECK(!sgd || (shared.validation_sequences > 0 && shared.data.validation_size > 0),
              "--validation-sequences and --validation-size: the sgd variant chooses its learning rate on validation "
              "sequences, so both must be positive");
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "figures", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  const std::vector<std::string> ff_models = train_ff(options, shared);
  // Everything that does not wait for the sweep's choice: the LSTM, the
  // authors' variant, and the sweep itself (seed 0 of the sgd variant at each rate).
  std::vector<SequenceJob> jobs;
  for (int seed = 0; seed < options.seeds; ++seed) {
    const std::vector<std::string> seed_flags = {"--seed", std::to_string(seed), "--sequence-seed", std::to_string(seed)};
    if (authors) {
      std::vector<std::string> flags = seed_flags;
      flags.insert(flags.end(), {"--gradient-accumulation", "running-sum"});
      jobs.push_back(fb_job(authors_folder(options, seed), ff_models[seed], flags, false));
    }
    SequenceJob lstm = lstm_job(options, seed);
    lstm.flags.insert(lstm.flags.end(), seed_flags.begin(), seed_flags.end());
    jobs.push_back(lstm);
  }
  auto sgd_flags = [](double learning_rate, int seed) {
    return std::vector<std::string>{"--seed", std::to_string(seed), "--sequence-seed", std::to_string(seed),
                                    "--gradient-accumulation", "zeroed", "--learning-rate",
                                    fmt::format("{}", learning_rate)};
  };
  if (sgd)
    for (double learning_rate : options.sweep_learning_rates)
      jobs.push_back(fb_job(sgd_folder(options, learning_rate, 0), ff_models[0], sgd_flags(learning_rate, 0), true));
  run_sequence_jobs(options, jobs);

  Figure1Results results;
  results.shared = shared;
  results.out = options.out;
  results.seeds = options.seeds;
  results.lstm_description = fmt::format("LSTM ({} hidden): trained from scratch ({} epochs, lr {}, momentum {})",
                                         shared.lstm_hidden, options.lstm_training.epochs, options.lstm_training.optimizer.learning_rate,
                                         options.lstm_training.optimizer.momentum);
  for (int seed = 0; seed < options.seeds; ++seed) results.lstm.push_back(read_run(lstm_folder(options, seed)));
  if (authors) {
    Figure1Variant variant{"authors",
                           fmt::format("as the authors ran it: running-sum update (zero_grad never called), lr {}, "
                                       "momentum {}, batch {}, {} epochs",
                                       shared.training.optimizer.learning_rate, shared.training.optimizer.momentum, shared.training.batch_size, shared.training.epochs),
                           {}};
    for (int seed = 0; seed < options.seeds; ++seed) variant.seeds.push_back(read_run(authors_folder(options, seed)));
    results.variants.push_back(std::move(variant));
  }
  if (sgd) {
    for (double learning_rate : options.sweep_learning_rates)
      results.sweep.push_back(read_sweep_point(sgd_folder(options, learning_rate, 0), learning_rate));
    // The first of the best finished rates, in the order the sweep lists them.
    for (size_t i = 0; i < results.sweep.size(); ++i)
      if (results.sweep[i].finished &&
          (results.chosen < 0 || results.sweep[i].validation_mean > results.sweep[results.chosen].validation_mean))
        results.chosen = static_cast<int>(i);
    FBNET_CHECK(results.chosen >= 0, "figure1: every learning rate of the sweep diverged; see log.txt in {}/fb-sgd-*",
                sequences_folder(options));
    const SweepPoint& best = results.sweep[results.chosen];
    const double chosen = best.learning_rate;
    fmt::print("figure1: the sweep chose learning rate {} (validation accuracy {:.2f}%)\n", chosen, best.validation_mean);
    std::vector<SequenceJob> seed_jobs;
    for (int seed = 1; seed < options.seeds; ++seed)
      seed_jobs.push_back(fb_job(sgd_folder(options, chosen, seed), ff_models[seed], sgd_flags(chosen, seed), false));
    run_sequence_jobs(options, seed_jobs);
    Figure1Variant variant{"sgd",
                           fmt::format("SGD with momentum (zero_grad every step), lr {} chosen by the sweep, momentum "
                                       "{}, batch {}, {} epochs",
                                       chosen, shared.training.optimizer.momentum, shared.training.batch_size, shared.training.epochs),
                           {}};
    for (int seed = 0; seed < options.seeds; ++seed) variant.seeds.push_back(read_run(sgd_folder(options, chosen, seed)));
    results.variants.push_back(std::move(variant));
  }
  const std::string markdown = write_figure1_report(results);
  fmt::print("\n{}\nwritten: {}/figure1.md, figure1*.csv, figures/figure1-*.{{png,svg}}\n", markdown, options.out);
}

}  // namespace fbnet
