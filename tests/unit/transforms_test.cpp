// The validation split, the Gaussian noise of NOTES.md and the normalisation.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/transforms.hpp"
#include "engine/error.hpp"

namespace fbnet {
namespace {

Dataset constant_images(int64_t count, uint8_t value) {
  Dataset d;
  d.count = count;
  d.rows = 28;
  d.cols = 28;
  d.classes = 10;
  d.pixels.assign(count * 784, value);
  for (int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<int32_t>(i % 10));
  return d;
}

TEST(ValidationSplit, DisjointCompleteAndSeeded) {
  Dataset d = constant_images(100, 0);
  for (int64_t i = 0; i < 100; ++i) d.pixels[i * 784] = static_cast<uint8_t>(i);  // tag each image
  const TrainValidation a = split_validation(d, 30, 5);
  const TrainValidation b = split_validation(d, 30, 5);
  const TrainValidation c = split_validation(d, 30, 6);
  EXPECT_EQ(a.train.count, 70);
  EXPECT_EQ(a.validation.count, 30);
  std::set<int> seen;
  for (const Dataset* part : {&a.train, &a.validation})
    for (int64_t i = 0; i < part->count; ++i) seen.insert(part->image(i)[0]);
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(a.validation.pixels, b.validation.pixels);
  EXPECT_NE(a.validation.pixels, c.validation.pixels);
  EXPECT_THROW(split_validation(d, 100, 0), Error);
  EXPECT_THROW(split_validation(d, -1, 0), Error);
}

TEST(GaussianNoise, StandardDeviationIsScaleTimes64) {
  const Dataset gray = constant_images(50, 128);
  const Dataset noisy = add_gaussian_noise(gray, 0.5, 1);  // std 32: clipping is negligible
  double sum = 0, squares = 0;
  for (uint8_t v : noisy.pixels) {
    sum += v - 128.0;
    squares += (v - 128.0) * (v - 128.0);
  }
  const double n = static_cast<double>(noisy.pixels.size());
  const double mean = sum / n;
  EXPECT_NEAR(std::sqrt(squares / n - mean * mean), 32.0, 0.5);
  EXPECT_NEAR(mean, -0.5, 0.3);  // truncation toward zero shifts the mean down by ~0.5
}

TEST(GaussianNoise, ClipsAtBothEnds) {
  const Dataset black = add_gaussian_noise(constant_images(20, 0), 2, 1);
  const Dataset white = add_gaussian_noise(constant_images(20, 255), 2, 1);
  int zeros = 0, full = 0;
  for (uint8_t v : black.pixels) zeros += v == 0;
  for (uint8_t v : white.pixels) full += v == 255;
  const double n = static_cast<double>(black.pixels.size());
  // Half the draws are negative and clip to 0; those in (0, 1) truncate to 0 too.
  EXPECT_NEAR(zeros / n, 0.5 + 1.0 / (128 * std::sqrt(2 * M_PI)), 0.02);
  EXPECT_NEAR(full / n, 0.5, 0.02);
}

TEST(GaussianNoise, CastTruncatesInsteadOfRounding) {
  // With tiny noise, 100 + e becomes 100 for e >= 0 and 99 for e < 0.
  const Dataset noisy = add_gaussian_noise(constant_images(5, 100), 0.001, 3);
  int at_99 = 0, at_100 = 0;
  for (uint8_t v : noisy.pixels) {
    at_99 += v == 99;
    at_100 += v == 100;
  }
  EXPECT_EQ(at_99 + at_100, static_cast<int>(noisy.pixels.size()));
  EXPECT_GT(at_99, 1500);
  EXPECT_GT(at_100, 1500);
}

TEST(GaussianNoise, SeededOncePerImageAndIndependentOfTheRest) {
  const Dataset gray = constant_images(10, 128);
  const Dataset a = add_gaussian_noise(gray, 2, 7);
  const Dataset b = add_gaussian_noise(gray, 2, 7);
  const Dataset c = add_gaussian_noise(gray, 2, 8);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_NE(a.pixels, c.pixels);
  EXPECT_NE(std::vector<uint8_t>(a.image(0), a.image(0) + 784), std::vector<uint8_t>(a.image(1), a.image(1) + 784));
  const Dataset first_three = add_gaussian_noise(gray.subset({0, 1, 2}), 2, 7);
  EXPECT_EQ(std::vector<uint8_t>(first_three.pixels.begin(), first_three.pixels.end()),
            std::vector<uint8_t>(a.pixels.begin(), a.pixels.begin() + 3 * 784));
  EXPECT_EQ(add_gaussian_noise(gray, 0, 7).pixels, gray.pixels);
  EXPECT_THROW(add_gaussian_noise(gray, -1, 7), Error);
}

TEST(Normalize, UsesTheMnistStatistics) {
  Dataset d = constant_images(1, 0);
  d.pixels[1] = 255;
  const Tensor<float> x = normalize(d);
  EXPECT_NEAR(x.values[0], -0.1307 / 0.3081, 1e-6);
  EXPECT_NEAR(x.values[1], (1 - 0.1307) / 0.3081, 1e-6);
  EXPECT_EQ(x.shape, (Shape{1, 784}));
}

}  // namespace
}  // namespace fbnet
