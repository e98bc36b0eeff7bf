// Opening a run's model file with the settings it was trained with.
#include "train/trained_run.hpp"

#include "config/saved_run_settings.hpp"
#include "engine/compute.hpp"
#include "engine/error.hpp"

namespace fbnet {

TrainedRun open_trained_run(const std::string& checkpoint_path, const SettingList& overrides, const std::string& command) {
  TrainedRun run{read_checkpoint(checkpoint_path), {}, nullptr};
  // Read as a RunConfig, a sequence run's settings would fail on its first unknown key ("allowed").
  FBNET_CHECK(!run.checkpoint.config.contains("net"),
              "{} is from a sequence run (experiment 2), which {} does not take: its results are in the run folder's "
              "results.json, fbnet sequence --resume FOLDER continues it and fbnet show-feedback FOLDER shows its "
              "feedback", checkpoint_path, command);
  SettingList settings = saved_run_settings<RunConfig>(run.checkpoint.config, checkpoint_path);
  settings.insert(settings.end(), overrides.begin(), overrides.end());
  run.config = resolve_config(settings);
  validate(run.config);
  use_compute_settings(run.config.training.compute);
  run.network = std::make_unique<Network<float>>(run.checkpoint.architecture);
  load_weights(run.checkpoint, *run.network);
  return run;
}

PreparedData prepare_run_data(const TrainedRun& run) {
  PreparedData data = prepare_data(run.config);
  const Architecture& architecture = run.checkpoint.architecture;
  FBNET_CHECK(data.classes == architecture.classes && data.input_size == architecture.input_size,
              "{}: the network takes {} inputs and {} classes, dataset '{}' has {} and {}", run.checkpoint.path,
              architecture.input_size, architecture.classes, run.config.data.dataset, data.input_size, data.classes);
  return data;
}

}  // namespace fbnet
