// The test conditions the reports evaluate trained runs under: the test set
// at each noise scale, or with each count of occluding patches, built once and
// shared by every run, exactly as the runs' own evaluations build it (so that
// s = --noise-scale and --occlusion-patches reproduce them).
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

// One condition at several levels (noise scales, or patch counts).
struct TestSets {
  std::vector<double> levels;
  std::vector<LabeledImages> sets;  // [level], normalised; level 0 is the clean test set
  // The set at `level`, which must have been built.
  const LabeledImages& at(double level) const;
};

// The test set of shared.data.dataset with noise of shared.data.noise_seed at
// each of `scales`. Makes the runs' engine and threads the process's, as the runs evaluated.
TestSets noisy_test_sets(const RunConfig& shared, std::span<const double> scales);
// The test set with each count of shared.data.occlusion_size patches placed by shared.data.noise_seed.
TestSets occluded_test_sets(const RunConfig& shared, std::span<const int64_t> patch_counts);

// The model of a run folder at `epoch` (FOLDER/model.safetensors or best.safetensors), weights loaded.
std::unique_ptr<Network<float>> load_run_network(const std::string& folder, ReportedEpoch epoch);
// The value of `key` in that epoch's record of FOLDER/metrics.jsonl; throws naming both when absent.
double reported_metric(const std::string& folder, const char* key, ReportedEpoch epoch);

// Accuracy (%) of `network` on each set: [level].
std::vector<double> accuracy_curve(Network<float>& network, const TestSets& sets, int64_t batch_size);

}  // namespace fbnet
