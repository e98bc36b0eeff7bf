// Test helpers: temp folders, gzip files, synthetic images, finite differences, garbage gradients.
#include "test_support.hpp"

#include <bit>

#include <gtest/gtest.h>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "engine/error.hpp"

namespace fbnet::testing {

std::vector<uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<uint32_t> bits;
  for (float value : values) bits.push_back(std::bit_cast<uint32_t>(value));
  return bits;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fbnet-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}
TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("gzopen failed: " + path);
  if (!bytes.empty()) gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(v >> shift));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string emnist_partial_dir() {
  const std::string dir = std::string(FBNET_SHARED_DATA) + "/emnist-letters-partial";
  return std::filesystem::is_directory(dir) ? dir : "";
}

LabeledImages synthetic_images(int64_t count, int64_t pixels, int classes, Rng& rng, double scale) {
  LabeledImages set{Tensor<float>({count, pixels}), {}};
  for (float& v : set.images.values) v = static_cast<float>(scale * rng.normal());
  for (int64_t i = 0; i < count; ++i) set.labels.push_back(static_cast<int32_t>(i % classes));
  return set;
}

// Error of one entry: |fd - analytic| / max(1e-3, |fd| + |analytic|), i.e.
// relative for gradients of ordinary size and absolute (x 1e3) near zero,
// where central differences in double are accurate to ~1e-9.
double max_gradient_error(const std::function<double()>& loss, std::span<double> values,
                          std::span<const double> analytic, double step) {
  double worst = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    values[i] = saved + step;
    const double up = loss();
    values[i] = saved - step;
    const double down = loss();
    values[i] = saved;
    const double numeric = (up - down) / (2 * step);
    const double error = std::abs(numeric - analytic[i]) / std::max(1e-3, std::abs(numeric) + std::abs(analytic[i]));
    if (std::isnan(error) || error > worst) worst = error;  // std::max would drop a NaN
  }
  return worst;
}

void fill_with_garbage(std::span<double> grads) {
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = i % 2 == 0 ? std::numeric_limits<double>::quiet_NaN() : 1e30;
}

void expect_error(const std::function<void()>& action, const std::vector<std::string>& needles) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one mentioning " << needles.back();
  } catch (const Error& error) {
    for (const std::string& needle : needles)
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
  }
}

}  // namespace fbnet::testing
