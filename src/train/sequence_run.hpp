// One experiment-2 run: trains the feedback net (FF weights copied from an
// experiment-1 model and frozen, feedback weights trained) or the LSTM
// baseline on sequences, then measures accuracy per position on the normal,
// noisy and random test sequences (and, for fb, the FF net applied to each
// image on its own). The run folder holds
//   config.json     the resolved settings, parameter counts, allowed sequences, versions
//   metrics.jsonl   one JSON object per epoch (also metrics.csv)
//   model.safetensors, checkpoint.safetensors  as every run's (training_loop.hpp)
//   results.json    per-position accuracies; written last, it marks the run finished
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/sequence_config.hpp"
#include "model/architecture.hpp"
#include "model/network.hpp"
#include "train/sequence_data.hpp"

namespace fbnet {

std::string default_sequence_folder(const SequenceConfig& config);

// Trains and evaluates; returns what it writes to results.json (written last:
// it marks the run finished). resume: continue the run in config.output.out
// from its checkpoint; otherwise that folder must hold no run yet.
nlohmann::ordered_json train_sequence_run(const SequenceConfig& config, const SequenceData& data, bool resume);

// Copies every weight of a trained FF net into the same-named weights of
// `network` and freezes the nodes they belong to: experiment 2's feedback net
// trains only what the FF net lacks (its feedback edge).
void adopt_frozen(const Network<float>& ff, Network<float>& network);

// The feedback net of experiment 2 around an FF architecture: an edge from
// the top hidden layer into the input, mixing with alpha, zero feedback at
// the first position, a readout at every position. Throws naming `source`
// when `ff` is not a plain one-step feedforward net.
Architecture sequence_feedback_architecture(const Architecture& ff, double feedback_alpha, int length,
                                            const std::string& source);

}  // namespace fbnet
