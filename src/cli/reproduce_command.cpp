// fbnet reproduce: the report's experiments as single commands.
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "config/config.hpp"
#include "config/sequence_config.hpp"
#include "experiments/controls.hpp"
#include "experiments/conv_nets.hpp"
#include "experiments/figure1.hpp"
#include "experiments/table1.hpp"

namespace fbnet {
namespace {

// --out, --seeds and --jobs of every reproduce command (each Options struct has the three).
template <class Options>
void add_run_set_options(CLI::App& command, Options& options, const char* out_help, const char* seeds_help) {
  command.add_option("--out", options.out, out_help)->capture_default_str();
  command.add_option("--seeds", options.seeds, seeds_help)->capture_default_str();
  command.add_option("--jobs", options.jobs, "training processes at a time (0: one per core)")->capture_default_str();
}

// A later flag overrides an earlier one (scripts/run passes defaults before the user's flags).
void let_the_last_flag_win(CLI::App& command) {
  for (CLI::Option* option : command.get_options()) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// The run settings that experiment 1's commands (table1, controls) pass on to every run.
const std::vector<std::string> kImageRunFlags = {"dataset",     "data-dir",   "epochs",     "validation-size",
                                                 "split-seed",  "train-limit", "noise-scale", "noise-seed",
                                                 "eval-batch-size", "engine", "conv-engine", "threads",
                                                 "progress"};

}  // namespace

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
  add_run_set_options(*table1, state->options, "folder for the runs and the table", "training seeds per network");
  table1->add_option("--hyperparameters", state->options.hyperparameters,
                     "grid: search the report's grid (120 runs) on the validation split; report: the values the report chose")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Hyperparameters>{{"grid", Hyperparameters::kGrid},
                                                                                  {"report", Hyperparameters::kReport}}))
      ->default_str("grid");
  add_report_epoch_option(*table1, state->options.reported_epoch);
  state->flags.add_to<RunConfig>(*table1, kImageRunFlags);
  let_the_last_flag_win(*table1);
  table1->callback([state] {
    state->options.settings = state->flags.given();
    reproduce_table1(state->options);
  });

  struct ControlsState {
    ControlsOptions options;
    SettingFlags flags;
  };
  auto controls_state = std::make_shared<ControlsState>();
  ControlsOptions& controls_options = controls_state->options;
  CLI::App* controls = reproduce->add_subcommand(
      "controls", "what feedback adds: FF, FF large, FF deep, FB, FB untied and FB fixed over several seeds, clean, "
                  "under noise and with FB's feedback switched off, replaced by its mean or swapped between images");
  add_run_set_options(*controls, controls_options, "folder for the runs, the tables and the figures",
                      "training seeds per network");
  controls->add_option("--hyperparameters", controls_options.hyperparameters,
                       "report: each preset's (the report's choices); sweep: each net's learning rate chosen on the "
                       "validation split from --sweep-learning-rates")
      ->transform(CLI::CheckedTransformer(std::map<std::string, ControlsHyperparameters>{
          {"report", ControlsHyperparameters::kReport}, {"sweep", ControlsHyperparameters::kSweep}}))
      ->default_str("report");
  controls->add_option("--sweep-learning-rates", controls_options.sweep_learning_rates,
                       "learning rates the sweep tries per net on seed 0, comma separated")
      ->delimiter(',')
      ->default_str(fmt::format("{}", fmt::join(ControlsOptions{}.sweep_learning_rates, ",")));
  add_report_epoch_option(*controls, controls_options.reported_epoch);
  controls_state->flags.add_to<RunConfig>(*controls, kImageRunFlags);
  let_the_last_flag_win(*controls);
  controls->callback([controls_state] {
    controls_state->options.settings = controls_state->flags.given();
    reproduce_controls(controls_state->options);
  });

  struct Figure1State {
    Figure1Options options;
    std::string config_path;
    SettingFlags flags;
  };
  auto figure1_state = std::make_shared<Figure1State>();
  Figure1Options& figure1_options = figure1_state->options;
  CLI::App* figure1 = reproduce->add_subcommand(
      "figure1", "experiment 2: FF nets, the feedback net on their frozen weights and an LSTM on sequences, accuracy "
                 "per position on normal, noisy and random sequences over several seeds, as Figure 1");
  add_run_set_options(*figure1, figure1_options, "folder for the runs, the table and the figure",
                      "seeds (each: FF net, sequences, FB and LSTM)");
  figure1->add_option("--ff-epochs", figure1_options.ff_epochs, "epochs of the FF nets (experiment 1's hyperparameters)")
      ->capture_default_str();
  figure1->add_option("--variants", figure1_options.variants,
                      "which FB variants: authors (running-sum update, as the authors ran it), sgd (correct SGD, "
                      "learning rate chosen by --sweep-learning-rates on validation sequences) or both")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Figure1Variants>{
          {"both", Figure1Variants::kBoth}, {"authors", Figure1Variants::kAuthors}, {"sgd", Figure1Variants::kSgd}}))
      ->default_str("both");
  figure1->add_option("--sweep-learning-rates", figure1_options.sweep_learning_rates,
                      "learning rates the sgd variant tries on seed 0, comma separated")
      ->delimiter(',')
      ->default_str(fmt::format("{}", fmt::join(Figure1Options{}.sweep_learning_rates, ",")));
  figure1->add_option("--lstm-epochs", figure1_options.lstm_training.epochs, "epochs of the LSTM baseline")->capture_default_str();
  figure1->add_option("--lstm-learning-rate", figure1_options.lstm_training.optimizer.learning_rate, "SGD learning rate of the LSTM")
      ->capture_default_str();
  figure1->add_option("--lstm-momentum", figure1_options.lstm_training.optimizer.momentum, "SGD momentum of the LSTM")->capture_default_str();
  figure1->add_option("--config", figure1_state->config_path,
                      "JSON or TOML file of sequence settings (as fbnet sequence --config); flags given too override it");
  figure1_state->flags.add_to<SequenceConfig>(
      *figure1, {"dataset", "data-dir", "validation-size", "split-seed", "noise-scale", "noise-seed", "length", "allowed",
                 "words", "missing-letters", "train-sequences", "test-sequences", "validation-sequences", "noisy-positions",
                 "feedback-alpha",
                 "lstm-hidden", "epochs", "learning-rate", "momentum", "batch-size", "eval-batch-size"});
  let_the_last_flag_win(*figure1);
  figure1->callback([figure1_state] {
    SettingList settings;
    if (!figure1_state->config_path.empty()) settings = read_config_file<SequenceConfig>(figure1_state->config_path);
    for (auto& setting : figure1_state->flags.given()) settings.push_back(std::move(setting));
    figure1_state->options.settings = settings;
    reproduce_figure1(figure1_state->options);
  });

  struct ConvState {
    ConvNetsOptions options;
    SettingFlags flags;
  };
  auto conv_state = std::make_shared<ConvState>();
  CLI::App* conv = reproduce->add_subcommand(
      "conv", "conv feedback nets after Spoerer et al. 2017: B, BL, BT, BLT and the feedforward controls B-K and B-F "
              "over several seeds, clean, under noise and under occlusion, with paired differences against B and the "
              "controls");
  add_run_set_options(*conv, conv_state->options, "folder for the runs, the tables and the figures",
                      "training seeds per network");
  conv->add_option("--occlusion-levels", conv_state->options.occlusion_levels,
                   "counts of occluding patches (each --occlusion-size square) the nets are tested under, comma "
                   "separated; the clean set is added")
      ->delimiter(',')
      ->default_str(fmt::format("{}", fmt::join(ConvNetsOptions{}.occlusion_levels, ",")));
  add_report_epoch_option(*conv, conv_state->options.reported_epoch);
  std::vector<std::string> conv_flags = kImageRunFlags;
  conv_flags.insert(conv_flags.end(), {"occlusion-patches", "occlusion-size", "conv-features", "readout", "optimizer",
                                       "learning-rate", "momentum", "batch-size"});
  conv_state->flags.add_to<RunConfig>(*conv, conv_flags);
  // --help shows what this command trains with, not a single run's defaults.
  for (const auto& [name, value] : kConvNetsDefaultSettings) conv->get_option("--" + name)->default_str(value);
  const RunConfig conv_preset = resolve_config({{"model", "b"}});
  conv->get_option("--learning-rate")->default_str(fmt::format("{} (the presets')", conv_preset.training.optimizer.learning_rate));
  conv->get_option("--momentum")->default_str(fmt::format("{} (the presets')", conv_preset.training.optimizer.momentum));
  conv->get_option("--batch-size")->default_str(fmt::format("{} (the presets')", conv_preset.training.batch_size));
  let_the_last_flag_win(*conv);
  conv->callback([conv_state] {
    conv_state->options.settings = conv_state->flags.given();
    reproduce_conv(conv_state->options);
  });
}

}  // namespace fbnet
