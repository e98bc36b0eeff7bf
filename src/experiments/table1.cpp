// Grid, seeds, evaluation at several noise scales, table and figures.
#include "experiments/table1.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "config/config.hpp"
#include "data/dataset.hpp"
#include "data/transforms.hpp"
#include "engine/blas.hpp"
#include "engine/error.hpp"
#include "experiments/figures.hpp"
#include "experiments/grid.hpp"
#include "experiments/statistics.hpp"
#include "experiments/test_conditions.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "train/evaluate.hpp"
#include "train/image_run.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

struct ReportRow {
  const char* model;
  const char* label;
  int64_t parameters;  // on EMNIST letters' 26 classes
  double accuracy;
  double noisy_accuracy;
};
constexpr ReportRow kReportRows[] = {
    {"ff", "FF net", 405526, 91.2, 39.7},
    {"ff-large", "FF net (large)", 811026, 91.8, 40.2},
    {"fb", "FB net", 798310, 92.2, 51.2},
};
constexpr std::span<const double> kNoiseScales = kReportNoiseScales;

// One model's runs: the chosen settings and a run folder per seed.
struct ModelRuns {
  const ReportRow* row;
  nlohmann::ordered_json settings;  // resolved
  std::vector<std::string> folders;  // [seed]
};

std::vector<ModelRuns> train_all(const Table1Options& options) {
  std::vector<ModelRuns> models;
  std::map<std::string, nlohmann::ordered_json> chosen;  // model -> settings as the grid file gave them
  std::map<std::string, std::string> seed0_folder;
  if (options.hyperparameters == Hyperparameters::kGrid) {
    run_grid_document(with_settings(report_grid(), options.settings), options.out, "grid", options.jobs,
                      options.reported_epoch);
    const nlohmann::json best = read_json_file((fs::path(options.out) / "grid" / "best.json").string());
    for (const ReportRow& row : kReportRows) {
      FBNET_CHECK(best.contains(row.model), "the grid chose no configuration for {}", row.model);
      chosen[row.model] = best[row.model]["settings"];
      seed0_folder[row.model] = (fs::path(options.out) / "grid" / "runs" / best[row.model]["id"].get<std::string>()).string();
    }
  } else {
    for (const ReportRow& row : kReportRows)
      chosen[row.model] = with_settings({{"model", row.model}}, options.settings);
  }

  // Seeds: every seed in report mode, seeds 1.. on top of the grid's seed 0.
  const int first_seed = options.hyperparameters == Hyperparameters::kGrid ? 1 : 0;
  nlohmann::ordered_json seeds_document = {{"grid", nlohmann::json::array()}};
  std::vector<int> seeds;
  for (int seed = first_seed; seed < options.seeds; ++seed) seeds.push_back(seed);
  for (const ReportRow& row : kReportRows) {
    nlohmann::ordered_json sub = chosen[row.model];
    sub["seed"] = seeds;
    seeds_document["grid"].push_back(sub);
  }
  std::vector<GridRunResult> seed_runs;
  if (!seeds.empty())
    seed_runs = run_grid_document(seeds_document, options.out, "seeds", options.jobs, options.reported_epoch);

  for (const ReportRow& row : kReportRows) {
    ModelRuns runs{&row, config_to_json(resolve_config(settings_from_json<RunConfig>(chosen[row.model], row.model))), {}};
    if (first_seed == 1) runs.folders.push_back(seed0_folder[row.model]);
    for (const GridRunResult& result : seed_runs)
      if (result.run.settings["model"] == row.model)
        runs.folders.push_back((fs::path(options.out) / "seeds" / "runs" / result.run.id).string());
    models.push_back(std::move(runs));
  }
  return models;
}

// Accuracy of every run's model (at the reported epoch) at each noise scale: [model][scale][seed].
std::vector<std::vector<std::vector<double>>> noise_curves(const std::vector<ModelRuns>& models,
                                                           const RunConfig& shared, ReportedEpoch epoch) {
  const TestSets sets = noisy_test_sets(shared, kNoiseScales);
  std::vector<std::vector<std::vector<double>>> accuracy(models.size(), std::vector<std::vector<double>>(kNoiseScales.size()));
  for (size_t m = 0; m < models.size(); ++m)
    for (const std::string& folder : models[m].folders) {
      const std::vector<double> curve = accuracy_curve(*load_run_network(folder, epoch), sets, shared.training.eval_batch_size);
      for (size_t s = 0; s < kNoiseScales.size(); ++s) accuracy[m][s].push_back(curve[s]);
    }
  return accuracy;
}

}  // namespace

nlohmann::json report_grid() {
  return nlohmann::json::parse(R"({
    "epochs": 30,
    "learning-rate": [0.005, 0.01, 0.02, 0.04],
    "momentum": [0.3, 0.5, 0.7],
    "batch-size": [64, 128],
    "grid": [{"model": ["ff", "ff-large"]},
             {"model": "fb", "feedback-alpha": [0.3, 0.5, 0.7]}]})");
}

void reproduce_table1(const Table1Options& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  const RunConfig shared = resolve_config(options.settings);
  validate(shared);
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "figures", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  const std::vector<ModelRuns> models = train_all(options);
  const auto noise = noise_curves(models, shared, options.reported_epoch);
  const size_t noise_index = report_noise_index(shared.data.noise_scale);

  const bool grid = options.hyperparameters == Hyperparameters::kGrid;
  std::string markdown = fmt::format(
      "Table 1 on {}: hyperparameters {}, {} epochs (results of the {} epoch), {} seed(s); test accuracy as mean ± "
      "sample std over seeds, "
      "clean and with noise s = {}. Report columns: the report's single runs on EMNIST letters.\n\n"
      "| Network | Parameters | Learning rate | Momentum | Batch size | Alpha | Accuracy | Accuracy with noise | "
      "Epoch time | Report accuracy | Report with noise |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
      shared.data.dataset, grid ? "chosen by the report's grid on the validation split" : "as the report chose them",
      shared.training.epochs, reported_epoch_phrase(options.reported_epoch), options.seeds,
      shared.data.noise_scale);
  std::string csv =
      "network,parameters,learning_rate,momentum,batch_size,alpha,seeds,accuracy_mean,accuracy_std,"
      "noisy_accuracy_mean,noisy_accuracy_std,median_epoch_seconds,report_accuracy,report_noisy_accuracy\n";
  std::map<std::string, std::vector<double>> clean, noisy;
  for (const ModelRuns& runs : models) {
    std::vector<double> epoch_seconds;
    for (const std::string& folder : runs.folders) {
      clean[runs.row->model].push_back(reported_metric(folder, "test_accuracy", options.reported_epoch));
      noisy[runs.row->model].push_back(reported_metric(folder, "noisy_test_accuracy", options.reported_epoch));
      for (const auto& record : read_metrics(folder)) epoch_seconds.push_back(record["train_seconds"].get<double>());
    }
    const double median_epoch = median(epoch_seconds);
    const Summary c = summarize(clean[runs.row->model]);
    const Summary n = summarize(noisy[runs.row->model]);
    const RunConfig config = resolve_config(settings_from_json<RunConfig>(runs.settings, runs.row->model));
    const std::string alpha = config.feedback.empty() ? "-" : fmt::format("{}", config.feedback_alpha);
    const int64_t parameters = read_json_file((fs::path(runs.folders[0]) / "config.json").string())["parameters"];
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} s | {:.1f} % | {:.1f} % |\n",
                            runs.row->label, parameters, config.training.optimizer.learning_rate, config.training.optimizer.momentum, config.training.batch_size, alpha,
                            mean_std_text(c), mean_std_text(n), median_epoch, runs.row->accuracy, runs.row->noisy_accuracy);
    csv += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{},{}\n", runs.row->model, parameters,
                       config.training.optimizer.learning_rate, config.training.optimizer.momentum, config.training.batch_size, config.feedback.empty() ? "" : alpha,
                       c.count, c.mean, c.std, n.mean, n.std, median_epoch, runs.row->accuracy,
                       runs.row->noisy_accuracy);
  }
  // Paired over seeds: seed k of FB against seed k of FF (same data, noise and split).
  markdown += fmt::format("\nPaired differences over {} seed(s), mean [95% confidence interval, Student's t], in "
                          "points:\n\n| Comparison | Clean | With noise | Report (clean / noise) |\n|---|---|---|---|\n",
                          options.seeds);
  for (const char* other : {"ff", "ff-large"}) {
    const std::vector<double> clean_difference = paired_differences(clean["fb"], clean[other]);
    const std::vector<double> noisy_difference = paired_differences(noisy["fb"], noisy[other]);
    const ReportRow& report_other = *std::find_if(std::begin(kReportRows), std::end(kReportRows),
                                                  [&](const ReportRow& r) { return std::string(r.model) == other; });
    markdown += fmt::format("| FB − {} | {} | {} | {:+.1f} / {:+.1f} |\n", report_other.label,
                            mean_ci_text(summarize(clean_difference)), mean_ci_text(summarize(noisy_difference)),
                            kReportRows[2].accuracy - report_other.accuracy,
                            kReportRows[2].noisy_accuracy - report_other.noisy_accuracy);
  }
  if (noise_index < kNoiseScales.size()) {
    // The noisy column re-measured through the noise curve must agree with training's own evaluation.
    for (size_t m = 0; m < models.size(); ++m)
      FBNET_CHECK(noise[m][noise_index] == noisy[models[m].row->model],
                  "{}: noisy accuracy at s = {} differs between training and the noise curve", models[m].row->model,
                  shared.data.noise_scale);
  }

  std::string noise_csv = "network,noise_scale,seeds,accuracy_mean,accuracy_std\n";
  Figure noise_figure{(fs::path(options.out) / "figures" / "noise").string(),
                      fmt::format("Test accuracy against noise scale ({}, {} seed(s))", shared.data.dataset, options.seeds),
                      "noise scale s: clip(x + s N(0, 64))", "test accuracy (%)", {}};
  Figure curves{(fs::path(options.out) / "figures" / "learning-curves").string(),
                fmt::format("Validation accuracy during training ({}, mean over {} seed(s))", shared.data.dataset, options.seeds),
                "epoch", "validation accuracy (%)", {}};
  for (size_t m = 0; m < models.size(); ++m) {
    Series series{models[m].row->label, {}, {}, {}};
    for (size_t s = 0; s < kNoiseScales.size(); ++s) {
      const Summary summary = summarize(noise[m][s]);
      series.x.push_back(kNoiseScales[s]);
      series.y.push_back(summary.mean);
      series.error.push_back(summary.std);
      noise_csv += fmt::format("{},{},{},{:.4f},{:.4f}\n", models[m].row->model, kNoiseScales[s], summary.count,
                               summary.mean, summary.std);
    }
    noise_figure.series.push_back(series);
    Series curve{models[m].row->label, {}, {}, {}};
    std::vector<std::vector<double>> per_epoch;
    for (const std::string& folder : models[m].folders) {
      const auto records = read_metrics(folder);
      per_epoch.resize(std::max(per_epoch.size(), records.size()));
      for (size_t e = 0; e < records.size(); ++e) per_epoch[e].push_back(records[e]["validation_accuracy"].get<double>());
    }
    for (size_t e = 0; e < per_epoch.size(); ++e) {
      curve.x.push_back(static_cast<double>(e + 1));
      curve.y.push_back(summarize(per_epoch[e]).mean);
    }
    curves.series.push_back(curve);
  }
  write_file_atomic((fs::path(options.out) / "table1.md").string(), markdown);
  write_file_atomic((fs::path(options.out) / "table1.csv").string(), csv);
  write_file_atomic((fs::path(options.out) / "noise.csv").string(), noise_csv);
  draw_figure(curves);
  draw_figure(noise_figure);
  fmt::print("\n{}\nwritten: {}/table1.md, table1.csv, noise.csv, figures/learning-curves.{{png,svg}}, "
             "figures/noise.{{png,svg}}\n",
             markdown, options.out);
}

}  // namespace fbnet
