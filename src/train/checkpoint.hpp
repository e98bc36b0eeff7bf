// Checkpoints: a network's weights (and, for resuming, the optimiser's
// optimiser state) in a safetensors file whose metadata carries the
// architecture, the resolved config and the epoch. Weight names are PyTorch
// state_dict names ("layers.0.weight"), momentum buffers are
// "optimizer.momentum.NAME", and the running gradient sum G of
// --gradient-accumulation running-sum is "optimizer.gradient_sum.NAME".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/network.hpp"
#include "train/safetensors.hpp"
#include "train/sgd.hpp"

namespace fbnet {

struct Checkpoint {
  std::string path;
  Architecture architecture;
  nlohmann::json config;  // the resolved RunConfig
  int epoch = 0;          // epochs completed
  SafetensorsFile file;
};

// `optimizer` may be null (a weights-only model file).
void save_checkpoint(const std::string& path, const Network<float>& network, const SgdMomentum<float>* optimizer,
                     int epoch, const nlohmann::json& config);
Checkpoint read_checkpoint(const std::string& path);
// A model that is not a Network (the LSTM baseline): its parameters, with
// `format`, the config and the epoch as metadata.
void save_parameters(const std::string& path, const ParameterStore<float>& parameters, const std::string& format,
                     int epoch, const nlohmann::json& config);

// Copies the checkpoint's weights into `network`; throws fbnet::Error naming
// the first tensor that is missing or has another shape (another architecture).
// With `name_prefix`, copies only the parameters whose names start with it
// (experiment 2 takes "layers." from an FF net into a feedback net).
void load_weights(const Checkpoint& checkpoint, Network<float>& network, const std::string& name_prefix = "");
// The momentum buffer, and G when `optimizer` accumulates a running sum; throws
// fbnet::Error naming the first tensor the checkpoint lacks.
void load_optimizer_state(const Checkpoint& checkpoint, const Network<float>& network, SgdMomentum<float>& optimizer);

nlohmann::json architecture_to_json(const Architecture& architecture);
Architecture architecture_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace fbnet
