// Reader for the gzip-compressed IDX files of MNIST, Fashion-MNIST and EMNIST:
// a big-endian header (magic, dimensions) followed by uint8 data. Every field
// is validated before any allocation, so a hostile header cannot make us
// allocate absurd memory or read past the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fbnet {

inline constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: uint8, 3 dimensions
inline constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: uint8, 1 dimension

struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // [count, rows, cols]
};

// Throws fbnet::Error naming `path` on a missing, non-gzip, truncated or
// malformed file.
IdxImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);

}  // namespace fbnet
