// fbnet show-feedback: the feedback figure of a sequence run
// (experiments/show_feedback.hpp).
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "experiments/show_feedback.hpp"

namespace fbnet {

void add_show_feedback_command(CLI::App& app) {
  struct State {
    FeedbackFigureOptions options;
    std::string condition = "normal";
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "show-feedback", "draw, for a few test sequences of an `fbnet sequence --net fb` run, each input image beside the "
                       "feedback sent into it (what the network expected there)");
  command->add_option("run", state->options.run_folder, "run folder of fbnet sequence --net fb")->required();
  command->add_option("--condition", state->condition, "test sequences: normal, noisy or random")->capture_default_str();
  command->add_option("--count", state->options.count, "sequences to draw")->check(CLI::Range(1, 32))->capture_default_str();
  command->add_option("--out", state->options.out, "figure path without extension (default: RUN/figures/feedback-CONDITION)");
  command->callback([state] {
    state->options.condition = parse_test_condition(state->condition, "--condition");
    const std::string stem = draw_feedback_figure(state->options);
    fmt::print("written: {}.png, {}.svg\n", stem, stem);
  });
}

}  // namespace fbnet
