// The one training loop of every run (experiment 1's nets, experiment 2's
// feedback net and LSTM): the optimiser (SGD, Adam or AdamW) over a model's
// batches, shuffled per epoch from the run's seed, at the schedule's learning
// rate of the epoch, each parameter range updated as soon as its gradient is
// final; after each epoch the run's own measurements, then the run folder
// brought up to date, each file replaced atomically:
//   metrics.jsonl, metrics.csv   one record per epoch
//   model.safetensors            the weights (PyTorch state_dict names)
//   best.safetensors             the weights of the best validation accuracy so far
//   checkpoint.safetensors       weights and optimiser state, for resuming
// With --early-stopping N the run ends once N epochs have passed without a
// better validation accuracy; the records say so, so a resumed or
// re-examined run counts as finished.
// A killed run loses at most the epoch in progress; resuming it trains only
// the remaining epochs and repeats them bit-identically.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/setting_groups.hpp"
#include "formats/model_file.hpp"
#include "model/model.hpp"
#include "optim/optimizer.hpp"
#include "train/batches.hpp"

namespace fbnet {

// The random streams of an epoch: its shuffle and its dropout masks, each
// with the epoch as substream (engine/random.hpp lists every stream).
inline constexpr uint64_t kShuffleStream = 2;
inline constexpr uint64_t kDropoutStream = 3;

struct TrainingLoop {
  Model<float>& model;
  ModelFormat format;  // what its files record
  Batches& train;
  TrainingSettings training;
  ProgressMode progress = ProgressMode::kAuto;
  std::string folder;
  std::string label;                             // names the run in progress lines ("ff", "sequences fb")
  std::string rate_key = "samples_per_second";   // the record's training-throughput field
  nlohmann::json config;                         // the resolved settings, stored in the model files
  // Adds an epoch's measurements to its record (after epoch, train_loss and
  // train_accuracy) and returns what the epoch's progress line shows of them.
  std::function<std::string(nlohmann::ordered_json& record)> measure;
};

// Where a run's epochs start: epoch 1 of a new run, or the epoch after a
// resumed run's checkpoint, with the metrics records written so far.
struct LoopStart {
  int first_epoch = 1;
  std::vector<nlohmann::ordered_json> records;
};

// Loads FOLDER/checkpoint.safetensors into `model` and `optimizer`. Refuses,
// naming the checkpoint, one of another format or architecture, or one
// trained with other settings than `config`: only epochs (not below the
// epochs already trained, and fixed under a cosine schedule, which spans
// them), engine, threads, progress, eval-batch-size, memory-limit,
// divergence-factor and the `path_settings` (out, data-dir, ...: where files
// are) may change; a setting the checkpoint lacks (added to fbnet after it
// was written) counts as its value in `default_config`.
LoopStart resume_from(const std::string& folder, Model<float>& model, const ModelFormat& format,
                      Optimizer<float>& optimizer, const nlohmann::json& config, const nlohmann::json& default_config,
                      const std::vector<std::string>& path_settings);

// The epoch of `records` with the best validation accuracy, the first of
// equals: the epoch of best.safetensors. Epoch 0 when none was measured.
struct BestEpoch {
  int epoch = 0;
  double accuracy = -1;
  size_t index = 0;  // its position in the records
};
BestEpoch best_epoch(const std::vector<nlohmann::ordered_json>& records);

// Whether `records` (one per epoch, in order) end a run that early stopping
// with `patience` epochs (0: off) has stopped: its last `patience` epochs did
// not beat the best validation accuracy before them.
bool stopped_early(const std::vector<nlohmann::ordered_json>& records, int patience);

// Trains epochs start.first_epoch .. loop.training.epochs; returns every
// record of the run (start.records first).
std::vector<nlohmann::ordered_json> train_epochs(const TrainingLoop& loop, Optimizer<float>& optimizer, LoopStart start);

}  // namespace fbnet
