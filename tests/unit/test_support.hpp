// Helpers shared by the unit tests: temporary folders, gzip writing, the
// shared data folder, and the central finite-difference gradient check.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace fbnet::testing {

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

// Compares `analytic` with central differences of `loss` over every entry of
// `values` (perturbed in place and restored). Returns the largest error
// |fd - analytic| / max(1e-3, |fd| + |analytic|) over the entries.
double max_gradient_error(const std::function<double()>& loss, std::span<double> values,
                          std::span<const double> analytic, double step = 1e-6);

// Runs `action` and expects an fbnet::Error whose message contains `needle`.
void expect_error(const std::function<void()>& action, const std::string& needle);

}  // namespace fbnet::testing
