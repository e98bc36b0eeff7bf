// fbnet predict: each sample's predicted class and class probabilities from a
// trained net, on a split of its run's data or on images from a .npy file;
// written as CSV (one row per sample) or, for NumPy and PyTorch, as a .npy
// array of the probabilities.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/setting_flags.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "data/transforms.hpp"
#include "formats/atomic_file.hpp"
#include "train/batches.hpp"
#include "train/predict.hpp"
#include "train/trained_run.hpp"

namespace fbnet {
namespace {

// The images predicted on, and whether their labels are known (a split's are;
// a .npy of images has none).
struct PredictionInput {
  LabeledImages images;
  bool labels_known = false;
  std::string description;  // for the summary line
};

PredictionInput split_input(const TrainedRun& run, const std::string& split) {
  PreparedData data = prepare_run_data(run);
  LabeledImages& images = split == "train"        ? data.train
                          : split == "validation" ? data.validation
                          : split == "noisy-test" ? data.noisy_test
                                                  : data.test;
  FBNET_CHECK(images.count() > 0 || split != "validation",
              "--split validation: the run holds out no validation images (--validation-size 0)");
  const std::string description =
      split == "noisy-test" ? fmt::format("noisy-test (noise s = {})", run.config.data.noise_scale) : split;
  return {std::move(images), true, fmt::format("{} of {}", description, run.config.data.dataset)};
}

// Images of the run's per-image shape, normalised as its data was.
PredictionInput npy_input(const TrainedRun& run, const std::string& path) {
  const Dataset images = read_npy_images(path);
  const Shape expected = dataset_shape(run.config.data.dataset, run.config.data.data_dir.path).image_shape;
  FBNET_CHECK(images.image_shape() == expected, "--images: {} holds images of shape {} each; the net of {} takes "
              "images of shape {} (dataset '{}')", path, shape_string(images.image_shape()), run.checkpoint.path,
              shape_string(expected), run.config.data.dataset);
  // ImageBatches gathers a label per image; these stand in for the unknown ones and are never read.
  std::vector<int32_t> placeholder_labels(images.count, 0);
  return {{normalize(images), std::move(placeholder_labels)}, false, path};
}

// index[,label],prediction,CLASS...: one row per sample; classes named as the dataset names them.
std::string predictions_csv(const Predictions& predictions, const PredictionInput& input, const std::string& dataset) {
  const int64_t classes = predictions.probabilities.cols();
  std::string csv = input.labels_known ? "index,label,prediction" : "index,prediction";
  for (int64_t c = 0; c < classes; ++c) csv += "," + class_name(dataset, static_cast<int>(c));
  csv += "\n";
  for (int64_t i = 0; i < predictions.probabilities.rows(); ++i) {
    csv += std::to_string(i);
    if (input.labels_known) csv += "," + class_name(dataset, input.images.labels[i]);
    csv += "," + class_name(dataset, predictions.classes[i]);
    const float* probabilities = predictions.probabilities.row(i);
    // The shortest text that reads back as the same float32.
    for (int64_t c = 0; c < classes; ++c) csv += fmt::format(",{}", probabilities[c]);
    csv += "\n";
  }
  return csv;
}

}  // namespace

void add_predict_command(CLI::App& app) {
  struct State {
    std::string checkpoint_path;
    std::string out;
    std::string split = "test";
    std::string images_path;
    SettingFlags flags;
  };
  auto state = std::make_shared<State>();
  CLI::App* command = app.add_subcommand(
      "predict", "write each sample's predicted class and class probabilities (the softmax of the net's logits; for "
                 "a net that reads out at every step, of its last readout)");
  command->add_option("checkpoint", state->checkpoint_path,
                      "model.safetensors, best.safetensors or checkpoint.safetensors of a run (fbnet train)")
      ->required();
  command->add_option("--out", state->out,
                      "FILE.csv: a header, then one row per sample: index, label (for a split), prediction, and one "
                      "probability column per class; FILE.npy: the probabilities alone, float32 [N, classes], row i "
                      "for sample i (np.load(FILE).argmax(1) are the predictions)")
      ->required();
  CLI::Option* split = command->add_option(
      "--split", state->split,
      "the run's images to predict: test (clean), noisy-test (with the run's --noise-scale), validation (the images "
      "held out of training), or train (those trained on)");
  split->check(CLI::IsMember({"test", "noisy-test", "validation", "train"}))->capture_default_str();
  command->add_option("--images", state->images_path,
                      "predict these images instead: a .npy of the run's per-image shape ([N, H, W], or [N, C, H, "
                      "W]), uint8 or float in [0, 1], normalised as the run's images were")
      ->excludes(split);
  state->flags.add_to<RunConfig>(*command, kRunDataSettings, "the run's");
  command->callback([state] {
    for (const auto& [name, value] : state->flags.given())
      FBNET_CHECK(!(name == "noise-scale" || name == "noise-seed") || state->split == "noisy-test",
                  "--{}: noise applies to --split noisy-test only", name);
    const TrainedRun run = open_trained_run(state->checkpoint_path, state->flags.given(), "fbnet predict");
    const PredictionInput input =
        state->images_path.empty() ? split_input(run, state->split) : npy_input(run, state->images_path);
    ImageBatches batches(input.images, run.network->steps(), run.network->readout_count());
    const Predictions predictions = predict(*run.network, batches, run.config.training.eval_batch_size);
    const std::string& dataset = run.config.data.dataset;
    if (state->out.ends_with(".npy"))
      write_file_atomic(state->out, npy_float32_bytes(predictions.probabilities.shape, predictions.probabilities.values));
    else
      write_file_atomic(state->out, predictions_csv(predictions, input, dataset));
    int64_t correct = 0;
    for (int64_t i = 0; i < input.images.count(); ++i) correct += predictions.classes[i] == input.images.labels[i];
    fmt::print("{} (epoch {}) on {}: {} images{}\nwritten: {}\n", state->checkpoint_path, run.checkpoint.epoch,
               input.description, input.images.count(),
               input.labels_known ? fmt::format(", accuracy {:.2f}%", 100.0 * correct / input.images.count()) : "",
               state->out);
  });
}

}  // namespace fbnet
