// Figure 1's tables and figures from finished runs: per variant of the
// feedback net, accuracy per position and condition (mean ± std over seeds,
// FF, FB and the LSTM, the report's rows beside them), the paired FB − FF
// difference with its 95% CI, per-epoch curves of the FB net, and the sgd
// variant's learning-rate sweep.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/sequence_config.hpp"

namespace fbnet {

// One finished sequence run: its results.json and metrics.jsonl records.
struct SequenceRunResults {
  nlohmann::json results;
  std::vector<nlohmann::ordered_json> epochs;
};

// The runs of one variant of the feedback net, seed 0 first.
struct Figure1Variant {
  std::string name;         // "authors" or "sgd"
  std::string description;  // how its feedback weights were trained
  std::vector<SequenceRunResults> seeds;
};

// One learning rate of the sweep (seed 0 of the sgd variant).
struct SweepPoint {
  double learning_rate = 0;
  std::string folder;
  bool finished = false;                     // false: the run failed (e.g. diverged)
  std::vector<double> validation_accuracy;   // final epoch, per position
  double validation_mean = 0;                // mean over positions: what the sweep maximises
  double train_loss = 0;                     // final epoch
};

struct Figure1Results {
  SequenceConfig shared;  // the settings every sequence run shares
  std::string out;
  int seeds = 0;
  std::vector<Figure1Variant> variants;
  std::vector<SequenceRunResults> lstm;  // one per seed
  std::string lstm_description;
  std::vector<SweepPoint> sweep;  // empty without the sgd variant
  int chosen = -1;                // the sweep's choice, an index into `sweep`
};

// Writes OUT/figure1.md, figure1.csv, figure1-paired.csv, figure1-epochs.csv,
// figure1-sweep.csv and OUT/figures/figure1-VARIANT{,-epochs}.{png,svg};
// returns the markdown.
std::string write_figure1_report(const Figure1Results& results);

}  // namespace fbnet
