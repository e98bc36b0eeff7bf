// An experiment-1 run's trained net, opened from one of its model files: what
// `fbnet eval` and `fbnet predict` start from. The run's own settings (from
// the file's metadata) decide its data, unless a command's flags override
// them, so that a net is measured on the data it was trained for.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/settings.hpp"
#include "formats/model_file.hpp"
#include "model/network.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

// The run's settings a command's flags may override: which data, and how it is evaluated.
inline const std::vector<std::string> kRunDataSettings = {"dataset",     "data-dir",   "noise-scale",     "noise-seed",
                                                           "validation-size", "split-seed", "eval-batch-size", "engine", "threads",
                                                           "occlusion-patches", "occlusion-size"};

struct TrainedRun {
  Checkpoint checkpoint;
  RunConfig config;  // the run's settings, then the overrides
  std::unique_ptr<Network<float>> network;  // with the file's weights
};

// Reads `checkpoint_path` (checkpoint.safetensors, model.safetensors or
// best.safetensors of a run), applies `overrides` (flag name, text) to the
// run's settings, validates them and makes their engine and threads the process's.
// Refuses a sequence run's file, saying that `command` ("fbnet eval") does
// not take it and which commands do.
TrainedRun open_trained_run(const std::string& checkpoint_path, const SettingList& overrides, const std::string& command);

// The run's data, prepared as its training prepared it (split, noise,
// normalisation), checked to have the inputs and classes of its net.
PreparedData prepare_run_data(const TrainedRun& run);

}  // namespace fbnet
