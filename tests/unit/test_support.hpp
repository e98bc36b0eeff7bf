// Helpers shared by the unit tests: temporary folders, gzip writing, the
// shared data folder, synthetic images, the central finite-difference
// gradient check, garbage for gradient buffers, and float bits.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/random.hpp"
#include "train/prepared_data.hpp"

namespace fbnet::testing {

// The bits of each value, so that a comparison tells -0 from +0 and a NaN equals itself.
std::vector<uint32_t> bits_of(const std::vector<float>& values);

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
// IDX bytes (uncompressed): big-endian magic and dimensions, then the data.
std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);

// The EMNIST letters partial data folder, or "" when ../shared is absent.
std::string emnist_partial_dir();

// `count` images of `pixels` values ~ N(0, scale^2), labelled 0, 1, ..,
// classes - 1, 0, 1, ...
LabeledImages synthetic_images(int64_t count, int64_t pixels, int classes, Rng& rng, double scale = 1.0);

// Compares `analytic` with central differences of `loss` over every entry of
// `values` (perturbed in place and restored). Returns the largest error
// |fd - analytic| / max(1e-3, |fd| + |analytic|) over the entries, or NaN
// when any entry's error is NaN.
double max_gradient_error(const std::function<double()>& loss, std::span<double> values,
                          std::span<const double> analytic, double step = 1e-6);

// Fills a gradient buffer with what a stale one could hold: NaN and 1e30,
// alternating. A backward that adds to it instead of overwriting it leaves
// NaN or errors near 1 behind.
void fill_with_garbage(std::span<double> grads);

// Runs `action` and expects an fbnet::Error whose message contains each of
// `needles` (e.g. the path of a broken file and what is wrong with it).
void expect_error(const std::function<void()>& action, const std::vector<std::string>& needles);
inline void expect_error(const std::function<void()>& action, const std::string& needle) {
  expect_error(action, std::vector<std::string>{needle});
}

}  // namespace fbnet::testing
