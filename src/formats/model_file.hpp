// Model files: a model's weights (and, in a checkpoint, the optimiser's
// state) in a safetensors file whose metadata carries the format, the
// model's description, the resolved config and the epoch. Weight names are
// PyTorch state_dict names ("layers.0.weight"), and each optimiser state
// buffer B is "optimizer.B.NAME": momentum (SGD), exp_avg and exp_avg_sq
// (Adam, AdamW, with the step count in the metadata's optimizer_steps), and
// gradient_sum, the running sum G of --gradient-accumulation running-sum.
// The format is NAME-1; NAME-2 when G is stored and NAME-3 with Adam's state,
// so that an older binary refuses a file it would resume without them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/architecture_json.hpp"
#include "formats/safetensors.hpp"
#include "model/network.hpp"
#include "optim/optimizer.hpp"

namespace fbnet {

// What a model's files record besides its tensors.
struct ModelFormat {
  std::string name;             // "fbnet-checkpoint" (graph nets) or "fbnet-lstm"
  nlohmann::json architecture;  // the description the model is rebuilt from
};
ModelFormat graph_model_format(const Architecture& architecture);

// Any fbnet model file, its metadata checked and parsed.
struct ModelFile {
  std::string path;
  std::string format;  // NAME-1, NAME-2 or NAME-3
  nlohmann::json architecture_json;
  nlohmann::json config;  // the resolved settings of the run that wrote it
  int epoch = 0;          // epochs completed
  SafetensorsFile file;
};
// Throws fbnet::Error naming `path` unless the file is a model file of `format_name`.
ModelFile read_model_file(const std::string& path, const std::string& format_name);

// A graph net's file, with its architecture parsed and every weight it needs present.
struct Checkpoint : ModelFile {
  Architecture architecture;
};
Checkpoint read_checkpoint(const std::string& path);

// `optimizer` may be null (a weights-only model file).
void save_checkpoint(const std::string& path, const ParameterStore<float>& parameters, const ModelFormat& format,
                     const Optimizer<float>* optimizer, int epoch, const nlohmann::json& config);
inline void save_checkpoint(const std::string& path, const Network<float>& network, const Optimizer<float>* optimizer,
                            int epoch, const nlohmann::json& config) {
  save_checkpoint(path, network.parameters(), graph_model_format(network.architecture()), optimizer, epoch, config);
}

// Copies the file's tensors prefix + NAME into `buffer` at each info's offset;
// throws fbnet::Error naming the first tensor that is missing or has another
// shape (another architecture).
void copy_tensors(const ModelFile& file, const std::vector<ParameterInfo>& infos, const std::string& prefix,
                  std::vector<float>& buffer);
// The weights of `network` whose names start with `name_prefix` (experiment 2
// takes "layers." from an FF net into a feedback net).
void load_weights(const Checkpoint& checkpoint, Network<float>& network, const std::string& name_prefix = "");
// Every state buffer of `optimizer` (momentum; exp_avg, exp_avg_sq and Adam's step count; G of a running sum).
void load_optimizer_state(const ModelFile& file, const std::vector<ParameterInfo>& infos, Optimizer<float>& optimizer);

}  // namespace fbnet
