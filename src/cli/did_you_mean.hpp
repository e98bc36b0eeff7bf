// Suggestions for an unknown flag: the closest known flag of the command the
// user typed, by edit distance, as CLI11's own message has none.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace fbnet {

// " (--epoch: did you mean --epochs?)" for `--epoch` given to `fbnet train`, or "" when
// no known flag is close; one hint per unknown flag in argv.
std::string closest_flag_hint(CLI::App& app, int argc, char** argv);

// The error for a word that names no subcommand where one is expected
// ("fbnet reproduce tabel1"): the choices and the closest; "" when every
// word names one.
std::string unknown_subcommand_message(CLI::App& app, int argc, char** argv);

}  // namespace fbnet
