// Dataset -> split -> noise -> normalised tensors.
#include "train/prepared_data.hpp"

#include <numeric>

#include "data/dataset.hpp"
#include "data/transforms.hpp"

namespace fbnet {
namespace {

LabeledImages to_tensors(const Dataset& dataset) { return {normalize(dataset), dataset.labels}; }

}  // namespace

PreparedData prepare_data(const RunConfig& config) {
  DatasetPair pair = load_dataset(config.dataset, config.data_dir);
  TrainValidation split = split_validation(pair.train, config.validation_size, config.split_seed);
  if (config.train_limit > 0 && config.train_limit < split.train.count) {
    std::vector<int64_t> first(config.train_limit);
    std::iota(first.begin(), first.end(), int64_t{0});
    split.train = split.train.subset(first);
  }
  PreparedData data;
  data.classes = pair.train.classes;
  data.input_size = pair.train.pixels_per_image();
  data.train = to_tensors(split.train);
  data.validation = to_tensors(split.validation);
  data.test = to_tensors(pair.test);
  data.noisy_test = to_tensors(add_gaussian_noise(pair.test, config.noise_scale, config.noise_seed));
  return data;
}

}  // namespace fbnet
