// fbnet sequence: one experiment-2 run (feedback net or LSTM on sequences).
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "train/sequence_run.hpp"

namespace fbnet {

void add_sequence_command(CLI::App& app) {
  struct State {
    std::string config_path;
    std::string resume_folder;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "sequence", "experiment 2: train the feedback net (frozen FF weights) or an LSTM on image sequences and measure "
                  "accuracy per position on normal, noisy and random sequences");
  command->add_option("--config", state->config_path, "JSON or TOML file of settings; flags given too override it");
  command->add_option("--resume", state->resume_folder,
                      "continue the run in this folder from its last checkpoint (flags such as --epochs override its config)");
  state->flags.add_to<SequenceConfig>(*command);
  // A later flag overrides an earlier one (reproduce figure1 appends each run's own settings).
  for (CLI::Option* option : command->get_options()) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  command->callback([state] {
    const SequenceConfig config = resolve_sequence_config(
        explicit_settings<SequenceConfig>(state->resume_folder, state->config_path, state->flags));
    // What the user asked for now (a resumed run's own config holds every setting).
    refuse_unused_settings(config.training, explicit_settings<SequenceConfig>("", state->config_path, state->flags));
    validate(config);
    const auto data = prepare_sequence_data(config);
    const nlohmann::ordered_json results = train_sequence_run(config, *data, !state->resume_folder.empty());
    for (const auto& [condition, nets] : results["conditions"].items())
      for (const auto& [net, result] : nets.items())
        fmt::print("{:<10} {:<5} accuracy per position: {}\n", condition, net,
                   fmt::join(result["accuracy"].get<std::vector<double>>(), " "));
  });
}

}  // namespace fbnet
