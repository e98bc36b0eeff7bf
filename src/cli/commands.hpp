// The subcommands of the fbnet binary; each adds itself to the app and runs
// from its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace fbnet {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);
void add_grid_command(CLI::App& app);
void add_sequence_command(CLI::App& app);
void add_show_feedback_command(CLI::App& app);

}  // namespace fbnet
