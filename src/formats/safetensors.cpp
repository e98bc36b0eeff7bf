// safetensors encoding and the checks that make reading an untrusted file safe.
#include "formats/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "formats/atomic_file.hpp"

namespace fbnet {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit

}  // namespace

const NamedTensor* SafetensorsFile::find(const std::string& name) const {
  for (const NamedTensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::ordered_json header;
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const NamedTensor& tensor : file.tensors) {
    FBNET_CHECK(static_cast<int64_t>(tensor.values.size()) == element_count(tensor.shape),
                "tensor '{}' has {} values for shape {}", tensor.name, tensor.values.size(), shape_string(tensor.shape));
    const uint64_t bytes = tensor.values.size() * sizeof(float);
    header[tensor.name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::string bytes(8, '\0');
  const uint64_t header_size = header_text.size();
  std::memcpy(bytes.data(), &header_size, 8);
  bytes += header_text;
  bytes.reserve(bytes.size() + offset);
  for (const NamedTensor& tensor : file.tensors)
    bytes.append(reinterpret_cast<const char*>(tensor.values.data()), tensor.values.size() * sizeof(float));
  write_file_atomic(path, bytes);
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::error_code error;
  FBNET_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such checkpoint file", path);
  const uint64_t file_size = std::filesystem::file_size(path, error);
  FBNET_CHECK(!error, "{}: cannot read its size: {}", path, error.message());
  std::ifstream in(path, std::ios::binary);
  FBNET_CHECK(in.good(), "{}: cannot open for reading", path);
  uint64_t header_size = 0;
  FBNET_CHECK(file_size >= 8 && in.read(reinterpret_cast<char*>(&header_size), 8),
              "{}: not a safetensors file (shorter than its 8-byte header length)", path);
  FBNET_CHECK(header_size >= 2 && header_size <= kMaxHeaderBytes && header_size <= file_size - 8,
              "{}: not a safetensors file (header length {} does not fit the file of {} bytes)", path, header_size,
              file_size);
  std::string header_text(header_size, '\0');
  FBNET_CHECK(in.read(header_text.data(), static_cast<std::streamsize>(header_size)), "{}: truncated header", path);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& error) {
    fail("{}: safetensors header is not valid JSON: {}", path, error.what());
  }
  FBNET_CHECK(header.is_object(), "{}: safetensors header must be a JSON object", path);
  const uint64_t data_size = file_size - 8 - header_size;

  SafetensorsFile file;
  struct Pending {
    size_t tensor;
    uint64_t begin;
  };
  std::vector<Pending> pending;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      FBNET_CHECK(entry.is_object(), "{}: __metadata__ must be an object of strings", path);
      for (const auto& [key, value] : entry.items()) {
        FBNET_CHECK(value.is_string(), "{}: __metadata__ entry '{}' must be a string", path, key);
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    FBNET_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                    entry.contains("data_offsets"),
                "{}: tensor '{}' needs dtype, shape and data_offsets", path, name);
    FBNET_CHECK(entry["dtype"] == "F32", "{}: tensor '{}' has dtype {}; fbnet reads F32 only", path, name,
                entry["dtype"].dump());
    const auto& shape_json = entry["shape"];
    const auto& offsets = entry["data_offsets"];
    FBNET_CHECK(shape_json.is_array() && shape_json.size() <= 8, "{}: tensor '{}' has a malformed shape", path, name);
    FBNET_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                    offsets[1].is_number_unsigned(),
                "{}: tensor '{}' has malformed data_offsets", path, name);
    Shape shape;
    uint64_t elements = 1;
    for (const auto& dim : shape_json) {
      FBNET_CHECK(dim.is_number_unsigned(), "{}: tensor '{}' has a non-integer dimension", path, name);
      const uint64_t d = dim.get<uint64_t>();
      FBNET_CHECK(d <= data_size && (d == 0 || elements <= data_size / d), "{}: tensor '{}' shape is larger than the file",
                  path, name);
      elements *= d;
      shape.push_back(static_cast<int64_t>(d));
    }
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    FBNET_CHECK(begin <= end && end <= data_size && end - begin == elements * sizeof(float),
                "{}: tensor '{}' data_offsets [{}, {}] do not match its shape {} within {} data bytes", path, name,
                begin, end, shape_string(shape), data_size);
    file.tensors.push_back({name, std::move(shape), {}});
    pending.push_back({file.tensors.size() - 1, begin});
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < pending.size(); ++i) {
    const NamedTensor& previous = file.tensors[pending[i - 1].tensor];
    FBNET_CHECK(pending[i - 1].begin + element_count(previous.shape) * sizeof(float) <= pending[i].begin,
                "{}: tensors '{}' and '{}' overlap in the data", path, previous.name, file.tensors[pending[i].tensor].name);
  }
  for (const Pending& p : pending) {
    NamedTensor& tensor = file.tensors[p.tensor];
    tensor.values.resize(element_count(tensor.shape));
    in.seekg(static_cast<std::streamoff>(8 + header_size + p.begin));
    FBNET_CHECK(in.read(reinterpret_cast<char*>(tensor.values.data()),
                        static_cast<std::streamsize>(tensor.values.size() * sizeof(float))),
                "{}: truncated data for tensor '{}'", path, tensor.name);
  }
  return file;
}

}  // namespace fbnet
