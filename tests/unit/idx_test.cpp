// The IDX reader on real bytes (Fashion-MNIST from Debian, EMNIST letters from
// ../shared) and on broken files: each gets a clear error, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "data/idx.hpp"
#include "engine/error.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

TEST(IdxReal, FashionMnistCountsPixelsAndLabels) {
  if (!std::filesystem::exists(kFashion)) GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  const IdxImages train = read_idx_images(kFashion + "train-images-idx3-ubyte.gz");
  const IdxImages test = read_idx_images(kFashion + "t10k-images-idx3-ubyte.gz");
  const auto train_labels = read_idx_labels(kFashion + "train-labels-idx1-ubyte.gz");
  const auto test_labels = read_idx_labels(kFashion + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(test.count, 10000);
  EXPECT_EQ(train.rows, 28);
  EXPECT_EQ(train.cols, 28);
  EXPECT_EQ(train_labels.size(), 60000u);
  EXPECT_EQ(test_labels.size(), 10000u);
  // The first training image is an ankle boot (class 9); row 10 starts its ink at column 13.
  EXPECT_EQ(train_labels[0], 9);
  EXPECT_EQ(train_labels[3], 3);
  EXPECT_EQ(train.pixels[10 * 28 + 12], 0);
  EXPECT_EQ(train.pixels[10 * 28 + 13], 193);
  EXPECT_EQ(train.pixels[10 * 28 + 14], 228);
  EXPECT_EQ(test_labels[1], 2);
  EXPECT_EQ(test.pixels[14 * 28 + 12], 98);
  // Every class has 6,000 training images.
  std::vector<int> per_class(10, 0);
  for (uint8_t label : train_labels) per_class.at(label)++;
  for (int count : per_class) EXPECT_EQ(count, 6000);
}

TEST(IdxReal, EmnistLettersPartialFiles) {
  const std::string dir = testing::emnist_partial_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/data/emnist-letters-partial is absent; skipping the EMNIST bytes test";
  const IdxImages images = read_idx_images(dir + "/emnist-letters-test-first10000-images-idx3-ubyte.gz");
  const auto labels = read_idx_labels(dir + "/emnist-letters-test-first10000-labels-idx1-ubyte.gz");
  EXPECT_EQ(images.count, 10000);
  EXPECT_EQ(labels.size(), 10000u);
  EXPECT_EQ(read_idx_labels(dir + "/emnist-letters-train-labels-idx1-ubyte.gz").size(), 124800u);
  EXPECT_EQ(read_idx_labels(dir + "/emnist-letters-test-labels-idx1-ubyte.gz").size(), 20800u);
  // Stored labels are 1-based: a..l fully (800 each), then 400 of m.
  EXPECT_EQ(labels.front(), 1);
  EXPECT_EQ(labels.back(), 13);
}

// --- Broken files, table-driven. ---

struct BrokenCase {
  const char* name;
  std::function<void(const std::string& path)> make;
  const char* message;
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }

class IdxBroken : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(IdxBroken, ImagesGiveAClearError) {
  testing::TempDir dir;
  const std::string path = dir.file("images.gz");
  GetParam().make(path);
  try {
    read_idx_images(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
  }
}

std::vector<uint8_t> pixels(size_t n) { return std::vector<uint8_t>(n, 7); }

INSTANTIATE_TEST_SUITE_P(
    Cases, IdxBroken,
    ::testing::Values(
        BrokenCase{"missing", [](const std::string&) {}, "no such file"},
        BrokenCase{"not_gzip", [](const std::string& p) { testing::write_bytes(p, testing::idx_bytes(2051, {1, 2, 2}, pixels(4))); }, "not a gzip file"},
        BrokenCase{"empty_file", [](const std::string& p) { testing::write_bytes(p, {}); }, "not a gzip file"},
        BrokenCase{"wrong_magic", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2049, {1, 2, 2}, pixels(4))); }, "wrong magic number 2049"},
        BrokenCase{"short_data", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2051, {3, 2, 2}, pixels(8))); }, "truncated"},
        BrokenCase{"extra_data", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2051, {1, 2, 2}, pixels(9))); }, "after the count"},
        BrokenCase{"zero_images", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2051, {0, 2, 2}, {})); }, "out of range"},
        BrokenCase{"absurd_count", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2051, {1u << 31, 28, 28}, pixels(16))); }, "out of range"},
        BrokenCase{"absurd_total", [](const std::string& p) { testing::write_gzip(p, testing::idx_bytes(2051, {1u << 27, 1000, 1000}, pixels(16))); }, "more than the"},
        BrokenCase{"truncated_gzip", [](const std::string& p) {
          testing::write_gzip(p, testing::idx_bytes(2051, {50, 28, 28}, pixels(50 * 784)));
          std::filesystem::resize_file(p, std::filesystem::file_size(p) / 2);
        }, "truncated"},
        BrokenCase{"corrupt_gzip_body", [](const std::string& p) {
          std::vector<uint8_t> image_bytes(20 * 784);
          for (size_t i = 0; i < image_bytes.size(); ++i) image_bytes[i] = static_cast<uint8_t>(i * 31 % 251);
          testing::write_gzip(p, testing::idx_bytes(2051, {20, 28, 28}, image_bytes));
          std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
          f.seekp(40);
          const char garbage[16] = {'\xff', '\x00', '\x13', '\x77', '\xff', '\xff', '\xff', '\xff', 1, 2, 3, 4, 5, 6, 7, 8};
          f.write(garbage, sizeof garbage);
        }, "images.gz"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) { return std::string(info.param.name); });

TEST(IdxBrokenLabels, WrongMagicAndTruncation) {
  testing::TempDir dir;
  testing::write_gzip(dir.file("l1.gz"), testing::idx_bytes(2051, {4}, pixels(4)));
  EXPECT_THROW(read_idx_labels(dir.file("l1.gz")), Error);
  testing::write_gzip(dir.file("l2.gz"), testing::idx_bytes(2049, {4}, pixels(3)));
  EXPECT_THROW(read_idx_labels(dir.file("l2.gz")), Error);
  testing::write_gzip(dir.file("l3.gz"), testing::idx_bytes(2049, {4}, {1, 2, 3, 4}));
  EXPECT_EQ(read_idx_labels(dir.file("l3.gz")), (std::vector<uint8_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace fbnet
