// The safetensors file format (8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data), so that PyTorch and NumPy users read our weights with
// `safetensors.torch.load_file`. fbnet writes and reads float32 ("F32") only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

struct NamedTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry

  const NamedTensor* find(const std::string& name) const;
};

// Written atomically (temporary file, then rename).
void write_safetensors(const std::string& path, const SafetensorsFile& file);
// Validates the header against the file size before allocating anything;
// throws fbnet::Error naming `path` and the bad field.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace fbnet
