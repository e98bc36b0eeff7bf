// Figure 1's tables (markdown and CSV) and figures (gnuplot) from finished runs.
#include "experiments/figure1_report.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/dataset.hpp"
#include "engine/error.hpp"
#include "experiments/figures.hpp"
#include "experiments/statistics.hpp"
#include "formats/atomic_file.hpp"
#include "train/sequence_data.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

// NOTES.md: the report's per-position test accuracy (%), EMNIST letters.
struct ReportRow {
  const char* condition;
  const char* net;
  double accuracy[5];
};
constexpr ReportRow kReportRows[] = {
    {"normal", "ff", {91.5, 91.8, 89.8, 90.2, 93.3}}, {"normal", "fb", {91.5, 96.0, 95.9, 96.3, 97.5}},
    {"noisy", "ff", {91.1, 92.1, 90.4, 8.8, 7.0}},    {"noisy", "fb", {90.8, 96.1, 95.9, 65.8, 73.5}},
    {"random", "ff", {90.0, 92.7, 91.0, 89.2, 91.5}}, {"random", "fb", {89.7, 57.1, 34.3, 38.2, 33.2}},
};
constexpr const char* kConditions[] = {"normal", "noisy", "random"};
constexpr const char* kNets[] = {"ff", "fb", "lstm"};
const char* net_label(const std::string& net) { return net == "ff" ? "FF" : net == "fb" ? "FB" : "LSTM"; }

const ReportRow* report_row(const std::string& condition, const std::string& net) {
  for (const ReportRow& row : kReportRows)
    if (condition == row.condition && net == row.net) return &row;
  return nullptr;
}

// A run's final per-position accuracy of `net` under `condition`.
std::vector<double> final_accuracy(const SequenceRunResults& run, const std::string& condition, const std::string& net) {
  try {
    return run.results.at("conditions").at(condition).at(net).at("accuracy").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    fail("figure1: a results.json lacks the {} accuracy of {} sequences: {}", net, condition, e.what());
  }
}

// values[position][seed] of one net and condition in one variant (the LSTM from its own runs).
std::vector<std::vector<double>> by_position(const std::vector<SequenceRunResults>& runs, const std::string& condition,
                                             const std::string& net, int length) {
  std::vector<std::vector<double>> values(length);
  for (const SequenceRunResults& run : runs) {
    const std::vector<double> accuracy = final_accuracy(run, condition, net);
    FBNET_CHECK(static_cast<int>(accuracy.size()) == length, "figure1: {} positions in a results.json, {} expected",
                accuracy.size(), length);
    for (int p = 0; p < length; ++p) values[p].push_back(accuracy[p]);
  }
  return values;
}

std::string cell(const Summary& summary) {
  return summary.count > 1 ? fmt::format(" {:.1f} ± {:.1f} |", summary.mean, summary.std)
                           : fmt::format(" {:.1f} |", summary.mean);
}

std::string table_head(const char* first, const char* second, int length) {
  std::string head = fmt::format("| {} | {} |", first, second);
  for (int p = 1; p <= length; ++p) head += fmt::format(" {} |", p);
  head += "\n|---|---|";
  for (int p = 0; p < length; ++p) head += "---|";
  return head + "\n";
}

// The first test sample of each condition, as raw-looking images for the strip.
std::vector<std::vector<Image>> example_strips(const SequenceConfig& shared) {
  const auto data = prepare_sequence_data(shared);
  std::vector<std::vector<Image>> strips;
  std::vector<Tensor<float>> images;
  std::vector<std::vector<int32_t>> labels;
  for (const SequenceSet& set : data->tests) {
    gather_sequence_batch(set, {0}, 0, 1, images, labels);
    std::vector<Image> strip;
    for (int p = 0; p < data->length; ++p)
      strip.push_back(input_image(images[p].row(0), data->images.image_shape, class_name(shared.data.dataset, labels[p][0])));
    strips.push_back(std::move(strip));
  }
  return strips;
}

struct ReportFiles {
  std::string markdown;
  std::string csv = "variant,condition,net,position,seeds,accuracy_mean,accuracy_std,report_accuracy\n";
  std::string paired_csv = "variant,condition,position,seeds,fb_minus_ff_mean,ci95_low,ci95_high\n";
  std::string epochs_csv = "variant,condition,position,epoch,seeds,fb_accuracy_mean,fb_accuracy_std\n";
};

// One variant's accuracy table and bar figure (the report's Figure 1).
void accuracy_table(const Figure1Results& results, const Figure1Variant& variant,
                    const std::vector<std::vector<Image>>& strips, ReportFiles& files) {
  const SequenceConfig& shared = results.shared;
  files.markdown += fmt::format("Test accuracy (%) per position, mean ± sample std over {} seed(s). FB {}. {}. "
                                "Report rows: the report's single run on EMNIST letters.\n\n",
                                results.seeds, variant.description, results.lstm_description);
  files.markdown += table_head("Sequences", "Net", shared.length);
  BarFigure figure{(fs::path(results.out) / "figures" / ("figure1-" + variant.name)).string(),
                   fmt::format("Accuracy per position, FB {} ({}, mean ± std over {} seed(s))", variant.name,
                               shared.data.dataset, results.seeds),
                   "test accuracy (%)", "position", {}};
  for (size_t c = 0; c < std::size(kConditions); ++c) {
    const std::string condition = kConditions[c];
    BarPanel panel{condition == "noisy" ? fmt::format("noisy at {}", fmt::join(shared.noisy_positions, ","))
                                        : condition,
                   {}, {}, strips.at(c)};
    for (int p = 1; p <= shared.length; ++p) panel.categories.push_back(std::to_string(p));
    for (const char* net : kNets) {
      const auto positions = by_position(std::string(net) == "lstm" ? results.lstm : variant.seeds, condition, net,
                                         shared.length);
      Series series{net_label(net), {}, {}, {}};
      std::string row = fmt::format("| {} | {} |", condition, net_label(net));
      const ReportRow* report = shared.length == 5 ? report_row(condition, net) : nullptr;
      for (int p = 0; p < shared.length; ++p) {
        const Summary summary = summarize(positions[p]);
        series.x.push_back(p + 1);
        series.y.push_back(summary.mean);
        series.error.push_back(summary.std);
        row += cell(summary);
        files.csv += fmt::format("{},{},{},{},{},{:.4f},{:.4f},{}\n", variant.name, condition, net, p + 1,
                                 summary.count, summary.mean, summary.std,
                                 report ? fmt::format("{}", report->accuracy[p]) : "");
      }
      files.markdown += row + "\n";
      if (report != nullptr) {
        std::string report_line = fmt::format("| {} | {} (report) |", condition, net_label(net));
        for (double value : report->accuracy) report_line += fmt::format(" {:.1f} |", value);
        files.markdown += report_line + "\n";
      }
      panel.series.push_back(std::move(series));
    }
    figure.panels.push_back(std::move(panel));
  }
  draw_bar_figure(figure);
}

// FB − FF per seed (the same FF net and the same test samples), its mean and 95% CI.
void paired_table(const Figure1Results& results, const Figure1Variant& variant, ReportFiles& files) {
  const int length = results.shared.length;
  files.markdown += fmt::format("\nFB − FF, paired over {} seed(s): mean [95% CI] in points.\n\n", results.seeds);
  files.markdown += table_head("Sequences", "", length);
  for (const char* condition : kConditions) {
    const auto fb = by_position(variant.seeds, condition, "fb", length);
    const auto ff = by_position(variant.seeds, condition, "ff", length);
    std::string row = fmt::format("| {} | FB − FF |", condition);
    for (int p = 0; p < length; ++p) {
      std::vector<double> differences(fb[p].size());
      for (size_t s = 0; s < differences.size(); ++s) differences[s] = fb[p][s] - ff[p][s];
      const Summary d = summarize(differences);
      row += d.count > 1 ? fmt::format(" {:+.1f} [{:+.1f}, {:+.1f}] |", d.mean, d.mean - d.ci95_half, d.mean + d.ci95_half)
                         : fmt::format(" {:+.1f} |", d.mean);
      files.paired_csv += fmt::format("{},{},{},{},{:.4f},{:.4f},{:.4f}\n", variant.name, condition, p + 1, d.count,
                                      d.mean, d.mean - d.ci95_half, d.mean + d.ci95_half);
    }
    files.markdown += row + "\n";
  }
}

// FB accuracy per epoch: every position of normal sequences, the noisy
// positions of noisy ones, and the last position of random ones.
void epoch_curves(const Figure1Results& results, const Figure1Variant& variant, ReportFiles& files) {
  const SequenceConfig& shared = results.shared;
  Figure figure{(fs::path(results.out) / "figures" / ("figure1-" + variant.name + "-epochs")).string(),
                fmt::format("FB {} per epoch ({}, mean ± std over {} seed(s))", variant.name, shared.data.dataset,
                            results.seeds),
                "epoch", "test accuracy (%)", {}, "outside right top"};
  std::vector<std::pair<std::string, int>> curves;
  for (int p = 1; p <= shared.length; ++p) curves.emplace_back("normal", p);
  for (int64_t p : shared.noisy_positions) curves.emplace_back("noisy", static_cast<int>(p));
  curves.emplace_back("random", shared.length);
  for (const auto& [condition, position] : curves) {
    Series series{fmt::format("{}, position {}", condition, position), {}, {}, {}};
    for (int epoch = 1; epoch <= shared.training.epochs; ++epoch) {
      std::vector<double> values;
      for (const SequenceRunResults& run : variant.seeds) {
        FBNET_CHECK(static_cast<int>(run.epochs.size()) >= epoch, "figure1: a metrics.jsonl of FB {} has {} epochs, "
                    "{} expected", variant.name, run.epochs.size(), shared.training.epochs);
        try {
          values.push_back(run.epochs[epoch - 1].at("positions").at(condition).at(position - 1).get<double>());
        } catch (const nlohmann::json::exception& e) {
          fail("figure1: a metrics.jsonl of FB {} has no per-position accuracy at epoch {}: {}", variant.name, epoch,
               e.what());
        }
      }
      const Summary summary = summarize(values);
      series.x.push_back(epoch);
      series.y.push_back(summary.mean);
      series.error.push_back(summary.std);
      files.epochs_csv += fmt::format("{},{},{},{},{},{:.4f},{:.4f}\n", variant.name, condition, position, epoch,
                                      summary.count, summary.mean, summary.std);
    }
    figure.series.push_back(std::move(series));
  }
  draw_figure(figure);
}

std::string sweep_table(const Figure1Results& results) {
  std::string markdown = fmt::format(
      "\nThe sgd variant's learning-rate sweep (seed 0, {} epochs, momentum {}): accuracy (%) on {} validation "
      "sequences drawn from the held-out training images after the last epoch; the rate with the best mean is "
      "chosen.\n\n| Learning rate | Mean |",
      results.shared.training.epochs, results.shared.training.optimizer.momentum, results.shared.validation_sequences);
  for (int p = 1; p <= results.shared.length; ++p) markdown += fmt::format(" {} |", p);
  markdown += " Train loss |\n|---|---|";
  for (int p = 0; p <= results.shared.length; ++p) markdown += "---|";
  markdown += "\n";
  std::string csv = "learning_rate,finished,validation_mean,train_loss";
  for (int p = 1; p <= results.shared.length; ++p) csv += fmt::format(",validation_position_{}", p);
  csv += "\n";
  for (size_t i = 0; i < results.sweep.size(); ++i) {
    const SweepPoint& point = results.sweep[i];
    if (!point.finished) {
      markdown += fmt::format("| {} | diverged (see {}/log.txt) |\n", point.learning_rate, point.folder);
      csv += fmt::format("{},false,,{}\n", point.learning_rate, std::string(results.shared.length, ','));
      continue;
    }
    markdown += fmt::format("| {}{} | {:.2f} |", point.learning_rate,
                            static_cast<int>(i) == results.chosen ? " (chosen)" : "", point.validation_mean);
    for (double value : point.validation_accuracy) markdown += fmt::format(" {:.1f} |", value);
    markdown += fmt::format(" {:.4f} |\n", point.train_loss);
    csv += fmt::format("{},true,{:.4f},{:.6f},{:.4f}\n", point.learning_rate, point.validation_mean, point.train_loss,
                       fmt::join(point.validation_accuracy, ","));
  }
  write_file_atomic(path_in(results.out, "figure1-sweep.csv"), csv);
  const auto [lowest, highest] = std::minmax_element(
      results.sweep.begin(), results.sweep.end(),
      [](const SweepPoint& a, const SweepPoint& b) { return a.learning_rate < b.learning_rate; });
  const auto chosen = results.sweep.begin() + results.chosen;
  if (results.sweep.size() > 1 && (chosen == lowest || chosen == highest))
    markdown += fmt::format("\nThe chosen rate {} is at the edge of the sweep: a better one may lie beyond it "
                            "(--sweep-learning-rates).\n", chosen->learning_rate);
  return markdown;
}

}  // namespace

std::string write_figure1_report(const Figure1Results& results) {
  const SequenceConfig& shared = results.shared;
  ReportFiles files;
  files.markdown = fmt::format("Figure 1 on {}: {} allowed sequences, {} training and {} test samples, noise s = {} "
                               "at positions {}. FB: FF weights frozen, feedback trained.\n",
                               shared.data.dataset, shared.allowed, shared.train_sequences, shared.test_sequences,
                               shared.data.noise_scale, fmt::join(shared.noisy_positions, ","));
  const std::vector<std::vector<Image>> strips = example_strips(shared);
  for (const Figure1Variant& variant : results.variants) {
    files.markdown += fmt::format("\n## FB {}\n\n", variant.name);
    accuracy_table(results, variant, strips, files);
    paired_table(results, variant, files);
    epoch_curves(results, variant, files);
  }
  if (!results.sweep.empty()) files.markdown += sweep_table(results);
  write_file_atomic(path_in(results.out, "figure1.md"), files.markdown);
  write_file_atomic(path_in(results.out, "figure1.csv"), files.csv);
  write_file_atomic(path_in(results.out, "figure1-paired.csv"), files.paired_csv);
  write_file_atomic(path_in(results.out, "figure1-epochs.csv"), files.epochs_csv);
  return files.markdown;
}

}  // namespace fbnet
