// Training the six conv nets over seeds, their evaluation under noise and
// occlusion, and the tables and figures.
#include "experiments/conv_nets.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <string_view>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config.hpp"
#include "engine/compute.hpp"
#include "engine/error.hpp"
#include "experiments/figures.hpp"
#include "experiments/grid.hpp"
#include "experiments/statistics.hpp"
#include "experiments/test_conditions.hpp"
#include "formats/atomic_file.hpp"
#include "formats/metrics_file.hpp"
#include "formats/model_file.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

struct ConvNetRow {
  const char* model;
  const char* label;
  const char* what;
};
constexpr ConvNetRow kConvNets[] = {
    {"b", "B", "bottom-up only"},
    {"bl", "BL", "B + lateral edges (each conv layer into itself at the next step)"},
    {"bt", "BT", "B + a top-down edge (conv2 into conv1 at the next step)"},
    {"blt", "BLT", "B + lateral and top-down edges"},
    {"b-k", "B-K", "B with 5x5 kernels (feedforward control, more parameters)"},
    {"b-f", "B-F", "B with more features (feedforward control of BLT's parameter count)"},
};
// The comparisons the tables show: every net against B, and each recurrent net against both controls.
constexpr std::pair<const char*, const char*> kComparisons[] = {
    {"bl", "b"},  {"bt", "b"},  {"blt", "b"},   {"b-k", "b"},  {"b-f", "b"},
    {"bl", "b-k"}, {"bt", "b-k"}, {"blt", "b-k"}, {"bl", "b-f"}, {"bt", "b-f"}, {"blt", "b-f"},
};

// One net's runs and their accuracies, each [level][seed].
struct NetResults {
  const ConvNetRow* row;
  std::vector<std::string> folders;
  std::vector<std::vector<double>> noise, occlusion;
  std::vector<double> epoch_seconds;  // every epoch of every seed
};

std::vector<NetResults> train_all(const ConvNetsOptions& options, const SettingList& settings) {
  std::vector<int> seeds;
  for (int seed = 0; seed < options.seeds; ++seed) seeds.push_back(seed);
  nlohmann::ordered_json document = {{"grid", nlohmann::json::array()}};
  for (const ConvNetRow& row : kConvNets) {
    nlohmann::ordered_json sub = with_settings({{"model", row.model}}, settings);
    sub["seed"] = seeds;
    document["grid"].push_back(sub);
  }
  const std::vector<GridRunResult> runs = run_grid_document(document, options.out, "seeds", options.jobs,
                                                            options.reported_epoch);
  std::vector<NetResults> nets;
  for (const ConvNetRow& row : kConvNets) {
    NetResults net{&row, {}, {}, {}, {}};
    for (const GridRunResult& run : runs)
      if (run.run.settings["model"] == row.model)
        net.folders.push_back((fs::path(options.out) / "seeds" / "runs" / run.run.id).string());
    nets.push_back(std::move(net));
  }
  return nets;
}

// Accuracy of one run at every level of both conditions; occlusion level 0 is the clean test set (noise level 0).
struct RunAccuracy {
  std::vector<double> noise, occlusion;
};

RunAccuracy evaluate_run(const std::string& folder, const RunConfig& shared, const TestSets& noisy,
                         const TestSets& occluded, ReportedEpoch epoch) {
  const std::unique_ptr<Network<float>> network = load_run_network(folder, epoch);
  RunAccuracy accuracy{accuracy_curve(*network, noisy, shared.training.eval_batch_size),
                       accuracy_curve(*network, occluded, shared.training.eval_batch_size)};
  accuracy.occlusion.insert(accuracy.occlusion.begin(), accuracy.noise[0]);
  // The runs' own noisy and occluded accuracies must be what the shared sets give: they saw the same test images.
  const auto at = [](const std::vector<double>& levels, const std::vector<double>& curve, double level) {
    return curve[std::find(levels.begin(), levels.end(), level) - levels.begin()];
  };
  std::vector<double> patch_counts = occluded.levels;
  patch_counts.insert(patch_counts.begin(), 0);
  FBNET_CHECK(reported_metric(folder, "noisy_test_accuracy", epoch) ==
                  at(noisy.levels, accuracy.noise, shared.data.noise_scale),
              "{}: its noisy test accuracy differs from the shared noisy test set's; were its data settings changed?",
              folder);
  FBNET_CHECK(reported_metric(folder, "occluded_test_accuracy", epoch) ==
                  at(patch_counts, accuracy.occlusion, static_cast<double>(shared.data.occlusion_patches)),
              "{}: its occluded test accuracy differs from the shared occluded test set's; were its data settings "
              "changed?", folder);
  return accuracy;
}

// Every run evaluated on `workers` threads at once, each with the runs' own thread count (one: grid jobs), as
// their own evaluations ran, so that the checks above hold exactly.
void evaluate_all(std::vector<NetResults>& nets, const RunConfig& shared, const TestSets& noisy,
                  const TestSets& occluded, ReportedEpoch epoch, int workers) {
  std::vector<std::pair<NetResults*, size_t>> runs;  // (net, seed)
  for (NetResults& net : nets)
    for (size_t seed = 0; seed < net.folders.size(); ++seed) runs.emplace_back(&net, seed);
  std::vector<RunAccuracy> accuracies(runs.size());
  std::vector<std::exception_ptr> errors(runs.size());
  std::atomic<size_t> next = 0;
  std::vector<std::thread> threads;
  for (int w = 0; w < std::max(1, workers); ++w)
    threads.emplace_back([&] {
      use_compute_threads_on_this_thread();
      for (size_t i = next++; i < runs.size(); i = next++) {
        const std::string& folder = runs[i].first->folders[runs[i].second];
        try {
          accuracies[i] = evaluate_run(folder, shared, noisy, occluded, epoch);
          fmt::print(stderr, "evaluated {} ({} of {})\n", folder, i + 1, runs.size());
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    });
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  for (NetResults& net : nets) {
    net.noise.assign(noisy.levels.size(), {});
    net.occlusion.assign(occluded.levels.size() + 1, {});
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    NetResults& net = *runs[i].first;
    for (size_t level = 0; level < net.noise.size(); ++level) net.noise[level].push_back(accuracies[i].noise[level]);
    for (size_t level = 0; level < net.occlusion.size(); ++level)
      net.occlusion[level].push_back(accuracies[i].occlusion[level]);
  }
  for (NetResults& net : nets)
    for (const std::string& folder : net.folders)
      for (const auto& record : read_metrics(folder)) net.epoch_seconds.push_back(record["train_seconds"].get<double>());
}

const NetResults& net_named(const std::vector<NetResults>& nets, const char* model) {
  return *std::find_if(nets.begin(), nets.end(), [&](const NetResults& n) { return std::string(n.row->model) == model; });
}

// "| Comparison | s = 0 | ... |" and its rule, a column for each level.
std::string comparison_header(const std::vector<double>& levels, std::string_view column) {
  std::string header = "| Comparison |", rule = "|---|";
  for (double level : levels) {
    header += fmt::format(" {} |", fmt::format(fmt::runtime(column), level));
    rule += "---|";
  }
  return header + "\n" + rule + "\n";
}

// "| BLT − B | +1.2 [+0.4, +2.0] | ... |" over every level but the clean one, and the CSV lines of the same.
void add_differences(std::string& markdown, std::string& csv, const std::vector<NetResults>& nets, const char* condition,
                     const std::vector<double>& levels, std::vector<std::vector<double>> NetResults::*accuracy) {
  for (auto [model, control] : kComparisons) {
    const NetResults& a = net_named(nets, model);
    const NetResults& b = net_named(nets, control);
    markdown += fmt::format("| {} − {} |", a.row->label, b.row->label);
    for (size_t level = 0; level < levels.size(); ++level) {
      const Summary difference = summarize(paired_differences((a.*accuracy)[level], (b.*accuracy)[level]));
      markdown += fmt::format(" {} |", mean_ci_text(difference));
      csv += fmt::format("{},{},{},{},{},{:.4f},{:.4f},{:.4f}\n", model, control, condition, levels[level],
                         difference.count, difference.mean, difference.mean - difference.ci95_half,
                         difference.mean + difference.ci95_half);
    }
    markdown += "\n";
  }
}

void draw_curves(const std::vector<NetResults>& nets, const std::string& stem, const std::string& title,
                 const std::string& x_label, const std::vector<double>& levels,
                 std::vector<std::vector<double>> NetResults::*accuracy) {
  Figure figure{stem, title, x_label, "test accuracy (%)", {}};
  for (const NetResults& net : nets) {
    Series series{net.row->label, {}, {}, {}};
    for (size_t level = 0; level < levels.size(); ++level) {
      const Summary summary = summarize((net.*accuracy)[level]);
      series.x.push_back(levels[level]);
      series.y.push_back(summary.mean);
      series.error.push_back(summary.std);
    }
    figure.series.push_back(std::move(series));
  }
  draw_figure(figure);
}

}  // namespace

void reproduce_conv(const ConvNetsOptions& options) {
  FBNET_CHECK(options.seeds >= 1, "--seeds: must be at least 1, got {}", options.seeds);
  FBNET_CHECK(!options.occlusion_levels.empty(), "--occlusion-levels: needs at least one patch count");
  for (int64_t level : options.occlusion_levels)
    FBNET_CHECK(level >= 1, "--occlusion-levels: patch counts must be at least 1 (0, the clean set, is always "
                "evaluated), got {}", level);
  SettingList settings(kConvNetsDefaultSettings.begin(), kConvNetsDefaultSettings.end());
  settings.insert(settings.end(), options.settings.begin(), options.settings.end());
  RunConfig shared = resolve_config(settings);
  shared.model = ModelPreset::kB;
  validate(shared);
  FBNET_CHECK(report_noise_index(shared.data.noise_scale) < std::size(kReportNoiseScales),
              "--noise-scale: the conv report evaluates at {}; choose one of them", fmt::join(kReportNoiseScales, ", "));
  std::vector<int64_t> patch_counts = options.occlusion_levels;
  std::sort(patch_counts.begin(), patch_counts.end());
  patch_counts.erase(std::unique(patch_counts.begin(), patch_counts.end()), patch_counts.end());
  FBNET_CHECK(shared.data.occlusion_patches > 0 &&
                  std::find(patch_counts.begin(), patch_counts.end(), shared.data.occlusion_patches) != patch_counts.end(),
              "--occlusion-patches: the runs' own occluded test set ({} patches) must be one of --occlusion-levels ({})",
              shared.data.occlusion_patches, fmt::join(options.occlusion_levels, ", "));
  std::error_code error;
  fs::create_directories(fs::path(options.out) / "figures", error);
  FBNET_CHECK(!error, "--out: cannot create {}: {}", options.out, error.message());

  std::vector<NetResults> nets = train_all(options, settings);
  const TestSets noisy = noisy_test_sets(shared, kReportNoiseScales);
  const TestSets occluded = occluded_test_sets(shared, patch_counts);
  const int workers = options.jobs > 0 ? options.jobs : available_cores();
  evaluate_all(nets, shared, noisy, occluded, options.reported_epoch, workers);
  const std::vector<double> occlusion_levels = [&] {  // with the clean set, as the occlusion results hold them
    std::vector<double> levels = occluded.levels;
    levels.insert(levels.begin(), 0);
    return levels;
  }();

  const int64_t size = shared.data.occlusion_size;
  std::string markdown = fmt::format(
      "Conv nets on {}: {} epochs on {} training images (results of the {} epoch), {} seed(s). Test accuracy as mean ± "
      "sample std over seeds: clean, with noise s = {}, and with {} black {}x{} patches; FLOPs are one inference's "
      "products (fbnet info).\n\n"
      "| Network | Steps | Parameters | FLOPs / image | Clean | Noise s = {} | Occlusion {}x{}px | Epoch time |\n"
      "|---|---|---|---|---|---|---|---|\n",
      shared.data.dataset, shared.training.epochs,
      shared.train_limit > 0 ? fmt::format("the first {}", shared.train_limit) : std::string("all"),
      reported_epoch_phrase(options.reported_epoch), options.seeds, shared.data.noise_scale,
      shared.data.occlusion_patches, size, size, shared.data.noise_scale, shared.data.occlusion_patches, size);
  std::string csv = "network,steps,parameters,flops,seeds,accuracy_mean,accuracy_std,noisy_accuracy_mean,"
                    "noisy_accuracy_std,occluded_accuracy_mean,occluded_accuracy_std,median_epoch_seconds\n";
  const size_t noisy_index = report_noise_index(shared.data.noise_scale);
  const size_t occluded_index = std::find(occlusion_levels.begin(), occlusion_levels.end(),
                                          static_cast<double>(shared.data.occlusion_patches)) - occlusion_levels.begin();
  for (const NetResults& net : nets) {
    const Checkpoint checkpoint = read_checkpoint(path_in(net.folders[0], "model.safetensors"));
    const Graph graph = graph_of(checkpoint.architecture);
    const int64_t parameters = parameter_count(graph);
    const int64_t flops = matmul_flops_per_sample(graph, false);
    const Summary c = summarize(net.noise[0]), n = summarize(net.noise[noisy_index]),
                  o = summarize(net.occlusion[occluded_index]);
    markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.2f} s |\n", net.row->label, graph.steps,
                            parameters, flops, mean_std_text(c), mean_std_text(n), mean_std_text(o),
                            median(net.epoch_seconds));
    csv += fmt::format("{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}\n", net.row->model, graph.steps,
                       parameters, flops, c.count, c.mean, c.std, n.mean, n.std, o.mean, o.std, median(net.epoch_seconds));
  }

  std::string conditions_csv = "network,condition,level,seeds,accuracy_mean,accuracy_std\n";
  for (const NetResults& net : nets)
    for (auto [condition, levels, accuracy] : {std::tuple{"noise", &noisy.levels, &net.noise},
                                               std::tuple{"occlusion", &occlusion_levels, &net.occlusion}})
      for (size_t level = 0; level < levels->size(); ++level) {
        const Summary s = summarize((*accuracy)[level]);
        conditions_csv += fmt::format("{},{},{},{},{:.4f},{:.4f}\n", net.row->model, condition, (*levels)[level],
                                      s.count, s.mean, s.std);
      }
  std::string differences_csv = "network,control,condition,level,seeds,difference_mean,ci_low,ci_high\n";
  markdown += "\nPaired differences over seeds (same seed, data and test images), mean [95% CI, Student's t] in points. "
              "Noise s: clip(x + s N(0, 64)):\n\n";
  markdown += comparison_header(noisy.levels, "s = {}");
  add_differences(markdown, differences_csv, nets, "noise", noisy.levels, &NetResults::noise);
  markdown += fmt::format("\nUnder occlusion, the same differences at each count of {}x{}-pixel black patches (placed "
                          "per image by the noise seed; a count's patches include the smaller counts'):\n\n",
                          size, size);
  markdown += comparison_header(occlusion_levels, "{} patches");
  add_differences(markdown, differences_csv, nets, "occlusion", occlusion_levels, &NetResults::occlusion);
  markdown += "\nThe nets:\n\n";
  for (const ConvNetRow& row : kConvNets) markdown += fmt::format("- {}: {}\n", row.label, row.what);

  const fs::path figures = fs::path(options.out) / "figures";
  draw_curves(nets, (figures / "noise").string(),
              fmt::format("Conv nets against noise ({}, {} seed(s))", shared.data.dataset, options.seeds),
              "noise scale s: clip(x + s N(0, 64))", noisy.levels, &NetResults::noise);
  draw_curves(nets, (figures / "occlusion").string(),
              fmt::format("Conv nets against occlusion ({}, {} seed(s))", shared.data.dataset, options.seeds),
              fmt::format("black {}x{} patches per image", size, size), occlusion_levels, &NetResults::occlusion);
  write_file_atomic((fs::path(options.out) / "conv.md").string(), markdown);
  write_file_atomic((fs::path(options.out) / "conv.csv").string(), csv);
  write_file_atomic((fs::path(options.out) / "conditions.csv").string(), conditions_csv);
  write_file_atomic((fs::path(options.out) / "differences.csv").string(), differences_csv);
  fmt::print("\n{}\nwritten: {}/conv.md, conv.csv, conditions.csv, differences.csv, figures/noise.{{png,svg}}, "
             "figures/occlusion.{{png,svg}}\n",
             markdown, options.out);
}

}  // namespace fbnet
