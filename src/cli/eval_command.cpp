// fbnet eval: a checkpoint under every condition its run reports (validation,
// clean test, noisy test), or some of them, optionally with interventions.
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "experiments/figures.hpp"
#include "formats/atomic_file.hpp"
#include "train/evaluate.hpp"
#include "train/interventions.hpp"
#include "train/trained_run.hpp"

namespace fbnet {
namespace {

// One evaluated set: the run's split and the noise or occlusion on it.
struct Condition {
  const char* split;
  double noise_scale;
  const LabeledImages* images;
  int64_t occlusion_patches = 0, occlusion_size = 0;
};

// One table row: a condition, and the intervention it ran under ("none" without --interventions).
struct Row {
  const Condition* condition;
  InterventionResult result;
};

std::string condition_name(const Condition& condition) {
  if (condition.occlusion_patches > 0)
    return fmt::format("{}, occlusion {}x{}px", condition.split, condition.occlusion_patches, condition.occlusion_size);
  return condition.noise_scale > 0 ? fmt::format("{}, noise s = {}", condition.split, condition.noise_scale)
                                   : condition.split;
}

// FOLDER/confusion-NAME.csv (true class per row, predicted class per column),
// FOLDER/per-class-NAME.csv, and FOLDER/confusion.{png,svg} with one matrix
// per condition, each row scaled to its class's count; `print`: the per-class
// accuracy to stdout too (not under --json, whose stdout is JSON lines).
void write_confusion(const std::string& folder, const std::vector<Row>& rows, int64_t classes, bool print) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  FBNET_CHECK(!error, "--confusion: cannot create {}: {}", folder, error.message());
  ImageGrid grid{path_in(folder, "confusion"), "rows: true class, columns: predicted",
                 static_cast<int>(rows.size()), {}};
  std::string per_class_text = fmt::format("  {:<6}", "class");
  for (const Row& row : rows) per_class_text += fmt::format(" {:>22}", condition_name(*row.condition));
  per_class_text += "\n";
  for (const Row& row : rows) {
    const Evaluation& e = row.result.evaluation;
    const Condition& c = *row.condition;
    const std::string name = c.occlusion_patches > 0 ? fmt::format("{}-occlusion{}x{}", c.split, c.occlusion_patches, c.occlusion_size)
                             : c.noise_scale > 0     ? fmt::format("{}-noise{}", c.split, c.noise_scale)
                                                     : c.split;
    std::string matrix = "true\\predicted";
    for (int64_t p = 0; p < classes; ++p) matrix += fmt::format(",{}", p);
    std::string per_class = "class,count,correct,accuracy\n";
    Image image{std::vector<float>(classes * classes), classes, classes, condition_name(*row.condition)};
    for (int64_t t = 0; t < classes; ++t) {
      matrix += fmt::format("\n{}", t);
      const int64_t count = e.class_count(t);
      for (int64_t p = 0; p < classes; ++p) {
        matrix += fmt::format(",{}", e.confusion[t * classes + p]);
        image.pixels[t * classes + p] = count == 0 ? 0.0f : static_cast<float>(e.confusion[t * classes + p]) / count;
      }
      per_class += fmt::format("{},{},{},{:.4f}\n", t, count, e.confusion[t * classes + t], e.class_accuracy(t));
    }
    write_file_atomic(path_in(folder, fmt::format("confusion-{}.csv", name)), matrix + "\n");
    write_file_atomic(path_in(folder, fmt::format("per-class-{}.csv", name)), per_class);
    grid.images.push_back(std::move(image));
  }
  for (int64_t t = 0; t < classes; ++t) {
    per_class_text += fmt::format("  {:<6}", t);
    for (const Row& row : rows) per_class_text += fmt::format(" {:>21.2f}%", row.result.evaluation.class_accuracy(t));
    per_class_text += "\n";
  }
  draw_image_grid(grid);
  if (print)
    fmt::print("accuracy per class (at the last readout):\n{}written: {}/confusion-*.csv, per-class-*.csv, "
             "confusion.{{png,svg}}\n", per_class_text, folder);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  struct State {
    std::string checkpoint_path;
    std::string split = "all";
    bool json = false;
    bool interventions = false;
    std::string confusion_folder;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "eval", "evaluate a checkpoint on the conditions its run reports: validation, clean test and noisy test images, "
      "and occluded test images when --occlusion-patches (the run's or given here) is above 0");
  command->add_option("checkpoint", state->checkpoint_path, "checkpoint.safetensors or model.safetensors of a run")->required();
  command->add_option("--split", state->split,
                      "all: validation, clean test and noisy test; test: clean and noisy test; validation")
      ->check(CLI::IsMember({"all", "test", "validation"}))
      ->capture_default_str();
  command->add_flag("--json", state->json, "print one JSON line per row instead of the table");
  command->add_flag("--interventions", state->interventions,
                    "also evaluate with the feedback switched off, replaced by its mean over the evaluated set, and "
                    "swapped between images of different classes: on all edges at once, then on each edge alone");
  command->add_option("--confusion", state->confusion_folder,
                      "also write each condition's confusion matrix and per-class accuracy (CSV, at the last readout) "
                      "and a figure of the matrices (PNG, SVG) into this folder, and print the per-class accuracy");
  state->flags.add_to<RunConfig>(*command, kRunDataSettings, "the run's");
  command->callback([state] {
    FBNET_CHECK(state->confusion_folder.empty() || !state->interventions,
                "--confusion: not with --interventions (one matrix per condition of the unchanged net)");
    for (const auto& [name, value] : state->flags.given())
      FBNET_CHECK(!(name == "noise-scale" && state->split == "validation"),
                  "--noise-scale: noise applies to the test images; --split validation has none (use --split test "
                  "or all)");
    const TrainedRun run = open_trained_run(state->checkpoint_path, state->flags.given(), "fbnet eval");
    const Checkpoint& checkpoint = run.checkpoint;
    const RunConfig& config = run.config;
    Network<float>& network = *run.network;
    const PreparedData data = prepare_run_data(run);
    FBNET_CHECK(!state->interventions || !network.graph().edges.empty(),
                "--interventions: {} has no feedback edges to intervene on", state->checkpoint_path);

    std::vector<Condition> conditions;
    // A run trained with --validation-size 0 has no validation images to show.
    if (state->split != "test" && data.validation.count() > 0) conditions.push_back({"validation", 0.0, &data.validation});
    FBNET_CHECK(!conditions.empty() || state->split != "validation",
                "--split validation: the run holds out no validation images (--validation-size 0)");
    if (state->split != "validation") {
      conditions.push_back({"test", 0.0, &data.test});
      if (config.data.noise_scale > 0) conditions.push_back({"test", config.data.noise_scale, &data.noisy_test});
      if (config.data.occlusion_patches > 0)
        conditions.push_back({"test", 0.0, &data.occluded_test, config.data.occlusion_patches, config.data.occlusion_size});
    }
    std::vector<Row> rows;
    for (const Condition& condition : conditions) {
      ImageBatches batches(*condition.images, network.steps(), network.readout_count());
      if (!state->interventions) {
        rows.push_back({&condition, {InterventionKind::kNone, {}, evaluate(network, batches, config.training.eval_batch_size)}});
        continue;
      }
      for (InterventionResult& result :
           evaluate_interventions(network, batches, config.training.eval_batch_size, config.training.seed))
        rows.push_back({&condition, std::move(result)});
    }

    if (!state->json)
      fmt::print("{} (epoch {}) on {}\n  {:<22} {:>7}{} {:>9} {:>8}\n", state->checkpoint_path, checkpoint.epoch,
                 config.data.dataset, "condition", "images",
                 state->interventions ? fmt::format(" {:<12} {:<24}", "intervention", "edges") : "", "accuracy", "loss");
    for (const Row& row : rows) {
      const Evaluation& evaluation = row.result.evaluation;
      if (state->json) {
        nlohmann::ordered_json line = {{"checkpoint", state->checkpoint_path}, {"epoch", checkpoint.epoch},
                                       {"dataset", config.data.dataset},         {"split", row.condition->split},
                                       {"noise_scale", row.condition->noise_scale}};
        if (row.condition->occlusion_patches > 0) {
          line["occlusion_patches"] = row.condition->occlusion_patches;
          line["occlusion_size"] = row.condition->occlusion_size;
        }
        if (state->interventions) {
          line["intervention"] = to_string(row.result.kind);
          line["edges"] = row.result.edges;
        }
        line["count"] = evaluation.count;
        line["accuracy"] = evaluation.mean_accuracy();
        line["loss"] = evaluation.loss;
        fmt::print("{}\n", line.dump());
        continue;
      }
      const std::string condition = condition_name(*row.condition);
      const std::string edges = row.result.edges.empty() ? "-" : fmt::format("{}", fmt::join(row.result.edges, ","));
      fmt::print("  {:<22} {:>7}{} {:>8.2f}% {:>8.4f}\n", condition, evaluation.count,
                 state->interventions ? fmt::format(" {:<12} {:<24}", to_string(row.result.kind), edges) : "",
                 evaluation.mean_accuracy(), evaluation.loss);
    }
    if (!state->confusion_folder.empty())
      write_confusion(state->confusion_folder, rows, checkpoint.architecture.classes, !state->json);
  });
}

}  // namespace fbnet
