// fbnet: the command line. Subcommands train, eval, predict, info, grid,
// sequence, show-feedback and reproduce. Every error a user can cause ends
// with a one-line message naming the flag, file or field, and exit status 2;
// a bug in fbnet (a failed internal invariant) says so, with exit status 70.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/did_you_mean.hpp"
#include "config/settings.hpp"
#include "engine/error.hpp"
#include "train/environment.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fbnet: neural networks with top-down feedback connections"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for all subcommands");
  try {
    const nlohmann::ordered_json environment = fbnet::environment_description();
    app.set_version_flag("--version", fmt::format("fbnet {}\ncompiler: {}\nproduct engine: {}{}\nBLAS: {}",
                                                  environment["fbnet"].get<std::string>(),
                                                  environment["compiler"].get<std::string>(),
                                                  environment["engine"].get<std::string>(),
                                                  environment.contains("engine_version")
                                                      ? " (" + environment["engine_version"].get<std::string>() + ")"
                                                      : std::string(),
                                                  environment["blas"].get<std::string>()));
    fbnet::add_train_command(app);
    fbnet::add_eval_command(app);
    fbnet::add_predict_command(app);
    fbnet::add_info_command(app);
    fbnet::add_reproduce_command(app);
    fbnet::add_grid_command(app);
    fbnet::add_sequence_command(app);
    fbnet::add_show_feedback_command(app);
    // CLI11 would only say "a subcommand is required"; name the word, the choices and the closest.
    if (const std::string message = fbnet::unknown_subcommand_message(app, argc, argv); !message.empty())
      fbnet::fail("{}", message);
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& error) {
    // An unknown flag: name it, and the closest known flag of the command that was given.
    fmt::print(stderr, "fbnet: error: {}{}\n", error.what(), fbnet::closest_flag_hint(app, argc, argv));
    return 2;
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() != 0) {
      fmt::print(stderr, "fbnet: error: {}\nRun with --help for more information.\n", error.what());
      return 2;
    }
    return app.exit(error);
  } catch (const fbnet::FieldError& error) {
    fmt::print(stderr, "fbnet: error: {}\n", fbnet::message_for_user(error));
    return 2;
  } catch (const fbnet::Error& error) {
    fmt::print(stderr, "fbnet: error: {}\n", error.what());
    return 2;
  } catch (const fbnet::InternalError& error) {
    fmt::print(stderr, "fbnet: internal error, a bug in fbnet (please report it with the command that ran): {}\n",
               error.what());
    return 70;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "fbnet: error: out of memory\n");
    return 3;
  } catch (const std::exception& error) {
    // Not a failure fbnet anticipated: still a message and an exit status, never an abort.
    fmt::print(stderr, "fbnet: internal error: {}\n", error.what());
    return 3;
  }
  return 0;
}
