// FF runs, sequence runs, the per-position table and Figure 1.
#include "experiments/figure1.hpp"

#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/dataset.hpp"
#include "engine/error.hpp"
#include "experiments/figures.hpp"
#include "experiments/grid.hpp"
#include "experiments/process_pool.hpp"
#include "experiments/statistics.hpp"
#include "train/atomic_file.hpp"
#include "train/sequence_config.hpp"
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

// The FF nets of experiment 1, one per seed: returns their model files.
std::vector<std::string> train_ff(const Figure1Options& options, const SequenceConfig& shared) {
  std::vector<int> seeds;
  for (int seed = 0; seed < options.seeds; ++seed) seeds.push_back(seed);
  const nlohmann::ordered_json document = {{"model", "ff"},
                                           {"dataset", shared.dataset},
                                           {"data-dir", shared.data_dir},
                                           {"validation-size", shared.validation_size},
                                           {"split-seed", shared.split_seed},
                                           {"epochs", options.ff_epochs},
                                           {"seed", seeds}};
  std::vector<std::string> models(options.seeds);
  for (const GridRunResult& result : run_grid_document(document, options.out, "ff", options.jobs))
    models.at(result.run.settings["seed"].get<int>()) =
        (fs::path(options.out) / "ff" / "runs" / result.run.id / "model.safetensors").string();
  return models;
}

std::string sequence_folder(const Figure1Options& options, const std::string& net, int seed) {
  return (fs::path(options.out) / "sequences" / fmt::format("{}-seed{}", net, seed)).string();
}

// The fb and lstm runs of every seed, as `fbnet sequence` processes; a run
// whose results.json exists is finished and kept.
void train_sequences(const Figure1Options& options, const std::vector<std::string>& ff_models) {
  std::vector<ChildJob> jobs;
  std::vector<std::string> names;
  for (int seed = 0; seed < options.seeds; ++seed)
    for (const char* net : {"fb", "lstm"}) {
      const std::string folder = sequence_folder(options, net, seed);
      if (fs::exists(path_in(folder, "results.json"))) continue;
      std::error_code error;
      fs::create_directories(folder, error);
      FBNET_CHECK(!error, "--out: cannot create {}: {}", folder, error.message());
      std::vector<std::string> argv = {own_executable(), "sequence"};
      for (const auto& [name, text] : options.settings) argv.insert(argv.end(), {"--" + name, text});
      argv.insert(argv.end(), {"--net", net, "--seed", std::to_string(seed), "--sequence-seed", std::to_string(seed),
                               "--out", folder, "--progress", "never", "--threads", "1"});
      if (std::string(net) == "fb") {
        argv.insert(argv.end(), {"--ff-model", ff_models[seed]});
      } else {
        argv.insert(argv.end(), {"--epochs", std::to_string(options.lstm_epochs), "--learning-rate",
                                 fmt::format("{}", options.lstm_learning_rate), "--momentum",
                                 fmt::format("{}", options.lstm_momentum)});
      }
      jobs.push_back({argv, path_in(folder, "log.txt"), ""});
      names.push_back(folder);
    }
  if (jobs.empty()) return;
  const int parallel = options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  fmt::print("figure1: {} sequence runs to train, {} at a time\n", jobs.size(), parallel);
  std::fflush(stdout);
  std::vector<std::string> failed;
  run_child_jobs(jobs, parallel, [&](size_t index, const ChildResult& result) {
    const bool ok = result.signal == 0 && result.exit_code == 0;
    fmt::print("figure1: {} {}\n", names[index], ok ? "finished" : "FAILED");
    std::fflush(stdout);
    if (!ok) failed.push_back(names[index]);
  });
  FBNET_CHECK(failed.empty(), "figure1: {} sequence run(s) failed: {}; see log.txt in each", failed.size(),
              fmt::join(failed, ", "));
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
      strip.push_back(input_image(images[p].row(0), data->input_size, class_name(shared.dataset, labels[p][0])));
    strips.push_back(std::move(strip));
  }
  return strips;
}

}  // namespace

void reproduce_figure1(const Figure1Options& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  FBNET_CHECK(options.ff_epochs >= 1 && options.lstm_epochs >= 1, "--ff-epochs and --lstm-epochs: must be positive");
  for (const auto& [name, text] : options.settings)
    FBNET_CHECK(name != "net" && name != "seed" && name != "sequence-seed" && name != "out" && name != "ff-model" &&
                    name != "progress" && name != "threads",
                "reproduce figure1: setting '{}' is chosen per run by figure1 itself; remove it from the config", name);
  SequenceConfig shared = resolve_sequence_config(options.settings);
  shared.ff_model = "(trained by figure1)";  // validated as set; each fb run gets its own
  validate(shared);
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "figures", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  const std::vector<std::string> ff_models = train_ff(options, shared);
  train_sequences(options, ff_models);

  // accuracy[condition][net][position] over seeds
  std::map<std::string, std::map<std::string, std::vector<std::vector<double>>>> accuracy;
  for (int seed = 0; seed < options.seeds; ++seed)
    for (const char* run : {"fb", "lstm"}) {
      const std::string path = path_in(sequence_folder(options, run, seed), "results.json");
      const nlohmann::json results = read_json_file(path);
      try {
        for (const auto& [condition, nets] : results.at("conditions").items())
          for (const auto& [net, result] : nets.items()) {
            auto& positions = accuracy[condition][net];
            const auto values = result.at("accuracy").get<std::vector<double>>();
            positions.resize(values.size());
            for (size_t p = 0; p < values.size(); ++p) positions[p].push_back(values[p]);
          }
      } catch (const nlohmann::json::exception& e) {
        fail("{}: malformed results: {}", path, e.what());
      }
    }

  std::string markdown = fmt::format(
      "Figure 1 on {}: test accuracy (%) per position, mean ± sample std over {} seed(s); {} allowed sequences, "
      "{} training and {} test samples, noise s = {} at positions {}. FB: FF weights frozen, feedback trained "
      "({} epochs, lr {}, momentum {}); LSTM ({} hidden): trained from scratch ({} epochs, lr {}, momentum {}). "
      "Report rows: the report's single run on EMNIST letters.\n\n| Sequences | Net |",
      shared.dataset, options.seeds, shared.allowed, shared.train_sequences, shared.test_sequences, shared.noise_scale,
      fmt::join(shared.noisy_positions, ","), shared.epochs, shared.learning_rate, shared.momentum, shared.lstm_hidden,
      options.lstm_epochs, options.lstm_learning_rate, options.lstm_momentum);
  for (int p = 1; p <= shared.length; ++p) markdown += fmt::format(" {} |", p);
  markdown += "\n|---|---|";
  for (int p = 0; p < shared.length; ++p) markdown += "---|";
  markdown += "\n";
  std::string csv = "condition,net,position,seeds,accuracy_mean,accuracy_std,report_accuracy\n";

  BarFigure figure{(fs::path(options.out) / "figures" / "figure1").string(),
                   fmt::format("Accuracy per position ({}, mean ± std over {} seed(s))", shared.dataset, options.seeds),
                   "test accuracy (%)", {}};
  const std::vector<std::vector<Image>> strips = example_strips(shared);
  for (size_t c = 0; c < std::size(kConditions); ++c) {
    const std::string condition = kConditions[c];
    BarPanel panel{condition == "noisy" ? fmt::format("noisy at {}", fmt::join(shared.noisy_positions, ","))
                                        : condition,
                   {}, {}, strips.at(c)};
    for (int p = 1; p <= shared.length; ++p) panel.categories.push_back(std::to_string(p));
    for (const char* net : kNets) {
      const auto& positions = accuracy[condition][net];
      FBNET_CHECK(static_cast<int>(positions.size()) == shared.length, "figure1: no {} results for {} sequences", net,
                  condition);
      Series series{net_label(net), {}, {}, {}};
      std::string row = fmt::format("| {} | {} |", condition, net_label(net));
      const ReportRow* report = shared.length == 5 ? report_row(condition, net) : nullptr;
      for (int p = 0; p < shared.length; ++p) {
        const Summary summary = summarize(positions[p]);
        series.x.push_back(p + 1);
        series.y.push_back(summary.mean);
        series.error.push_back(summary.std);
        row += summary.count > 1 ? fmt::format(" {:.1f} ± {:.1f} |", summary.mean, summary.std)
                                 : fmt::format(" {:.1f} |", summary.mean);
        csv += fmt::format("{},{},{},{},{:.4f},{:.4f},{}\n", condition, net, p + 1, summary.count, summary.mean,
                           summary.std, report ? fmt::format("{}", report->accuracy[p]) : "");
      }
      markdown += row + "\n";
      if (report != nullptr) {
        std::string report_line = fmt::format("| {} | {} (report) |", condition, net_label(net));
        for (double value : report->accuracy) report_line += fmt::format(" {:.1f} |", value);
        markdown += report_line + "\n";
      }
      panel.series.push_back(std::move(series));
    }
    figure.panels.push_back(std::move(panel));
  }
  write_file_atomic(path_in(options.out, "figure1.md"), markdown);
  write_file_atomic(path_in(options.out, "figure1.csv"), csv);
  draw_bar_figure(figure);
  fmt::print("\n{}\nwritten: {}/figure1.md, figure1.csv, figures/figure1.{{png,svg}}\n", markdown, options.out);
}

}  // namespace fbnet
