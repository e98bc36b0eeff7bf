// fbnet train: one run, from flags and/or a config file, or resumed.
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "train/image_run.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

void add_train_command(CLI::App& app) {
  struct State {
    std::string config_path;
    std::string resume_folder;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand("train", "train one network; writes config, metrics and checkpoints to its run folder");
  command->add_option("--config", state->config_path, "JSON or TOML file of settings; flags given too override it");
  command->add_option("--resume", state->resume_folder,
                      "continue the run in this folder from its last checkpoint (flags such as --epochs override its config)");
  state->flags.add_to<RunConfig>(*command);
  command->footer("Defaults shown are those of --model ff. --model ff-large and fb set hidden, feedback, steps, "
                  "feedback-alpha, learning-rate, momentum and batch-size to the report's choices (configs/*.toml); "
                  "a config file, then flags, override them.");
  command->callback([state] {
    const RunConfig config = resolve_config(explicit_settings<RunConfig>(state->resume_folder, state->config_path, state->flags));
    // What the user asked for now (a resumed run's own config holds every setting).
    refuse_unused_settings(config, explicit_settings<RunConfig>("", state->config_path, state->flags));
    validate(config);
    const PreparedData data = prepare_data(config);
    const std::string folder = config.output.out.path.empty() ? default_run_folder(config) : config.output.out.path;
    fmt::print("run folder: {}\n", folder);
    train_run(config, data, !state->resume_folder.empty());
    fmt::print("finished; the run is in {}\n", folder);
  });
}

}  // namespace fbnet
