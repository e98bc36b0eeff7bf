// The IDX reader on real bytes (Fashion-MNIST from Debian, EMNIST letters from
// ../shared) and on broken files: each gets a clear error, never a crash, and
// a header that promises far more than the file holds costs no allocation of
// the promised size.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
  testing::expect_error([&] { read_idx_images(path); }, {path, GetParam().message});
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

// The peaks of this process so far, in bytes: resident memory (what was
// touched) and virtual memory (what was allocated, touched or not).
struct MemoryPeaks {
  int64_t resident = 0;
  int64_t virtual_size = 0;
};

MemoryPeaks memory_peaks() {
  MemoryPeaks peaks;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  peaks.resident = int64_t{usage.ru_maxrss} * 1024;  // Linux gives KiB
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmPeak:")) peaks.virtual_size = std::stoll(line.substr(7)) * 1024;  // "VmPeak:  123 kB"
  return peaks;
}

// What the child that reads the file reports back.
struct ReadReport {
  MemoryPeaks growth;
  bool refused_as_truncated = false;
};

TEST(IdxLargeDeclaredSize, ShortBodyIsRefusedWithoutAllocatingTheDeclaredSize) {
  // 1,000,000 images of 28x28, 784 MB (legal: the reader's cap is 4 GiB), and 16 bytes of pixels.
  constexpr uint32_t kCount = 1000000;
  const int64_t declared = int64_t{kCount} * 28 * 28;
  testing::TempDir dir;
  const std::string path = dir.file("images.gz");
  testing::write_gzip(path, testing::idx_bytes(2051, {kCount, 28, 28}, pixels(16)));
  // The read runs in a child process, whose peak starts from the memory it
  // inherits rather than from the peak of the tests that ran before this one.
  int channel[2];
  ASSERT_EQ(pipe(channel), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(channel[0]);
    ReadReport report;
    const MemoryPeaks before = memory_peaks();
    try {
      read_idx_images(path);
    } catch (const Error& error) {
      report.refused_as_truncated = std::string(error.what()).find("truncated") != std::string::npos;
    }
    const MemoryPeaks after = memory_peaks();
    report.growth = {after.resident - before.resident, after.virtual_size - before.virtual_size};
    _exit(write(channel[1], &report, sizeof report) == sizeof report ? 0 : 1);
  }
  close(channel[1]);
  ReadReport report;
  const ssize_t got = read(channel[0], &report, sizeof report);
  close(channel[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == sizeof report) << "the reading child failed";
  EXPECT_TRUE(report.refused_as_truncated);
  RecordProperty("declared_bytes", std::to_string(declared));
  RecordProperty("resident_peak_growth_bytes", std::to_string(report.growth.resident));
  RecordProperty("virtual_peak_growth_bytes", std::to_string(report.growth.virtual_size));
  EXPECT_LT(report.growth.resident, declared / 16) << "reading a " << declared << "-byte promise grew the resident "
                                                    << "peak by " << report.growth.resident << " bytes";
  EXPECT_LT(report.growth.virtual_size, declared / 16) << "reading a " << declared << "-byte promise grew the virtual "
                                                        << "peak by " << report.growth.virtual_size << " bytes";
}

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
