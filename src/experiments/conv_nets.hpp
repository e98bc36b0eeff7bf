// fbnet reproduce conv (issue 15): the conv presets after Spoerer et al. 2017
// (B, BL, BT, BLT) and their parameter-matched feedforward controls (B-K,
// B-F), trained with the same settings, seeds and test sets; evaluated clean,
// at noise scales 0..4 and under occluding patches at several counts;
// tabulated with mean ± std over seeds and paired differences (95% CIs)
// against B and against the controls, with figures.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "experiments/reported_epoch.hpp"

namespace fbnet {

struct ConvNetsOptions {
  std::string out = "runs/conv";
  int seeds = 3;
  int jobs = 0;  // parallel training processes (0: one per core)
  ReportedEpoch reported_epoch = ReportedEpoch::kLast;
  // Patch counts of the occluded test sets (each patch --occlusion-size pixels square); the clean set is added.
  std::vector<int64_t> occlusion_levels = {2, 4, 8};
  // Settings applied to every run, as flags give them, after the defaults below.
  std::vector<std::pair<std::string, std::string>> settings;
};

// What `fbnet reproduce conv` trains with unless a flag says otherwise: sized
// so that the default (3 seeds, 6 nets) takes about 1.5 hours on 2 cores.
inline const std::vector<std::pair<std::string, std::string>> kConvNetsDefaultSettings = {
    {"epochs", "4"}, {"train-limit", "12000"}, {"validation-size", "1000"}, {"occlusion-patches", "4"}};

// Trains what is missing (finished runs are reused, interrupted ones resumed),
// prints the tables and writes OUT/conv.md, OUT/conv.csv, OUT/conditions.csv
// and OUT/figures/{noise,occlusion}.{png,svg}.
void reproduce_conv(const ConvNetsOptions& options);

}  // namespace fbnet
