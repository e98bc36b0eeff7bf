// The transforms of NOTES.md: the seeded validation split, Gaussian noise on
// raw pixels, and normalisation to float32 network inputs; and occlusion, the
// recurrent conv literature's other test condition.
#pragma once

#include <cstdint>

#include "data/dataset.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

// The random streams of the validation split and of the noise (engine/random.hpp lists every stream).
inline constexpr uint64_t kValidationSplitStream = 4;
inline constexpr uint64_t kNoiseStream = 5;
inline constexpr uint64_t kOcclusionStream = 12;

struct TrainValidation {
  Dataset train;
  Dataset validation;
};

// Draws `validation_size` images at random (seeded) from `train` for
// validation; the rest, in their original order, are trained on.
TrainValidation split_validation(const Dataset& train, int64_t validation_size, uint64_t seed);

// noisy = uint8(clip(x + scale * N(0, 64), 0, 255)), truncating, one draw per
// pixel, drawn once when the set is built. Image i draws from its own stream
// (seed, i), so a subset's noise does not depend on what else is in the set.
Dataset add_gaussian_noise(const Dataset& clean, double scale, uint64_t seed);
inline constexpr double kNoiseStd = 64.0;

// Each image gets `patches` black (0) squares of side `size`, in every
// channel, each placed uniformly where it fits whole; patches may overlap.
// Image i draws from its own stream (seed, i), as the noise does. Throws
// fbnet::FieldError (occlusion_size) when a patch is larger than the image.
Dataset add_occlusion(const Dataset& clean, int64_t patches, int64_t size, uint64_t seed);

// [count, pixels] float inputs: (x / 255 - mean) / std.
inline constexpr double kNormalizeMean = 0.1307;  // the MNIST statistics, used for every dataset
inline constexpr double kNormalizeStd = 0.3081;
Tensor<float> normalize(const Dataset& dataset, double mean = kNormalizeMean, double std = kNormalizeStd);

}  // namespace fbnet
