// fbnet eval: a checkpoint on the test (or validation) set at any noise scale.
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "engine/blas.hpp"
#include "formats/model_file.hpp"
#include "train/evaluate.hpp"
#include "train/interventions.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

void add_eval_command(CLI::App& app) {
  struct State {
    std::string checkpoint_path;
    std::string split = "test";
    bool json = false;
    bool interventions = false;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand("eval", "evaluate a checkpoint on clean or noisy images");
  command->add_option("checkpoint", state->checkpoint_path, "checkpoint.safetensors or model.safetensors of a run")->required();
  command->add_option("--split", state->split, "test or validation")->check(CLI::IsMember({"test", "validation"}))->capture_default_str();
  command->add_flag("--json", state->json, "print the result as one JSON line");
  command->add_flag("--interventions", state->interventions,
                    "also evaluate with the feedback switched off, replaced by its mean over the evaluated set, and "
                    "swapped between images of different classes: on all edges at once, then on each edge alone");
  state->flags.add_to<RunConfig>(*command, {"dataset", "data-dir", "noise-scale", "noise-seed", "validation-size", "split-seed",
                                 "eval-batch-size", "threads"});
  command->callback([state] {
    const Checkpoint checkpoint = read_checkpoint(state->checkpoint_path);
    // The run's own data settings, unless flags override them.
    auto settings = settings_from_json<RunConfig>(checkpoint.config, state->checkpoint_path);
    for (auto& setting : state->flags.given()) settings.push_back(std::move(setting));
    const RunConfig config = resolve_config(settings);
    validate(config);
    set_blas_threads(config.training.threads);
    const PreparedData data = prepare_data(config);
    FBNET_CHECK(data.classes == checkpoint.architecture.classes && data.input_size == checkpoint.architecture.input_size,
                "{}: the network takes {} inputs and {} classes, dataset '{}' has {} and {}", state->checkpoint_path,
                checkpoint.architecture.input_size, checkpoint.architecture.classes, config.data.dataset, data.input_size,
                data.classes);
    Network<float> network(checkpoint.architecture);
    load_weights(checkpoint, network);
    const bool noisy = state->split == "test" && config.data.noise_scale > 0;
    const LabeledImages& set = state->split == "validation" ? data.validation : noisy ? data.noisy_test : data.test;
    ImageBatches batches(set, network.steps(), network.readout_count());
    const double noise_scale = state->split == "test" ? config.data.noise_scale : 0.0;
    if (state->interventions) {
      FBNET_CHECK(!network.graph().edges.empty(), "--interventions: {} has no feedback edges to intervene on",
                  state->checkpoint_path);
      const auto results = evaluate_interventions(network, batches, config.training.eval_batch_size, config.training.seed);
      if (!state->json)
        fmt::print("{} (epoch {}) on {} {}, noise scale {}, {} images:\n  {:<12} {:<24} {:>9} {:>8}\n",
                   state->checkpoint_path, checkpoint.epoch, config.data.dataset, state->split, noise_scale,
                   results[0].evaluation.count, "intervention", "edges", "accuracy", "loss");
      for (const InterventionResult& r : results) {
        const std::string edges = r.edges.empty() ? "-" : fmt::format("{}", fmt::join(r.edges, ","));
        if (state->json) {
          const nlohmann::ordered_json line = {{"checkpoint", state->checkpoint_path}, {"epoch", checkpoint.epoch},
                                               {"dataset", config.data.dataset},         {"split", state->split},
                                               {"noise_scale", noise_scale},             {"intervention", to_string(r.kind)},
                                               {"edges", r.edges},                       {"count", r.evaluation.count},
                                               {"accuracy", r.evaluation.mean_accuracy()}, {"loss", r.evaluation.loss}};
          fmt::print("{}\n", line.dump());
        } else {
          fmt::print("  {:<12} {:<24} {:>8.2f}% {:>8.4f}\n", to_string(r.kind), edges, r.evaluation.mean_accuracy(),
                     r.evaluation.loss);
        }
      }
      return;
    }
    const Evaluation result = evaluate(network, batches, config.training.eval_batch_size);
    if (state->json) {
      const nlohmann::ordered_json line = {{"checkpoint", state->checkpoint_path}, {"epoch", checkpoint.epoch},
                                           {"dataset", config.data.dataset},         {"split", state->split},
                                           {"noise_scale", noise_scale},        {"count", result.count},
                                           {"accuracy", result.mean_accuracy()},       {"loss", result.loss}};
      fmt::print("{}\n", line.dump());
    } else {
      fmt::print("{} (epoch {}) on {} {}, noise scale {}: accuracy {:.2f}% ({} images), loss {:.4f}\n",
                 state->checkpoint_path, checkpoint.epoch, config.data.dataset, state->split, noise_scale, result.mean_accuracy(),
                 result.count, result.loss);
    }
  });
}

}  // namespace fbnet
