// The validation split, the Gaussian noise of NOTES.md, occlusion and the normalisation.
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

// The zeroed pixels of image i of `d` (on white images: exactly the occluded ones), as (row, col).
std::set<std::pair<int64_t, int64_t>> dark_pixels(const Dataset& d, int64_t i) {
  std::set<std::pair<int64_t, int64_t>> dark;
  for (int64_t p = 0; p < d.rows * d.cols; ++p)
    if (d.image(i)[p] == 0) dark.insert({p / d.cols, p % d.cols});
  return dark;
}

TEST(Occlusion, BlackSquaresThatFitSeededPerImage) {
  const Dataset white = constant_images(50, 255);
  const Dataset one = add_occlusion(white, 1, 8, 3);
  for (int64_t i = 0; i < one.count; ++i) {
    // One whole 8x8 square inside the image: 64 dark pixels spanning 8 rows and 8 columns.
    const auto dark = dark_pixels(one, i);
    ASSERT_EQ(dark.size(), 64u) << "image " << i;
    EXPECT_EQ(dark.rbegin()->first - dark.begin()->first, 7);
  }
  // Four patches may overlap: at most 4 x 64 dark pixels, and more than one patch's.
  const Dataset four = add_occlusion(white, 4, 8, 3);
  int64_t more_than_one = 0;
  for (int64_t i = 0; i < four.count; ++i) {
    const size_t count = dark_pixels(four, i).size();
    EXPECT_LE(count, 256u);
    more_than_one += count > 64;
  }
  EXPECT_GT(more_than_one, 40);
  // Seeded, and image i's patches do not depend on the other images.
  EXPECT_EQ(add_occlusion(white, 4, 8, 3).pixels, four.pixels);
  EXPECT_NE(add_occlusion(white, 4, 8, 4).pixels, four.pixels);
  const Dataset alone = add_occlusion(white.subset({17}), 4, 8, 3);
  EXPECT_NE(dark_pixels(alone, 0), dark_pixels(four, 17));  // the subset's image 0 draws stream 0, not 17
  EXPECT_EQ(dark_pixels(add_occlusion(white.subset({0, 1}), 4, 8, 3), 1), dark_pixels(four, 1));
  // No patches leaves the images as they are; a patch larger than the image is refused, naming the field.
  EXPECT_EQ(add_occlusion(white, 0, 8, 3).pixels, white.pixels);
  EXPECT_EQ(add_occlusion(white, 2, 28, 3).pixels, std::vector<uint8_t>(white.pixels.size(), 0));
  try {
    add_occlusion(white, 1, 29, 3);
    ADD_FAILURE() << "a 29x29 patch on 28x28 images was accepted";
  } catch (const FieldError& error) {
    EXPECT_EQ(error.field(), "occlusion_size");
  }
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
