// Edit distance between flag names, over the options of the typed subcommand.
#include "cli/did_you_mean.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

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

}  // namespace

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
    const auto closest = std::min_element(known.begin(), known.end(), [&](const std::string& a, const std::string& b) {
      return edit_distance(given, a) < edit_distance(given, b);
    });
    if (closest != known.end() && edit_distance(given, *closest) <= std::max<size_t>(2, given.size() / 4))
      hints += fmt::format(" ({}: did you mean {}?)", given, *closest);
  }
  return hints;
}

}  // namespace fbnet
