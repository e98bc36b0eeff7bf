// Noisy and occluded test sets, and the evaluation of run folders on them.
#include "experiments/test_conditions.hpp"

#include <algorithm>
#include <filesystem>

#include "data/dataset.hpp"
#include "data/transforms.hpp"
#include "engine/compute.hpp"
#include "engine/error.hpp"
#include "formats/metrics_file.hpp"
#include "formats/model_file.hpp"
#include "train/batches.hpp"
#include "train/evaluate.hpp"

namespace fbnet {

size_t report_noise_index(double scale) {
  return std::find(std::begin(kReportNoiseScales), std::end(kReportNoiseScales), scale) - std::begin(kReportNoiseScales);
}

const LabeledImages& TestSets::at(double level) const {
  const auto it = std::find(levels.begin(), levels.end(), level);
  FBNET_ASSERT(it != levels.end(), "no test set at level {} was built", level);
  return sets[it - levels.begin()];
}

namespace {

// The test set of shared.data.dataset, with the runs' own engine and threads (one a job unless --threads was
// given) made the process's, as their evaluations ran, so that the runs' own conditions reproduce exactly.
Dataset shared_test_set(const RunConfig& shared) {
  ComputeSettings compute = shared.training.compute;  // the runs' product and convolution engines
  compute.threads = std::max(compute.threads, 1);
  use_compute_settings(compute);
  return load_dataset(shared.data.dataset, shared.data.data_dir.path, shared.data.split_seed).test;
}

}  // namespace

TestSets noisy_test_sets(const RunConfig& shared, std::span<const double> scales) {
  const Dataset test = shared_test_set(shared);
  TestSets result{{scales.begin(), scales.end()}, {}};
  for (double scale : scales)
    result.sets.push_back({normalize(add_gaussian_noise(test, scale, shared.data.noise_seed)), test.labels});
  return result;
}

TestSets occluded_test_sets(const RunConfig& shared, std::span<const int64_t> patch_counts) {
  const Dataset test = shared_test_set(shared);
  TestSets result{{patch_counts.begin(), patch_counts.end()}, {}};
  for (int64_t patches : patch_counts)
    result.sets.push_back(
        {normalize(add_occlusion(test, patches, shared.data.occlusion_size, shared.data.noise_seed)), test.labels});
  return result;
}

std::unique_ptr<Network<float>> load_run_network(const std::string& folder, ReportedEpoch epoch) {
  const Checkpoint checkpoint = read_checkpoint((std::filesystem::path(folder) / model_file_name(epoch)).string());
  auto network = std::make_unique<Network<float>>(checkpoint.architecture);
  load_weights(checkpoint, *network);
  return network;
}

double reported_metric(const std::string& folder, const char* key, ReportedEpoch epoch) {
  const nlohmann::ordered_json record = reported_record(read_metrics(folder), epoch);
  FBNET_CHECK(record.is_object() && record.contains(key), "{}: no {} in the {} epoch's record of metrics.jsonl", folder,
              key, reported_epoch_name(epoch));
  return record[key].get<double>();
}

std::vector<double> accuracy_curve(Network<float>& network, const TestSets& sets, int64_t batch_size) {
  std::vector<double> accuracy;
  for (const LabeledImages& set : sets.sets) {
    ImageBatches batches(set, network.steps(), network.readout_count());
    accuracy.push_back(evaluate(network, batches, batch_size).mean_accuracy());
  }
  return accuracy;
}

}  // namespace fbnet
