// The report's experiment 1 as one command: its hyperparameter grid for FF,
// FF large and FB (or the values the report chose), the chosen configuration
// of each retrained with several seeds, evaluated on clean and noisy test
// images, and tabulated beside the report's numbers with mean ± std over
// seeds and the paired difference FB - FF with its 95% confidence interval.
// Figures: validation learning curves, and accuracy against noise scale.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/reported_epoch.hpp"

namespace fbnet {

enum class Hyperparameters {
  kGrid,    // search the report's grid on the validation split (OUT/grid)
  kReport,  // use the values the report's grid chose on EMNIST letters
};

struct Table1Options {
  std::string out = "runs/table1";
  int seeds = 5;
  Hyperparameters hyperparameters = Hyperparameters::kGrid;
  int jobs = 0;  // parallel training processes (0: one per core)
  ReportedEpoch reported_epoch = ReportedEpoch::kLast;  // each run's epoch the tables show (and the grid selects by)
  // Settings applied to every run (dataset, data-dir, epochs, ...), as flags give them.
  std::vector<std::pair<std::string, std::string>> settings;
};

// The report's grid (NOTES.md), the same as configs/grid-table1.toml.
nlohmann::json report_grid();

// Trains what is missing (finished runs are reused, interrupted ones resumed),
// prints the table and writes OUT/table1.md, OUT/table1.csv, OUT/noise.csv and
// OUT/figures/{learning-curves,noise}.{png,svg}.
void reproduce_table1(const Table1Options& options);

}  // namespace fbnet
