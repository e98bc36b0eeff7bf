// The float32 tensors one run trains and evaluates on: the training images
// minus the validation split, the validation images, the test images and the
// noisy (and occluded) test images, normalised once and kept in memory.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

struct LabeledImages {
  Tensor<float> images;  // [count, input_size]
  std::vector<int32_t> labels;
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
};

struct PreparedData {
  int classes = 0;
  int64_t input_size = 0;
  Shape image_shape;  // [rows, cols] or [channels, rows, cols] of each image, input_size values in all
  LabeledImages train;
  LabeledImages validation;
  LabeledImages test;
  LabeledImages noisy_test;     // the test images with noise of config.data.noise_scale
  LabeledImages occluded_test;  // the test images with config.data.occlusion_patches patches; empty without
};

// Loads config.data.dataset and applies the split, noise and normalisation of NOTES.md.
PreparedData prepare_data(const RunConfig& config);

}  // namespace fbnet
