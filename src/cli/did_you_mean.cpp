// Edit distance between flag names, over the options of the typed subcommand.
#include "cli/did_you_mean.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fbnet {
namespace {

// Levenshtein distance: insertions, deletions and substitutions.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The name in `names` closest to `given`, when close enough to be a typo; "" otherwise.
std::string closest(const std::string& given, const std::vector<std::string>& names) {
  const auto best = std::min_element(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return edit_distance(given, a) < edit_distance(given, b);
  });
  return best != names.end() && edit_distance(given, *best) <= std::max<size_t>(2, given.size() / 4) ? *best : "";
}

}  // namespace

std::string unknown_subcommand_message(CLI::App& app, int argc, char** argv) {
  CLI::App* command = &app;
  std::string path = "fbnet";
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const auto subcommands = command->get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) return "";  // a positional argument (eval's checkpoint)
    const auto found = command->get_subcommands([&](const CLI::App* sub) { return sub->check_name(argv[i]); });
    if (found.empty()) {
      std::vector<std::string> names;
      for (const CLI::App* sub : subcommands) names.push_back(sub->get_name());
      const std::string suggestion = closest(argv[i], names);
      return fmt::format("unknown command '{}' for {}; expected {}{} (see {} --help)", argv[i], path,
                         fmt::join(names, ", "), suggestion.empty() ? "" : fmt::format(" (did you mean {}?)", suggestion),
                         path);
    }
    command = found.front();
    path += " " + command->get_name();
  }
  return "";
}

std::string closest_flag_hint(CLI::App& app, int argc, char** argv) {
  // The subcommand the words name (fbnet reproduce table1 ...): the deepest match.
  CLI::App* command = &app;
  int first_flag = 1;
  for (; first_flag < argc && argv[first_flag][0] != '-'; ++first_flag) {
    const auto found = command->get_subcommands([&](const CLI::App* sub) { return sub->check_name(argv[first_flag]); });
    if (found.empty()) break;
    command = found.front();
  }
  std::vector<std::string> known;
  for (const CLI::Option* option : command->get_options())
    for (const std::string& name : option->get_lnames()) known.push_back("--" + name);
  std::string hints;
  for (int i = first_flag; i < argc; ++i) {
    std::string given = argv[i];
    if (!given.starts_with("--")) continue;
    given = given.substr(0, given.find('='));
    if (std::find(known.begin(), known.end(), given) != known.end()) continue;
    const std::string suggestion = closest(given, known);
    if (!suggestion.empty()) hints += fmt::format(" ({}: did you mean {}?)", given, suggestion);
  }
  return hints;
}

}  // namespace fbnet
