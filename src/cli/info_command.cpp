// fbnet info: the architecture a config (or checkpoint) describes, its
// parameter counts and its matrix-product FLOPs per sample; or, with
// --graph-json, its graph as JSON (formats/graph_json.hpp), which
// tests/peer/graph_parity.py builds its PyTorch model from.
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "config/config.hpp"
#include "data/dataset.hpp"
#include "formats/graph_json.hpp"
#include "formats/model_file.hpp"
#include "train/memory_estimate.hpp"
#include "model/graph.hpp"

namespace fbnet {

void add_info_command(CLI::App& app) {
  struct State {
    std::string config_path;
    std::string checkpoint_path;
    SettingFlags flags;
    bool graph_json = false;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand("info", "show a network's layers, parameter counts and FLOPs per sample");
  command->add_option("--config", state->config_path, "JSON or TOML file of settings");
  command->add_option("--checkpoint", state->checkpoint_path, "describe the network of this checkpoint instead");
  command->add_flag("--graph-json", state->graph_json, "print the network's graph as JSON instead of the description");
  state->flags.add_to<RunConfig>(*command);
  command->callback([state] {
    Architecture architecture;
    std::string title;
    std::vector<std::string> frozen;
    TrainingSettings training;  // the batch sizes of the memory estimate
    if (!state->checkpoint_path.empty()) {
      const Checkpoint checkpoint = read_checkpoint(state->checkpoint_path);
      architecture = checkpoint.architecture;
      title = state->checkpoint_path;
      if (checkpoint.config.contains("frozen") && checkpoint.config["frozen"].is_string())
        frozen = split_names(checkpoint.config["frozen"].get<std::string>());
      training.batch_size = checkpoint.config.value("batch-size", training.batch_size);
      training.eval_batch_size = checkpoint.config.value("eval-batch-size", training.eval_batch_size);
    } else {
      const RunConfig config = resolve_config(explicit_settings<RunConfig>("", state->config_path, state->flags));
      validate(config);
      const DatasetShape shape = dataset_shape(config.data.dataset, config.data.data_dir.path);
      architecture = architecture_from(config, shape.image_shape, shape.classes);
      title = fmt::format("model {} on {}", model_name(config.model), config.data.dataset);
      frozen = split_names(config.frozen);
      training = config.training;
    }
    architecture.validate();
    const Graph graph = graph_of(architecture);
    if (state->graph_json) {
      fmt::print("{}\n", graph_to_json(graph).dump(2));
      return;
    }
    fmt::print("{}\n{}", title, describe(graph));
    fmt::print("parameters: {}\n", parameter_count(graph));
    fmt::print("training memory, network only: {}\n",
               estimate_training_memory(graph, training, 0).describe(graph, training));
    fmt::print("matrix-product FLOPs per sample: {} inference, {} training step{}\n",
               matmul_flops_per_sample(graph, false), matmul_flops_per_sample(graph, true, frozen),
               frozen.empty() ? "" : fmt::format(" ({} frozen)", fmt::join(frozen, ", ")));
  });
}

}  // namespace fbnet
