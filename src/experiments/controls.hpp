// The controls that say what top-down feedback adds (issue 12), as one
// command: FF, FF large, FF deep (FB's depth), FB, FB untied (FB's compute,
// more parameters) and FB fixed (untrained feedback), trained with the same
// settings, seeds and test sets; evaluated clean, at noise scales 0..4, and
// under the test-time interventions of the feedback nets (off, mean, swap);
// tabulated with mean ± std over seeds and paired differences with 95% CIs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "experiments/reported_epoch.hpp"

namespace fbnet {

enum class ControlsHyperparameters {
  kReport,  // each preset's own (the report's chosen values; FB's for its variants)
  kSweep,   // each net's learning rate chosen on the validation split (seed 0), the rest as kReport
};

struct ControlsOptions {
  std::string out = "runs/controls";
  int seeds = 3;
  int jobs = 0;  // parallel training processes (0: one per core)
  ReportedEpoch reported_epoch = ReportedEpoch::kLast;  // each run's epoch the tables show (and the grid selects by)
  ControlsHyperparameters hyperparameters = ControlsHyperparameters::kReport;
  std::vector<double> sweep_learning_rates = {0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32};
  // Settings applied to every run (dataset, data-dir, epochs, ...), as flags give them.
  std::vector<std::pair<std::string, std::string>> settings;
};

// Trains what is missing (finished runs are reused, interrupted ones resumed),
// prints the tables and writes OUT/controls.md, OUT/controls.csv,
// OUT/noise.csv, OUT/interventions.csv and OUT/figures/{noise,interventions}.{png,svg}.
void reproduce_controls(const ControlsOptions& options);

}  // namespace fbnet
