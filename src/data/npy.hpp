// Reader and writer of NumPy .npy files (format versions 1.0, 2.0 and 3.0),
// the way a PyTorch user hands over data: np.save("x.npy", tensor.numpy()).
// Only C-order arrays of little-endian numbers are read. The header (magic,
// version, length, the dict's keys, the shape) and the file's size are checked
// against each other before anything is allocated, so a hostile header cannot
// make us allocate absurd memory or read past the data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

// The element types fbnet reads, by their NumPy descr: '|u1', '<f4', '<i8', ...
enum class NpyType { kUint8, kInt8, kUint16, kInt16, kUint32, kInt32, kUint64, kInt64, kFloat32, kFloat64 };

struct NpyHeader {
  NpyType type = NpyType::kUint8;
  std::string descr;     // as the file spells it, for messages
  Shape shape;           // () for a scalar
  int64_t data_offset = 0;  // bytes before the data
};

// Throws fbnet::Error naming `path` unless it is a .npy file whose header is
// valid, whose dtype is one of NpyType, which is in C order, and whose size is
// exactly the header plus the bytes its shape needs. Reads only the header.
NpyHeader read_npy_header(const std::string& path);

// The values of an array of uint8 or floats, as 8-bit pixels [element]: uint8
// as stored, float32/float64 in [0, 1] as round(x * 255), which gives back the
// bytes of 8-bit images that became floats as u / 255 (torchvision's
// ToTensor). Other types, and a float outside [0, 1] or NaN, are refused,
// naming the file and the first bad element's index.
std::vector<uint8_t> read_npy_pixels(const std::string& path, const NpyHeader& header);

// The values of an array of any integer type, as int64 [element]; a uint64
// above the int64 range is refused, naming the file and its index.
std::vector<int64_t> read_npy_integers(const std::string& path, const NpyHeader& header);

// A version-1.0 .npy file of a C-order float32 array of `shape`, as bytes.
std::string npy_float32_bytes(const Shape& shape, std::span<const float> values);

}  // namespace fbnet
