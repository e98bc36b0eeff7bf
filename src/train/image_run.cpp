// Experiment 1's run: a net of the report's family on static images, measured
// on validation, test and noisy test images after every epoch.
#include "train/image_run.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "engine/compute.hpp"
#include "engine/hash.hpp"
#include "formats/architecture_json.hpp"
#include "formats/atomic_file.hpp"
#include "formats/graph_json.hpp"
#include "formats/model_file.hpp"
#include "train/batches.hpp"
#include "train/environment.hpp"
#include "train/evaluate.hpp"
#include "train/memory_estimate.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

void add_eval(nlohmann::ordered_json& record, const char* name, const Evaluation& result) {
  record[fmt::format("{}_loss", name)] = result.loss;
  record[fmt::format("{}_accuracy", name)] = result.mean_accuracy();
}

}  // namespace

nlohmann::ordered_json identifying_settings(const RunConfig& config) {
  // The settings that differ from the preset's defaults, so that a setting
  // added to fbnet later leaves the names of earlier runs alone; settings
  // that cannot change what a finished run holds stay out. Its paths are
  // absolute, so data-dir spelled relative or absolute gives one name.
  const nlohmann::ordered_json defaults = config_to_json(resolve_config({{"model", model_name(config.model)}}));
  const nlohmann::ordered_json settings = config_to_json(config);
  nlohmann::ordered_json changed = nlohmann::ordered_json::object();
  for (const auto& [key, value] : settings.items())
    if (value != defaults.at(key)) changed[key] = value;
  for (const char* no_effect : {"out", "progress", "memory-limit", "divergence-factor"}) changed.erase(no_effect);
  // The preset's engine is FBNET_ENGINE's when set; the name compares with the built-in default instead.
  changed.erase("engine");
  // A graph file is identified by the net it describes, not by its path alone: an edited file is another run.
  if (!config.graph.path.empty())
    changed["graph-digest"] = fmt::format(
        "{:016x}", fnv1a(graph_to_json(graph_from_json(read_json_file(config.graph.path), config.graph.path)).dump()));
  if (config.training.compute.engine != built_in_default_engine())
    changed["engine"] = product_engine_name(config.training.compute.engine);
  // A net with convolutions names its engine unless it is im2col, the first one (so that a run keeps its id
  // when the default changes); an MLP's results do not depend on it.
  // (onednn-nchw names onednn: the same bits, the same run.)
  changed.erase("conv-engine");
  const ConvolutionEngine convolution = same_results_as(config.training.compute.convolution);
  if ((is_conv_preset(config.model) || !config.graph.path.empty()) && convolution != ConvolutionEngine::kIm2col)
    changed["conv-engine"] = convolution_engine_name(convolution);
  return changed;
}

std::string default_run_folder(const RunConfig& config) {
  // The preset's name while the architecture is the preset's, and a digest of
  // the settings that identify the run, so that other settings never collide
  // with an earlier run. (Sizes of inputs and classes do not matter for the
  // comparison: any the conv presets take.)
  const RunConfig preset_config = resolve_config({{"model", model_name(config.model)}});
  const Shape any_image = {28, 28};
  const bool preset_architecture =
      architecture_to_json(architecture_from(config, any_image, 10)) ==
          architecture_to_json(architecture_from(preset_config, any_image, 10)) &&
      split_names(config.frozen) == split_names(preset_config.frozen);
  return fmt::format("runs/{}-seed{}-{:08x}", preset_architecture ? model_name(config.model) : "custom",
                     config.training.seed, fnv1a(identifying_settings(config).dump()) & 0xffffffffULL);
}

RunResult train_run(const RunConfig& config, const PreparedData& data, bool resume) {
  validate(config);
  use_compute_settings(config.training.compute);
  const std::string folder = config.output.out.path.empty() ? default_run_folder(config) : config.output.out.path;
  const nlohmann::json config_json = config_to_json(config);
  const Architecture architecture = architecture_from(config, data.image_shape, data.classes);
  architecture.validate();
  const Graph graph = graph_of(architecture);
  const int64_t images = data.train.count() + data.validation.count() + data.test.count() + data.noisy_test.count() +
                         data.occluded_test.count();
  check_memory(estimate_training_memory(graph, config.training, images * data.input_size), graph, config.training,
               config.memory_limit_mb);

  Network<float> network(architecture);
  const ModelFormat format = graph_model_format(network.architecture());
  Optimizer<float> optimizer(config.training.optimizer, network.parameters().values().size());
  RunResult result;
  result.folder = folder;
  result.parameters = network.architecture().parameter_count();
  LoopStart start;
  std::error_code error;
  if (resume) {
    start = resume_from(folder, network, format, optimizer, config_json, config_to_json(RunConfig{}),
                        path_settings<RunConfig>());
  } else {
    FBNET_CHECK(!fs::exists(path_in(folder, "checkpoint.safetensors"), error),
                "--out: {} already holds a run; pass --resume to continue it, or choose another --out", folder);
    network.initialize(config.training.seed);
  }
  for (const std::string& name : split_names(config.frozen)) network.set_frozen(name, true);
  fs::create_directories(folder, error);
  FBNET_CHECK(!error, "--out: cannot create run folder {}: {}", folder, error.message());
  const nlohmann::ordered_json run_description = {{"config", config_json},
                                                  {"architecture", format.architecture},
                                                  {"parameters", result.parameters},
                                                  {"environment", environment_description()}};
  write_file_atomic(path_in(folder, "config.json"), run_description.dump(2) + "\n");

  const int steps = network.steps(), readouts = network.readout_count();
  ImageBatches train(data.train, steps, readouts), validation(data.validation, steps, readouts),
      test(data.test, steps, readouts), noisy(data.noisy_test, steps, readouts),
      occluded(data.occluded_test, steps, readouts);
  const int64_t eval_batch = config.training.eval_batch_size;
  TrainingLoop loop{network, format, train, config.training, config.output.progress, folder, model_name(config.model),
                    "samples_per_second", config_json, [&](nlohmann::ordered_json& record) {
                      const Evaluation on_validation = evaluate(network, validation, eval_batch);
                      const Evaluation on_test = evaluate(network, test, eval_batch);
                      const Evaluation on_noisy = evaluate(network, noisy, eval_batch);
                      add_eval(record, "validation", on_validation);
                      add_eval(record, "test", on_test);
                      add_eval(record, "noisy_test", on_noisy);
                      std::string occlusion;
                      if (occluded.count() > 0) {
                        const Evaluation on_occluded = evaluate(network, occluded, eval_batch);
                        add_eval(record, "occluded_test", on_occluded);
                        occlusion = fmt::format("  occluded({}x{}px) {:.2f}%", config.data.occlusion_patches,
                                                config.data.occlusion_size, on_occluded.mean_accuracy());
                      }
                      return fmt::format("val {:.2f}%  test {:.2f}%  noisy(s={}) {:.2f}%{}", on_validation.mean_accuracy(),
                                         on_test.mean_accuracy(), config.data.noise_scale, on_noisy.mean_accuracy(),
                                         occlusion);
                    }};
  result.epochs = train_epochs(loop, optimizer, std::move(start));
  return result;
}

}  // namespace fbnet
