// The test conditions the reports evaluate trained runs under: the test set
// at each noise scale, built once and shared by every run, exactly as the
// runs' own evaluations build it (so that s = --noise-scale reproduces them).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "experiments/reported_epoch.hpp"
#include "model/network.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

inline constexpr double kReportNoiseScales[] = {0, 0.5, 1, 2, 3, 4};
// The position of `scale` in kReportNoiseScales, or its size when it is not one of them.
size_t report_noise_index(double scale);

struct NoisyTestSets {
  std::vector<double> scales;
  std::vector<LabeledImages> sets;  // [scale], normalised; scale 0 is the clean test set
  // The set at `scale`, which must have been built.
  const LabeledImages& at(double scale) const;
};

// The test set of shared.data.dataset with noise of shared.data.noise_seed at
// each of `scales`. Makes the runs' engine and threads the process's, as the runs evaluated.
NoisyTestSets noisy_test_sets(const RunConfig& shared, std::span<const double> scales);

// The model of a run folder at `epoch` (FOLDER/model.safetensors or best.safetensors), weights loaded.
std::unique_ptr<Network<float>> load_run_network(const std::string& folder, ReportedEpoch epoch);
// The value of `key` in that epoch's record of FOLDER/metrics.jsonl; throws naming both when absent.
double reported_metric(const std::string& folder, const char* key, ReportedEpoch epoch);

// Accuracy (%) of `network` on each set: [scale].
std::vector<double> noise_curve(Network<float>& network, const NoisyTestSets& sets, int64_t batch_size);

}  // namespace fbnet
