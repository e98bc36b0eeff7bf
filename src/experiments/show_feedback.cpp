// Runs a sequence run's feedback net on its first test sequences and draws
// inputs beside feedback.
#include "experiments/show_feedback.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "config/settings.hpp"
#include "data/dataset.hpp"
#include "experiments/figures.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "train/batches.hpp"

namespace fbnet {

std::string draw_feedback_figure(const FeedbackFigureOptions& options) {
  const std::string config_path = path_in(options.run_folder, "config.json");
  FBNET_CHECK(std::filesystem::is_regular_file(config_path), "{}: not a sequence run folder (no config.json)",
              options.run_folder);
  const nlohmann::json run = read_json_file(config_path);
  FBNET_CHECK(run.is_object() && run.contains("config"), "{}: has no 'config' entry", config_path);
  FBNET_CHECK(run["config"].contains("net"), "{} is an experiment-1 run (fbnet train), not a sequence run: "
              "show-feedback takes the folders of fbnet sequence --net fb runs; evaluate this one with fbnet eval "
              "{}/model.safetensors", options.run_folder, options.run_folder);
  SequenceConfig config = resolve_sequence_config(settings_from_json<SequenceConfig>(run["config"], config_path));
  FBNET_CHECK(config.net == SequenceNet::kFeedback, "{}: a --net {} run has no feedback to show", options.run_folder,
              net_name(config.net));
  config.test_sequences = options.count;  // only the first samples are drawn
  const Checkpoint checkpoint = read_checkpoint(path_in(options.run_folder, "model.safetensors"));
  Network<float> network(checkpoint.architecture);
  load_weights(checkpoint, network);
  const auto data = prepare_sequence_data(config);
  const SequenceSet& set = *std::find_if(data->tests.begin(), data->tests.end(),
                                         [&](const SequenceSet& s) { return s.condition == options.condition; });
  SequenceBatches batches(set);
  batches.gather(identity_order(set.count()), 0, set.count());
  network.forward(batches.inputs(), Mode::kEval, nullptr);

  auto name_of = [&](int label) { return class_name(config.data.dataset, label); };
  ImageGrid grid{options.out.empty() ? path_in(path_in(options.run_folder, "figures"), fmt::format("feedback-{}", set.name()))
                                     : options.out,
                 fmt::format("Inputs and the feedback sent into them ({} sequences, {})", set.name(), config.data.dataset),
                 2 * config.length, {}};
  std::filesystem::create_directories(std::filesystem::path(grid.stem).parent_path());
  const Shape& image_shape = data->images.image_shape;
  std::vector<Tensor<float>> feedback;  // [position] of [count, D]
  for (int p = 0; p < config.length; ++p) feedback.push_back(network.feedback_signal(p, 0));
  for (int64_t b = 0; b < set.count(); ++b)
    for (int p = 0; p < config.length; ++p) {
      const float* logits = network.logits(p).row(b);
      const int predicted = static_cast<int>(std::max_element(logits, logits + data->classes) - logits);
      const int label = batches.labels()[p][b];
      grid.images.push_back(input_image(batches.inputs()[p]->row(b), image_shape,
                                        fmt::format("{}: {} (net: {})", p + 1, name_of(label), name_of(predicted))));
      grid.images.push_back(input_image(feedback[p].row(b), image_shape, fmt::format("feedback into {}", p + 1)));
    }
  draw_image_grid(grid);
  return grid.stem;
}

}  // namespace fbnet
