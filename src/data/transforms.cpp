// Validation split, noise and normalisation.
#include "data/transforms.hpp"

#include <algorithm>
#include <cmath>

#include "engine/random.hpp"

namespace fbnet {

TrainValidation split_validation(const Dataset& train, int64_t validation_size, uint64_t seed) {
  FBNET_CHECK_FIELD(validation_size >= 0 && validation_size < train.count, "data", "validation_size",
              "{} must be in 0..{} (the training set has {} images)", validation_size,
              train.count - 1, train.count);
  Rng rng(seed, kValidationSplitStream);
  std::vector<int64_t> order = random_permutation(train.count, rng);
  std::vector<int64_t> validation(order.begin(), order.begin() + validation_size);
  std::vector<int64_t> rest(order.begin() + validation_size, order.end());
  std::sort(validation.begin(), validation.end());
  std::sort(rest.begin(), rest.end());
  return {train.subset(rest), train.subset(validation)};
}

Dataset add_gaussian_noise(const Dataset& clean, double scale, uint64_t seed) {
  FBNET_CHECK_FIELD(scale >= 0 && std::isfinite(scale), "data", "noise_scale", "must be a finite number >= 0, got {}", scale);
  Dataset noisy = clean;
  const int64_t pixels = clean.pixels_per_image();
  for (int64_t n = 0; n < clean.count; ++n) {
    Rng rng(seed, kNoiseStream, static_cast<uint64_t>(n));
    uint8_t* image = noisy.pixels.data() + n * pixels;
    for (int64_t p = 0; p < pixels; ++p) {
      const double value = std::clamp(image[p] + scale * kNoiseStd * rng.normal(), 0.0, 255.0);
      image[p] = static_cast<uint8_t>(value);  // truncation, as the original's cast
    }
  }
  return noisy;
}

Dataset add_occlusion(const Dataset& clean, int64_t patches, int64_t size, uint64_t seed) {
  FBNET_CHECK_FIELD(size >= 1 && size <= clean.rows && size <= clean.cols, "data", "occlusion_size",
                    "a patch of {}x{} pixels does not fit the {}x{} images", size, size, clean.rows, clean.cols);
  Dataset occluded = clean;
  const int64_t plane = clean.rows * clean.cols;
  for (int64_t n = 0; n < clean.count; ++n) {
    Rng rng(seed, kOcclusionStream, static_cast<uint64_t>(n));
    uint8_t* image = occluded.pixels.data() + n * occluded.pixels_per_image();
    for (int64_t patch = 0; patch < patches; ++patch) {
      const int64_t top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(clean.rows - size + 1)));
      const int64_t left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(clean.cols - size + 1)));
      for (int64_t c = 0; c < clean.channels; ++c)
        for (int64_t r = top; r < top + size; ++r) std::fill_n(image + c * plane + r * clean.cols + left, size, uint8_t{0});
    }
  }
  return occluded;
}

Tensor<float> normalize(const Dataset& dataset, double mean, double std) {
  Tensor<float> out({dataset.count, dataset.pixels_per_image()});
  float table[256];
  for (int v = 0; v < 256; ++v) table[v] = static_cast<float>((v / 255.0 - mean) / std);
  for (size_t i = 0; i < dataset.pixels.size(); ++i) out.values[i] = table[dataset.pixels[i]];
  return out;
}

}  // namespace fbnet
