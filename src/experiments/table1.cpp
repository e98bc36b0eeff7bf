// Runs of the three networks, then the table.
#include "experiments/table1.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "train/atomic_file.hpp"
#include "train/config.hpp"
#include "train/prepared_data.hpp"
#include "train/trainer.hpp"

namespace fbnet {
namespace {

struct ReportRow {
  ModelPreset model;
  const char* label;
  int64_t parameters;  // on EMNIST letters' 26 classes
  double accuracy;
  double noisy_accuracy;
};
constexpr ReportRow kReportRows[] = {
    {ModelPreset::kFF, "FF net", 405526, 91.2, 39.7},
    {ModelPreset::kFFLarge, "FF net (large)", 811026, 91.8, 40.2},
    {ModelPreset::kFB, "FB net", 798310, 92.2, 51.2},
};

struct Summary {
  double mean = 0;
  double std = 0;  // sample standard deviation; 0 for one seed
};

Summary summarize(const std::vector<double>& values) {
  Summary s;
  for (double v : values) s.mean += v / values.size();
  if (values.size() > 1) {
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(squares / (values.size() - 1));
  }
  return s;
}

std::string format_summary(const Summary& s, int seeds, const char* unit) {
  return seeds > 1 ? fmt::format("{:.2f} ± {:.2f}{}", s.mean, s.std, unit) : fmt::format("{:.2f}{}", s.mean, unit);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

void reproduce_table1(const Table1Options& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  const RunConfig shared = resolve_config(options.settings);
  validate(shared);
  const PreparedData data = prepare_data(shared);
  fmt::print("table1: {} ({} training, {} validation, {} test images), {} epochs, {} seed(s), runs in {}\n",
             shared.dataset, data.train.count(), data.validation.count(), data.test.count(), shared.epochs,
             options.seeds, options.out);

  std::string markdown = fmt::format(
      "Table 1 on {} ({} epochs, {} seed(s); mean ± sample std over seeds). Accuracy on the test set, clean and with "
      "noise s = {}. Report columns: the report's single runs on EMNIST letters.\n\n"
      "| Network | Parameters | Learning rate | Momentum | Batch size | Alpha | Accuracy | Accuracy with noise | "
      "Epoch time | Report accuracy | Report with noise |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
      shared.dataset, shared.epochs, options.seeds, shared.noise_scale);
  std::string csv =
      "network,parameters,learning_rate,momentum,batch_size,alpha,seeds,accuracy_mean,accuracy_std,"
      "noisy_accuracy_mean,noisy_accuracy_std,median_epoch_seconds,report_accuracy,report_noisy_accuracy\n";
  for (const ReportRow& row : kReportRows) {
    std::vector<double> accuracies, noisy_accuracies, epoch_seconds;
    RunConfig config;
    int64_t parameters = 0;
    for (int seed = 0; seed < options.seeds; ++seed) {
      auto settings = options.settings;
      settings.emplace_back("model", model_name(row.model));
      settings.emplace_back("seed", std::to_string(seed));
      settings.emplace_back("out", (std::filesystem::path(options.out) / fmt::format("{}-seed{}", model_name(row.model), seed)).string());
      config = resolve_config(settings);
      const bool resume = std::filesystem::exists(std::filesystem::path(config.out) / "checkpoint.safetensors");
      RunResult result = train_run(config, data, resume);
      FBNET_CHECK(static_cast<int>(result.epochs.size()) == config.epochs, "{}: expected {} epochs of metrics, found {}",
                  config.out, config.epochs, result.epochs.size());
      parameters = result.parameters;
      accuracies.push_back(result.epochs.back()["test_accuracy"].get<double>());
      noisy_accuracies.push_back(result.epochs.back()["noisy_test_accuracy"].get<double>());
      for (const auto& epoch : result.epochs) epoch_seconds.push_back(epoch["train_seconds"].get<double>());
    }
    const Summary accuracy = summarize(accuracies);
    const Summary noisy = summarize(noisy_accuracies);
    const bool has_feedback = !config.feedback.empty();
    const std::string alpha = has_feedback ? fmt::format("{}", config.feedback_alpha) : "-";
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} s | {:.1f} % | {:.1f} % |\n", row.label,
                            parameters, config.learning_rate, config.momentum, config.batch_size, alpha,
                            format_summary(accuracy, options.seeds, " %"), format_summary(noisy, options.seeds, " %"),
                            median(epoch_seconds), row.accuracy, row.noisy_accuracy);
    csv += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{},{}\n", model_name(row.model), parameters,
                       config.learning_rate, config.momentum, config.batch_size, has_feedback ? alpha : "",
                       options.seeds, accuracy.mean, accuracy.std, noisy.mean, noisy.std, median(epoch_seconds),
                       row.accuracy, row.noisy_accuracy);
  }
  write_file_atomic((std::filesystem::path(options.out) / "table1.md").string(), markdown);
  write_file_atomic((std::filesystem::path(options.out) / "table1.csv").string(), csv);
  fmt::print("\n{}\nwritten: {}/table1.md, {}/table1.csv\n", markdown, options.out, options.out);
}

}  // namespace fbnet
