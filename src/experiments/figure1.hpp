// The report's experiment 2 as one command: FF nets trained as in experiment 1
// (one per seed), the feedback net trained on their frozen weights, and the
// LSTM baseline, all evaluated per position on normal, noisy and random
// sequences; tabulated as mean ± std over seeds beside the report's numbers,
// and drawn as the report's Figure 1 (bars per position, an example sequence
// of each condition above its bars).
#pragma once

#include <string>
#include <vector>

#include "train/settings.hpp"

namespace fbnet {

struct Figure1Options {
  std::string out = "runs/figure1";
  int seeds = 3;
  int jobs = 0;  // parallel training processes (0: one per core)
  int ff_epochs = 30;
  // The LSTM's own training (SGD with momentum; it learns everything from scratch).
  int lstm_epochs = 10;
  double lstm_learning_rate = 0.05;
  double lstm_momentum = 0.9;
  // SequenceConfig settings applied to every sequence run (dataset, words, ...),
  // as flags or a --config file give them. dataset, data-dir, validation-size
  // and split-seed also reach the FF runs.
  SettingList settings;
};

// Trains what is missing (finished runs are reused), prints the table and
// writes OUT/figure1.md, OUT/figure1.csv and OUT/figures/figure1.{png,svg}.
void reproduce_figure1(const Figure1Options& options);

}  // namespace fbnet
