// Named datasets: EMNIST orientation and label shift on the real partial
// letters, mismatched counts, unknown names, and a small fake EMNIST folder.
#include <gtest/gtest.h>

#include <cmath>

#include "data/dataset.hpp"
#include "engine/error.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

// Spread (standard deviation) of ink along rows and along columns of an image.
std::pair<double, double> ink_spread(const std::vector<double>& image) {
  double total = 0, mean_r = 0, mean_c = 0;
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) {
      total += image[r * 28 + c];
      mean_r += r * image[r * 28 + c];
      mean_c += c * image[r * 28 + c];
    }
  mean_r /= total;
  mean_c /= total;
  double var_r = 0, var_c = 0;
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) {
      var_r += (r - mean_r) * (r - mean_r) * image[r * 28 + c] / total;
      var_c += (c - mean_c) * (c - mean_c) * image[r * 28 + c] / total;
    }
  return {std::sqrt(var_r), std::sqrt(var_c)};
}

TEST(Emnist, LettersAreUprightWithLabelsFromZero) {
  const std::string dir = testing::emnist_partial_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/data/emnist-letters-partial is absent; skipping the EMNIST orientation test";
  const Dataset letters = load_idx_pair(dir + "/emnist-letters-test-first10000-images-idx3-ubyte.gz",
                                        dir + "/emnist-letters-test-first10000-labels-idx1-ubyte.gz",
                                        dataset_spec("emnist-letters"));
  EXPECT_EQ(letters.count, 10000);
  EXPECT_EQ(letters.classes, 26);
  std::vector<int> per_class(26, 0);
  for (int32_t label : letters.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 26);
    per_class[label]++;
  }
  for (int c = 0; c < 12; ++c) EXPECT_EQ(per_class[c], 800) << "class " << c;  // a..l
  EXPECT_EQ(per_class[12], 400);                                              // m
  EXPECT_EQ(letters.labels.front(), 0);                                       // 'a', stored as 1

  // The mean 'l' (class 11) is a vertical stroke when upright: its ink spreads
  // far more down the rows than across the columns. Stored transposed, it would
  // be horizontal.
  std::vector<double> mean_l(784, 0.0);
  for (int64_t i = 0; i < letters.count; ++i)
    if (letters.labels[i] == 11)
      for (int p = 0; p < 784; ++p) mean_l[p] += letters.image(i)[p];
  const auto [spread_rows, spread_cols] = ink_spread(mean_l);
  EXPECT_GT(spread_rows, 1.5 * spread_cols);
}

TEST(Dataset, FakeEmnistFolderLoadsByName) {
  testing::TempDir dir;
  // Two 28x28 images; image 0 has ink in stored row 0 only (upright: column 0).
  std::vector<uint8_t> pixels(2 * 784, 0);
  for (int c = 0; c < 28; ++c) pixels[c] = 255;
  for (const char* split : {"train", "test"}) {
    testing::write_gzip(dir.file(std::string("emnist-letters-") + split + "-images-idx3-ubyte.gz"),
                        testing::idx_bytes(2051, {2, 28, 28}, pixels));
    testing::write_gzip(dir.file(std::string("emnist-letters-") + split + "-labels-idx1-ubyte.gz"),
                        testing::idx_bytes(2049, {2}, {1, 26}));
  }
  const DatasetPair pair = load_dataset("emnist-letters", dir.path(), 0);
  EXPECT_EQ(pair.train.labels, (std::vector<int32_t>{0, 25}));
  for (int r = 0; r < 28; ++r) EXPECT_EQ(pair.test.image(0)[r * 28], 255) << r;
  EXPECT_EQ(pair.test.image(0)[1], 0);
}

TEST(Dataset, MismatchedCountsUnknownNamesAndBadLabels) {
  testing::TempDir dir;
  testing::write_gzip(dir.file("i.gz"), testing::idx_bytes(2051, {3, 2, 2}, std::vector<uint8_t>(12, 1)));
  testing::write_gzip(dir.file("l.gz"), testing::idx_bytes(2049, {2}, {1, 2}));
  testing::write_gzip(dir.file("big.gz"), testing::idx_bytes(2049, {3}, {1, 2, 200}));
  try {
    load_idx_pair(dir.file("i.gz"), dir.file("l.gz"), dataset_spec("mnist"));
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("3 images"), std::string::npos) << error.what();
  }
  EXPECT_THROW(load_idx_pair(dir.file("i.gz"), dir.file("big.gz"), dataset_spec("mnist")), Error);
  try {
    dataset_spec("cifar10");
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("fashion-mnist"), std::string::npos) << error.what();
  }
  EXPECT_THROW(load_dataset("mnist", "", 0), Error);  // no default folder
  EXPECT_THROW(load_dataset("fashion-mnist", dir.file("nowhere"), 0), Error);
}

}  // namespace
}  // namespace fbnet
