// Training the six nets over seeds, their evaluation under noise and
// interventions, and the tables and figures.
#include "experiments/controls.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config.hpp"
#include "engine/error.hpp"
#include "experiments/figures.hpp"
#include "experiments/grid.hpp"
#include "experiments/statistics.hpp"
#include "experiments/test_conditions.hpp"
#include "formats/atomic_file.hpp"
#include "formats/metrics_file.hpp"
#include "formats/model_file.hpp"
#include "train/batches.hpp"
#include "train/interventions.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

struct Control {
  const char* model;
  const char* label;
  const char* question;  // what comparing FB with it asks
};
constexpr Control kControls[] = {
    {"ff", "FF", "FB against the same width without feedback"},
    {"ff-large", "FF large", "FB against a feedforward net of FB's parameter count"},
    {"ff-deep", "FF deep", "FB against a feedforward net of FB's depth (784-500-500-C)"},
    {"fb", "FB", ""},
    {"fb-untied", "FB untied", "FB against its own computation with untied second-pass weights (more parameters)"},
    {"fb-fixed", "FB fixed", "FB against its own net with random, untrained feedback"},
};
constexpr InterventionKind kInterventions[] = {InterventionKind::kNone, InterventionKind::kOff, InterventionKind::kMean,
                                               InterventionKind::kSwap};

// One net's runs and what was measured on them, each [seed] (or [scale][seed]).
struct NetResults {
  const Control* control;
  nlohmann::ordered_json settings;  // as the grid file gave them
  std::vector<std::string> folders;
  std::vector<std::vector<double>> noise;  // [scale][seed]
  // [kind][seed] on the clean and on the noisy test set; feedback nets only.
  std::map<InterventionKind, std::vector<double>> clean_interventions, noisy_interventions;
  std::vector<double> epoch_seconds;  // every epoch of every seed
};

std::vector<NetResults> train_all(const ControlsOptions& options) {
  std::vector<NetResults> nets;
  for (const Control& control : kControls)
    nets.push_back({&control, with_settings({{"model", control.model}}, options.settings), {}, {}, {}, {}, {}});
  int first_seed = 0;
  if (options.hyperparameters == ControlsHyperparameters::kSweep) {
    nlohmann::ordered_json sweep = {{"grid", nlohmann::json::array()}};
    for (const NetResults& net : nets) {
      nlohmann::ordered_json sub = net.settings;
      sub["learning-rate"] = options.sweep_learning_rates;
      sub["seed"] = 0;
      sweep["grid"].push_back(sub);
    }
    run_grid_document(sweep, options.out, "sweep", options.jobs, options.reported_epoch);
    const nlohmann::json best = read_json_file((fs::path(options.out) / "sweep" / "best.json").string());
    for (NetResults& net : nets) {
      FBNET_CHECK(best.contains(net.control->model), "the sweep chose no learning rate for {}", net.control->model);
      net.settings = best[net.control->model]["settings"];
      net.settings.erase("seed");
      net.folders.push_back(
          (fs::path(options.out) / "sweep" / "runs" / best[net.control->model]["id"].get<std::string>()).string());
    }
    first_seed = 1;
  }
  std::vector<int> seeds;
  for (int seed = first_seed; seed < options.seeds; ++seed) seeds.push_back(seed);
  if (seeds.empty()) return nets;
  nlohmann::ordered_json document = {{"grid", nlohmann::json::array()}};
  for (const NetResults& net : nets) {
    nlohmann::ordered_json sub = net.settings;
    sub["seed"] = seeds;
    document["grid"].push_back(sub);
  }
  const std::vector<GridRunResult> runs =
      run_grid_document(document, options.out, "seeds", options.jobs, options.reported_epoch);
  for (NetResults& net : nets)
    for (const GridRunResult& run : runs)
      if (run.run.settings["model"] == net.control->model)
        net.folders.push_back((fs::path(options.out) / "seeds" / "runs" / run.run.id).string());
  return nets;
}

void evaluate_all(std::vector<NetResults>& nets, const RunConfig& shared, ReportedEpoch epoch) {
  const TestSets sets = noisy_test_sets(shared, kReportNoiseScales);
  const size_t noisy = report_noise_index(shared.data.noise_scale);
  const int64_t batch_size = shared.training.eval_batch_size;
  for (NetResults& net : nets) {
    net.noise.assign(sets.levels.size(), {});
    for (const std::string& folder : net.folders) {
      const std::unique_ptr<Network<float>> loaded = load_run_network(folder, epoch);
      Network<float>& network = *loaded;
      const std::vector<double> curve = accuracy_curve(network, sets, batch_size);
      for (size_t s = 0; s < curve.size(); ++s) net.noise[s].push_back(curve[s]);
      // The run's own evaluation at --noise-scale must be what the shared sets give.
      FBNET_CHECK(reported_metric(folder, "noisy_test_accuracy", epoch) == curve[noisy],
                  "{}: its noisy test accuracy differs from the shared noisy test set's; were its data settings "
                  "changed?", folder);
      for (const auto& record : read_metrics(folder)) net.epoch_seconds.push_back(record["train_seconds"].get<double>());
      if (network.graph().edges.empty()) continue;
      // Swap partners drawn from the run's own training seed, as fbnet eval --interventions draws them.
      const uint64_t seed = read_json_file(path_in(folder, "config.json"))["config"]["seed"].get<uint64_t>();
      for (auto [set, results] : {std::pair{&sets.at(0), &net.clean_interventions},
                                  std::pair{&sets.at(shared.data.noise_scale), &net.noisy_interventions}}) {
        ImageBatches batches(*set, network.steps(), network.readout_count());
        for (const InterventionResult& result : evaluate_interventions(network, batches, batch_size, seed))
          if (result.edges.size() == network.graph().edges.size() || result.kind == InterventionKind::kNone)
            (*results)[result.kind].push_back(result.evaluation.mean_accuracy());
      }
    }
  }
}

}  // namespace

void reproduce_controls(const ControlsOptions& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  FBNET_CHECK(options.hyperparameters == ControlsHyperparameters::kReport || !options.sweep_learning_rates.empty(),
              "--sweep-learning-rates: needs at least one learning rate");
  validate_learning_rate_sweep(options.sweep_learning_rates);
  const RunConfig shared = resolve_config(options.settings);
  validate(shared);
  FBNET_CHECK(report_noise_index(shared.data.noise_scale) < std::size(kReportNoiseScales),
              "--noise-scale: the controls report evaluates at {}; choose one of them", fmt::join(kReportNoiseScales, ", "));
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "figures", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  std::vector<NetResults> nets = train_all(options);
  evaluate_all(nets, shared, options.reported_epoch);
  const size_t clean = 0;
  const size_t noisy = report_noise_index(shared.data.noise_scale);
  const NetResults& fb = *std::find_if(nets.begin(), nets.end(), [](const NetResults& n) { return std::string(n.control->model) == "fb"; });

  const bool sweep = options.hyperparameters == ControlsHyperparameters::kSweep;
  std::string markdown = fmt::format(
      "Controls on {}: {} epochs (results of the {} epoch), {} seed(s), hyperparameters {}. Test accuracy as mean ± sample std over seeds, clean "
      "and with noise s = {}; FLOPs are the matrix products of one inference.\n\n"
      "| Network | Parameters | FLOPs / image | Learning rate | Momentum | Batch size | Accuracy | Accuracy with noise | "
      "Epoch time |\n|---|---|---|---|---|---|---|---|---|\n",
      shared.data.dataset, shared.training.epochs,
      reported_epoch_phrase(options.reported_epoch), options.seeds,
      sweep ? fmt::format("of each preset, learning rate chosen per net on the validation split from {}",
                          fmt::join(options.sweep_learning_rates, ", "))
            : "of each preset (the report's)",
      shared.data.noise_scale);
  std::string csv = "network,parameters,flops,learning_rate,momentum,batch_size,seeds,accuracy_mean,accuracy_std,"
                    "noisy_accuracy_mean,noisy_accuracy_std,median_epoch_seconds\n";
  for (const NetResults& net : nets) {
    const RunConfig config = resolve_config(settings_from_json<RunConfig>(net.settings, net.control->model));
    const Graph graph = graph_of(read_checkpoint(path_in(net.folders[0], "model.safetensors")).architecture);
    const int64_t parameters = parameter_count(graph);
    const int64_t flops = matmul_flops_per_sample(graph, false);
    const Summary c = summarize(net.noise[clean]), n = summarize(net.noise[noisy]);
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} s |\n", net.control->label, parameters, flops,
                            config.training.optimizer.learning_rate, config.training.optimizer.momentum, config.training.batch_size,
                            mean_std_text(c), mean_std_text(n), median(net.epoch_seconds));
    csv += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}\n", net.control->model, parameters, flops,
                       config.training.optimizer.learning_rate, config.training.optimizer.momentum, config.training.batch_size, c.count,
                       c.mean, c.std, n.mean, n.std, median(net.epoch_seconds));
  }
  markdown += fmt::format("\nFB − control, paired over seeds (same seed, data and noise), mean [95% CI, Student's t] "
                          "in points:\n\n| Comparison | Clean | With noise s = {} | Question |\n|---|---|---|---|\n",
                          shared.data.noise_scale);
  for (const NetResults& net : nets) {
    if (&net == &fb) continue;
    markdown += fmt::format("| FB − {} | {} | {} | {} |\n", net.control->label,
                            mean_ci_text(summarize(paired_differences(fb.noise[clean], net.noise[clean]))),
                            mean_ci_text(summarize(paired_differences(fb.noise[noisy], net.noise[noisy]))), net.control->question);
  }

  markdown += fmt::format(
      "\nInterventions at test time on the feedback nets (all edges): off = later passes see x alone; mean = the "
      "feedback replaced by its mean over the evaluated test set; swap = each image gets the feedback of another "
      "image of the batch, of another class. Accuracy mean ± std, and the change against the unchanged net, paired, "
      "mean [95% CI]:\n\n| Network | Intervention | Clean | Change | With noise s = {} | Change |\n|---|---|---|---|---|---|\n",
      shared.data.noise_scale);
  std::string interventions_csv = "network,intervention,test_set,seeds,accuracy_mean,accuracy_std,change_mean,change_ci_low,change_ci_high\n";
  BarFigure bars{(fs::path(options.out) / "figures" / "interventions").string(),
                 fmt::format("Feedback nets under test-time interventions ({}, {} seed(s))", shared.data.dataset, options.seeds),
                 "test accuracy (%)", "network", {}};
  for (const char* test_set : {"clean", "noisy"}) {
    BarPanel panel{std::string(test_set) == "clean" ? "clean test set" : fmt::format("noise s = {}", shared.data.noise_scale),
                   {}, {}, {}};
    for (InterventionKind kind : kInterventions) panel.series.push_back({to_string(kind), {}, {}, {}});
    for (const NetResults& net : nets) {
      if (net.clean_interventions.empty()) continue;
      panel.categories.push_back(net.control->label);
      const auto& results = std::string(test_set) == "clean" ? net.clean_interventions : net.noisy_interventions;
      for (size_t i = 0; i < std::size(kInterventions); ++i) {
        const Summary s = summarize(results.at(kInterventions[i]));
        panel.series[i].y.push_back(s.mean);
        panel.series[i].error.push_back(s.std);
        const Summary change = summarize(paired_differences(results.at(kInterventions[i]), results.at(InterventionKind::kNone)));
        interventions_csv += fmt::format("{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}\n", net.control->model,
                                         to_string(kInterventions[i]), test_set, s.count, s.mean, s.std, change.mean,
                                         change.mean - change.ci95_half, change.mean + change.ci95_half);
      }
    }
    bars.panels.push_back(std::move(panel));
  }
  for (const NetResults& net : nets) {
    if (net.clean_interventions.empty()) continue;
    for (InterventionKind kind : kInterventions) {
      if (kind == InterventionKind::kNone) continue;
      auto cell = [&](const std::map<InterventionKind, std::vector<double>>& results) {
        return std::pair{mean_std_text(summarize(results.at(kind))),
                         mean_ci_text(summarize(paired_differences(results.at(kind), results.at(InterventionKind::kNone))))};
      };
      const auto [clean_accuracy, clean_change] = cell(net.clean_interventions);
      const auto [noisy_accuracy, noisy_change] = cell(net.noisy_interventions);
      markdown += fmt::format("| {} | {} | {} | {} | {} | {} |\n", net.control->label, to_string(kind), clean_accuracy,
                              clean_change, noisy_accuracy, noisy_change);
    }
  }

  std::string noise_csv = "network,noise_scale,seeds,accuracy_mean,accuracy_std\n";
  Figure noise_figure{(fs::path(options.out) / "figures" / "noise").string(),
                      fmt::format("Test accuracy against noise scale ({}, {} seed(s))", shared.data.dataset, options.seeds),
                      "noise scale s: clip(x + s N(0, 64))", "test accuracy (%)", {}};
  for (const NetResults& net : nets) {
    Series series{net.control->label, {}, {}, {}};
    for (size_t s = 0; s < std::size(kReportNoiseScales); ++s) {
      const Summary summary = summarize(net.noise[s]);
      series.x.push_back(kReportNoiseScales[s]);
      series.y.push_back(summary.mean);
      series.error.push_back(summary.std);
      noise_csv += fmt::format("{},{},{},{:.4f},{:.4f}\n", net.control->model, kReportNoiseScales[s], summary.count,
                               summary.mean, summary.std);
    }
    noise_figure.series.push_back(std::move(series));
  }
  write_file_atomic((fs::path(options.out) / "controls.md").string(), markdown);
  write_file_atomic((fs::path(options.out) / "controls.csv").string(), csv);
  write_file_atomic((fs::path(options.out) / "noise.csv").string(), noise_csv);
  write_file_atomic((fs::path(options.out) / "interventions.csv").string(), interventions_csv);
  draw_figure(noise_figure);
  draw_bar_figure(bars);
  fmt::print("\n{}\nwritten: {}/controls.md, controls.csv, noise.csv, interventions.csv, figures/noise.{{png,svg}}, "
             "figures/interventions.{{png,svg}}\n",
             markdown, options.out);
}

}  // namespace fbnet
