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
  // Raw images are released as soon as their tensors exist: the peak memory
  // is the float32 tensors plus one raw split, not plus all of them.
  DatasetPair pair = load_dataset(config.data.dataset, config.data.data_dir.path, config.data.split_seed);
  PreparedData data;
  data.classes = pair.train.classes;
  data.input_size = pair.train.pixels_per_image();
  data.image_shape = pair.train.image_shape();
  TrainValidation split = split_validation(pair.train, config.data.validation_size, config.data.split_seed);
  pair.train = Dataset{};
  if (config.train_limit > 0 && config.train_limit < split.train.count) {
    std::vector<int64_t> first(config.train_limit);
    std::iota(first.begin(), first.end(), int64_t{0});
    split.train = split.train.subset(first);
  }
  data.train = to_tensors(split.train);
  split.train = Dataset{};
  data.validation = to_tensors(split.validation);
  data.noisy_test = to_tensors(add_gaussian_noise(pair.test, config.data.noise_scale, config.data.noise_seed));
  if (config.data.occlusion_patches > 0)
    data.occluded_test = to_tensors(
        add_occlusion(pair.test, config.data.occlusion_patches, config.data.occlusion_size, config.data.noise_seed));
  data.test = to_tensors(pair.test);
  return data;
}

}  // namespace fbnet
