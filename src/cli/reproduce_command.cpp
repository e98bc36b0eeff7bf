// fbnet reproduce: the report's experiments as single commands.
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "experiments/table1.hpp"

namespace fbnet {

void add_reproduce_command(CLI::App& app) {
  CLI::App* reproduce = app.add_subcommand("reproduce", "run one of the report's experiments end to end");
  reproduce->require_subcommand(1);

  struct State {
    Table1Options options;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* table1 = reproduce->add_subcommand(
      "table1", "experiment 1: the report's grid for FF, FF large and FB, the chosen ones over several seeds, as Table 1");
  table1->add_option("--out", state->options.out, "folder for the runs and the table")->capture_default_str();
  table1->add_option("--seeds", state->options.seeds, "training seeds per network")->capture_default_str();
  table1->add_option("--hyperparameters", state->options.hyperparameters,
                     "grid: search the report's grid (120 runs) on the validation split; report: the values the report chose")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Hyperparameters>{{"grid", Hyperparameters::kGrid},
                                                                                  {"report", Hyperparameters::kReport}}))
      ->default_str("grid");
  table1->add_option("--jobs", state->options.jobs, "training processes at a time (0: one per core)")->capture_default_str();
  state->flags.add_to(*table1, {"dataset", "data-dir", "epochs", "validation-size", "split-seed", "train-limit",
                                "noise-scale", "noise-seed", "eval-batch-size", "threads", "progress"});
  // A later flag overrides an earlier one (scripts/run passes defaults before the user's flags).
  for (CLI::Option* option : table1->get_options()) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  table1->callback([state] {
    state->options.settings = state->flags.given();
    reproduce_table1(state->options);
  });
}

}  // namespace fbnet
