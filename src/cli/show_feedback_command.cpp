// fbnet show-feedback: for a few test sequences of a trained feedback net,
// each input image beside the feedback the network sent into it, i.e. the
// input it expected at that position given the images before.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "data/dataset.hpp"
#include "experiments/figures.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "train/sequence_data.hpp"

namespace fbnet {

void add_show_feedback_command(CLI::App& app) {
  struct State {
    std::string run_folder;
    std::string condition = "normal";
    int count = 4;
    std::string out;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "show-feedback", "draw, for a few test sequences of an `fbnet sequence --net fb` run, each input image beside the "
                       "feedback sent into it (what the network expected there)");
  command->add_option("run", state->run_folder, "run folder of fbnet sequence --net fb")->required();
  command->add_option("--condition", state->condition, "test sequences: normal, noisy or random")
      ->check(CLI::IsMember({"normal", "noisy", "random"}))
      ->capture_default_str();
  command->add_option("--count", state->count, "sequences to draw")->check(CLI::Range(1, 32))->capture_default_str();
  command->add_option("--out", state->out, "figure path without extension (default: RUN/figures/feedback-CONDITION)");
  command->callback([state] {
    const std::string config_path = path_in(state->run_folder, "config.json");
    FBNET_CHECK(std::filesystem::is_regular_file(config_path), "{}: not a sequence run folder (no config.json)",
                state->run_folder);
    const nlohmann::json run = read_json_file(config_path);
    FBNET_CHECK(run.is_object() && run.contains("config"), "{}: has no 'config' entry", config_path);
    SequenceConfig config = resolve_sequence_config(settings_from_json<SequenceConfig>(run["config"], config_path));
    FBNET_CHECK(config.net == SequenceNet::kFeedback, "{}: a --net {} run has no feedback to show", state->run_folder,
                net_name(config.net));
    config.test_sequences = state->count;  // only the first samples are drawn
    const Checkpoint checkpoint = read_checkpoint(path_in(state->run_folder, "model.safetensors"));
    Network<float> network(checkpoint.architecture);
    load_weights(checkpoint, network);
    const auto data = prepare_sequence_data(config);
    const SequenceSet& set = *std::find_if(data->tests.begin(), data->tests.end(),
                                           [&](const SequenceSet& s) { return s.name == state->condition; });
    std::vector<int64_t> order(set.count());
    std::iota(order.begin(), order.end(), int64_t{0});
    std::vector<Tensor<float>> images;
    std::vector<std::vector<int32_t>> labels;
    gather_sequence_batch(set, order, 0, set.count(), images, labels);
    std::vector<const Tensor<float>*> inputs;
    for (const Tensor<float>& step : images) inputs.push_back(&step);
    network.forward(inputs, Mode::kEval, nullptr);

    auto name_of = [&](int label) { return class_name(config.data.dataset, label); };
    ImageGrid grid{state->out.empty() ? path_in(path_in(state->run_folder, "figures"), "feedback-" + state->condition)
                                      : state->out,
                   fmt::format("Inputs and the feedback sent into them ({} sequences, {})", state->condition,
                               config.data.dataset),
                   2 * config.length, {}};
    std::filesystem::create_directories(std::filesystem::path(grid.stem).parent_path());
    const int64_t width = data->input_size;
    std::vector<Tensor<float>> feedback;  // [position] of [count, D]
    for (int p = 0; p < config.length; ++p) feedback.push_back(network.feedback_signal(p, 0));
    for (int64_t b = 0; b < set.count(); ++b)
      for (int p = 0; p < config.length; ++p) {
        const float* logits = network.logits(p).row(b);
        const int predicted = static_cast<int>(std::max_element(logits, logits + data->classes) - logits);
        grid.images.push_back(input_image(images[p].row(b), width,
                                          fmt::format("{}: {} (net: {})", p + 1, name_of(labels[p][b]), name_of(predicted))));
        grid.images.push_back(input_image(feedback[p].row(b), width, fmt::format("feedback into {}", p + 1)));
      }
    draw_image_grid(grid);
    fmt::print("written: {}.png, {}.svg\n", grid.stem, grid.stem);
  });
}

}  // namespace fbnet
