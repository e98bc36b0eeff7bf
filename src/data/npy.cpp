// .npy parsing: the fixed preamble, the header's Python dict literal, the size
// check, and the element conversions; and the float32 writer.
#include "data/npy.hpp"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.hpp"

namespace fbnet {
namespace {

// The element bytes are reinterpreted as the host's numbers.
static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr int64_t kMagicBytes = 6;
// NumPy writes headers of about a hundred bytes for a plain array (and refuses
// to read ones above 10,000 by default): a longer one is not a plain array.
constexpr int64_t kMaxHeaderBytes = 65536;
// NumPy's own limit on dimensions (NPY_MAXDIMS in NumPy 2).
constexpr size_t kMaxDimensions = 64;

struct TypeInfo {
  NpyType type;
  const char* descr;
  int64_t item_bytes;
};
constexpr TypeInfo kTypes[] = {
    {NpyType::kUint8, "|u1", 1},   {NpyType::kInt8, "|i1", 1},    {NpyType::kUint16, "<u2", 2},
    {NpyType::kInt16, "<i2", 2},   {NpyType::kUint32, "<u4", 4},  {NpyType::kInt32, "<i4", 4},
    {NpyType::kUint64, "<u8", 8},  {NpyType::kInt64, "<i8", 8},   {NpyType::kFloat32, "<f4", 4},
    {NpyType::kFloat64, "<f8", 8}};

const TypeInfo& type_info(NpyType type) {
  for (const TypeInfo& info : kTypes)
    if (info.type == type) return info;
  fail_internal(__FILE__, __LINE__, "NpyType {} has no entry in kTypes", static_cast<int>(type));
}

std::string known_descrs() {
  std::vector<std::string> names;
  for (const TypeInfo& info : kTypes) names.push_back(fmt::format("'{}'", info.descr));
  return fmt::format("{}", fmt::join(names, ", "));
}

// The header's dict literal, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
// parsed strictly: exactly these three keys, each once, in any order.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string text) : path_(path), text_(std::move(text)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{', "'{' opening the header dict");
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string("a key of the header dict");
      skip_space();
      expect(':', fmt::format("':' after the key '{}'", key));
      skip_space();
      if (key == "descr") {
        check_first(seen_descr, key);
        header.descr = parse_string("the descr string");
        header.type = type_of(header.descr);
      } else if (key == "fortran_order") {
        check_first(seen_order, key);
        FBNET_CHECK(!parse_bool(), "{}: the array is in Fortran order; fbnet reads C order only (save "
                    "np.ascontiguousarray(a), as np.save does for an ordinary array)", path_);
      } else if (key == "shape") {
        check_first(seen_shape, key);
        header.shape = parse_shape();
      } else {
        fail("{}: unknown key '{}' in the header (expected 'descr', 'fortran_order' and 'shape')", path_, key);
      }
      skip_space();
      if (peek() == '}') break;
      expect(',', "',' or '}' after a value of the header dict");
    }
    ++pos_;  // the '}'
    FBNET_CHECK(seen_descr && seen_order && seen_shape, "{}: the header lacks the key '{}'", path_,
                !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    skip_space();
    FBNET_CHECK(pos_ == text_.size(), "{}: unexpected text after the header dict at byte {}", path_, pos_);
    return header;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  // NumPy pads the header with spaces and ends it with a newline.
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  void expect(char c, const std::string& what) {
    FBNET_CHECK(peek() == c, "{}: malformed header: expected {} at byte {}", path_, what, pos_);
    ++pos_;
  }
  void check_first(bool& seen, const std::string& key) {
    FBNET_CHECK(!seen, "{}: the header gives the key '{}' twice", path_, key);
    seen = true;
  }
  std::string parse_string(const char* what) {
    const char quote = peek();
    FBNET_CHECK(quote == '\'' || quote == '"', "{}: malformed header: expected {} (a quoted string) at byte {}", path_,
                what, pos_);
    const size_t end = text_.find(quote, pos_ + 1);
    FBNET_CHECK(end != std::string::npos, "{}: malformed header: {} at byte {} is not closed", path_, what, pos_);
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    fail("{}: malformed header: fortran_order must be True or False (at byte {})", path_, pos_);
  }
  // "()", "(5,)" or "(3, 4)": non-negative integers.
  Shape parse_shape() {
    expect('(', "'(' opening the shape tuple");
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      FBNET_CHECK(std::isdigit(static_cast<unsigned char>(peek())), "{}: malformed header: expected a dimension of "
                  "the shape (a non-negative integer) at byte {}", path_, pos_);
      int64_t dimension = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        FBNET_CHECK(dimension <= (INT64_MAX - 9) / 10, "{}: a dimension of the shape is too large", path_);
        dimension = dimension * 10 + (text_[pos_++] - '0');
      }
      shape.push_back(dimension);
      FBNET_CHECK(shape.size() <= kMaxDimensions, "{}: the shape has more than {} dimensions", path_, kMaxDimensions);
      skip_space();
      if (peek() != ',') break;
      ++pos_;
    }
    expect(')', "')' closing the shape tuple");
    return shape;
  }
  NpyType type_of(const std::string& descr) {
    for (const TypeInfo& info : kTypes)
      if (descr == info.descr) return info.type;
    FBNET_CHECK(descr.empty() || descr[0] != '>', "{}: dtype '{}' is big-endian; fbnet reads little-endian data "
                "(save a.astype(a.dtype.newbyteorder('<')))", path_, descr);
    fail("{}: dtype '{}' is not one fbnet reads (expected one of {})", path_, descr, known_descrs());
  }

  const std::string& path_;
  std::string text_;
  size_t pos_ = 0;
};

uint64_t little_endian(const unsigned char* bytes, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// NumPy's way of writing an element's position: [0, 2, 5].
std::string index_string(const Shape& shape, int64_t flat) {
  Shape index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_string(index);
}

// The data bytes of a header read_npy_header() accepted.
std::vector<unsigned char> read_data(const std::string& path, const NpyHeader& header) {
  std::vector<unsigned char> bytes(element_count(header.shape) * type_info(header.type).item_bytes);
  std::ifstream file(path, std::ios::binary);
  file.seekg(header.data_offset);
  file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  FBNET_CHECK(file && file.gcount() == static_cast<std::streamsize>(bytes.size()),
              "{}: cannot read its {} bytes of data (did the file change while it was read?)", path, bytes.size());
  return bytes;
}

template <class Value>
Value element(const std::vector<unsigned char>& bytes, int64_t i) {
  Value value;
  std::memcpy(&value, bytes.data() + i * sizeof(Value), sizeof(Value));
  return value;
}

template <class Float>
void float_pixels(const std::string& path, const NpyHeader& header, const std::vector<unsigned char>& bytes,
                  std::vector<uint8_t>& pixels) {
  for (size_t i = 0; i < pixels.size(); ++i) {
    const double value = element<Float>(bytes, static_cast<int64_t>(i));
    FBNET_CHECK(value >= 0.0 && value <= 1.0, "{}: value {} at index {} is outside [0, 1]; fbnet reads float images "
                "as ToTensor gives them, pixel / 255 (or save uint8 pixels 0..255)", path, value,
                index_string(header.shape, static_cast<int64_t>(i)));
    pixels[i] = static_cast<uint8_t>(std::lround(value * 255.0));
  }
}

template <class Integer>
void to_int64(const std::string& path, const NpyHeader& header, const std::vector<unsigned char>& bytes,
              std::vector<int64_t>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    const Integer value = element<Integer>(bytes, static_cast<int64_t>(i));
    if constexpr (std::is_same_v<Integer, uint64_t>)
      FBNET_CHECK(value <= static_cast<uint64_t>(INT64_MAX), "{}: value {} at index {} is above the int64 range", path,
                  value, index_string(header.shape, static_cast<int64_t>(i)));
    values[i] = static_cast<int64_t>(value);
  }
}

}  // namespace

NpyHeader read_npy_header(const std::string& path) {
  std::error_code error;
  FBNET_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path);
  const auto file_size = static_cast<int64_t>(std::filesystem::file_size(path, error));
  FBNET_CHECK(!error, "{}: cannot read its size: {}", path, error.message());
  std::ifstream file(path, std::ios::binary);
  FBNET_CHECK(file, "{}: cannot open for reading", path);
  unsigned char preamble[12] = {};
  file.read(reinterpret_cast<char*>(preamble), 8);
  FBNET_CHECK(file && std::memcmp(preamble, kMagic, kMagicBytes) == 0,
              "{}: not a .npy file (expected the magic bytes \\x93NUMPY; write it with numpy.save)", path);
  const int major = preamble[6], minor = preamble[7];
  FBNET_CHECK((major == 1 || major == 2 || major == 3) && minor == 0,
              "{}: .npy format version {}.{} is not one fbnet reads (1.0, 2.0, 3.0)", path, major, minor);
  // Version 1.0 stores the header's length in 2 bytes, 2.0 and 3.0 (UTF-8 header) in 4.
  const int length_bytes = major == 1 ? 2 : 4;
  file.read(reinterpret_cast<char*>(preamble + 8), length_bytes);
  FBNET_CHECK(file, "{}: truncated: the file ends inside the header's length field", path);
  const auto header_bytes = static_cast<int64_t>(little_endian(preamble + 8, length_bytes));
  FBNET_CHECK(header_bytes <= kMaxHeaderBytes, "{}: header length {} is more than the {} bytes a plain array's "
              "header needs", path, header_bytes, kMaxHeaderBytes);
  const int64_t data_offset = 8 + length_bytes + header_bytes;
  FBNET_CHECK(data_offset <= file_size, "{}: truncated: the header needs {} bytes, the file has {}", path, data_offset,
              file_size);
  std::string text(header_bytes, '\0');
  file.read(text.data(), header_bytes);
  FBNET_CHECK(file, "{}: cannot read its header", path);
  NpyHeader header = HeaderParser(path, std::move(text)).parse();
  header.data_offset = data_offset;
  // The element count and byte count, checked for overflow before they are trusted.
  int64_t count = 1;
  for (int64_t dimension : header.shape)
    FBNET_CHECK(!__builtin_mul_overflow(count, dimension, &count), "{}: the shape {} holds more elements than fbnet can "
                "count", path, shape_string(header.shape));
  int64_t data_bytes = 0;
  FBNET_CHECK(!__builtin_mul_overflow(count, type_info(header.type).item_bytes, &data_bytes),
              "{}: the shape {} of '{}' needs more bytes than fbnet can count", path, shape_string(header.shape),
              header.descr);
  FBNET_CHECK(file_size - data_offset == data_bytes, "{}: holds {} bytes of data, but shape {} of '{}' needs {}{}",
              path, file_size - data_offset, shape_string(header.shape), header.descr, data_bytes,
              file_size - data_offset < data_bytes ? " (truncated)" : "");
  return header;
}

std::vector<uint8_t> read_npy_pixels(const std::string& path, const NpyHeader& header) {
  FBNET_CHECK(header.type == NpyType::kUint8 || header.type == NpyType::kFloat32 || header.type == NpyType::kFloat64,
              "{}: images must be uint8 ('|u1') or float32/float64 ('<f4', '<f8') in [0, 1], not '{}'", path,
              header.descr);
  const std::vector<unsigned char> bytes = read_data(path, header);
  if (header.type == NpyType::kUint8) return {bytes.begin(), bytes.end()};
  std::vector<uint8_t> pixels(element_count(header.shape));
  if (header.type == NpyType::kFloat32) float_pixels<float>(path, header, bytes, pixels);
  else float_pixels<double>(path, header, bytes, pixels);
  return pixels;
}

std::vector<int64_t> read_npy_integers(const std::string& path, const NpyHeader& header) {
  const std::vector<unsigned char> bytes = read_data(path, header);
  std::vector<int64_t> values(element_count(header.shape));
  switch (header.type) {
    case NpyType::kUint8: to_int64<uint8_t>(path, header, bytes, values); break;
    case NpyType::kInt8: to_int64<int8_t>(path, header, bytes, values); break;
    case NpyType::kUint16: to_int64<uint16_t>(path, header, bytes, values); break;
    case NpyType::kInt16: to_int64<int16_t>(path, header, bytes, values); break;
    case NpyType::kUint32: to_int64<uint32_t>(path, header, bytes, values); break;
    case NpyType::kInt32: to_int64<int32_t>(path, header, bytes, values); break;
    case NpyType::kUint64: to_int64<uint64_t>(path, header, bytes, values); break;
    case NpyType::kInt64: to_int64<int64_t>(path, header, bytes, values); break;
    case NpyType::kFloat32:
    case NpyType::kFloat64:
      fail("{}: labels must be integers (e.g. '<i8', as torch.long saves), not '{}'", path, header.descr);
  }
  return values;
}

std::string npy_float32_bytes(const Shape& shape, std::span<const float> values) {
  FBNET_ASSERT(element_count(shape) == static_cast<int64_t>(values.size()), "npy_float32_bytes: {} values for shape {}",
               values.size(), shape_string(shape));
  // A one-element tuple needs its comma: (5,).
  const std::string tuple = shape.size() == 1 ? fmt::format("({},)", shape[0]) : fmt::format("({})", fmt::join(shape, ", "));
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", tuple);
  // NumPy aligns the data to 64 bytes: spaces, then the newline that ends the header.
  const size_t preamble = kMagicBytes + 2 + 2;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes(kMagic, kMagicBytes);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return bytes;
}

}  // namespace fbnet
