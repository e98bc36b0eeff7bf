// gzip IDX reading through zlib, with the header checked against the data.
#include "data/idx.hpp"

#include <zlib.h>

#include <filesystem>
#include <algorithm>
#include <cstdio>

#include "engine/error.hpp"

namespace fbnet {
namespace {

// More than any real IDX file: a header that asks for more is refused before allocating.
constexpr int64_t kMaxIdxBytes = int64_t{4} << 30;
constexpr int64_t kMaxIdxDimension = int64_t{1} << 28;

class GzipFile {
 public:
  explicit GzipFile(const std::string& path) : path_(path) {
    std::error_code error;
    FBNET_CHECK(std::filesystem::is_regular_file(path, error), "{}: no such file", path);
    // zlib reads non-gzip bytes through unchanged, so the magic bytes are checked first.
    unsigned char magic[2] = {0, 0};
    FILE* raw = std::fopen(path.c_str(), "rb");
    FBNET_CHECK(raw != nullptr, "{}: cannot open for reading", path);
    const size_t read = std::fread(magic, 1, 2, raw);
    std::fclose(raw);
    FBNET_CHECK(read == 2 && magic[0] == 0x1f && magic[1] == 0x8b,
                "{}: not a gzip file (expected the gzip magic bytes 1f 8b)", path);
    file_ = gzopen(path.c_str(), "rb");
    FBNET_CHECK(file_ != nullptr, "{}: cannot open for reading", path);
  }
  ~GzipFile() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzipFile(const GzipFile&) = delete;
  GzipFile& operator=(const GzipFile&) = delete;

  // Reads exactly `size` bytes or throws, naming what was being read.
  void read_exactly(void* buffer, int64_t size, const char* what) {
    auto* out = static_cast<unsigned char*>(buffer);
    while (size > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(size, 1 << 30));
      const int got = gzread(file_, out, chunk);
      if (got <= 0) {
        int errnum = 0;
        const char* message = gzerror(file_, &errnum);
        fail("{}: truncated or corrupt while reading {} ({})", path_, what,
             errnum != Z_OK && errnum != Z_STREAM_END ? message : "unexpected end of data");
      }
      out += got;
      size -= got;
    }
  }
  // Reads exactly `size` bytes into `out`, growing it as the data arrives, so a
  // header that promises more than the file holds costs no large allocation.
  void read_into(std::vector<uint8_t>& out, int64_t size, const char* what) {
    constexpr int64_t kChunk = int64_t{16} << 20;
    out.clear();
    for (int64_t done = 0; done < size;) {
      const int64_t chunk = std::min(kChunk, size - done);
      out.resize(done + chunk);
      read_exactly(out.data() + done, chunk, what);
      done += chunk;
    }
  }
  uint32_t read_big_endian_u32(const char* what) {
    unsigned char bytes[4];
    read_exactly(bytes, 4, what);
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
  }
  // After the data: the file must end here, and the gzip trailer must check out.
  void expect_end() {
    unsigned char extra;
    const int got = gzread(file_, &extra, 1);
    FBNET_CHECK(got == 0, "{}: has data after the count its header declares", path_);
    int errnum = 0;
    const char* message = gzerror(file_, &errnum);
    FBNET_CHECK(errnum == Z_OK || errnum == Z_STREAM_END, "{}: corrupt gzip stream ({})", path_, message);
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

void read_magic(GzipFile& file, const std::string& path, uint32_t expected, const char* kind) {
  const uint32_t magic = file.read_big_endian_u32("the magic number");
  FBNET_CHECK(magic == expected, "{}: wrong magic number {} (expected {} for an IDX {} file)", path, magic,
              expected, kind);
}

int64_t read_dimension(GzipFile& file, const std::string& path, const char* name) {
  const int64_t value = file.read_big_endian_u32(name);
  FBNET_CHECK(value > 0 && value <= kMaxIdxDimension, "{}: header field {} = {} is out of range (1..{})", path, name,
              value, kMaxIdxDimension);
  return value;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  GzipFile file(path);
  read_magic(file, path, kIdxImagesMagic, "images");
  IdxImages images;
  images.count = read_dimension(file, path, "image count");
  images.rows = read_dimension(file, path, "rows");
  images.cols = read_dimension(file, path, "columns");
  const int64_t pixels_per_image = images.rows * images.cols;
  FBNET_CHECK(pixels_per_image <= kMaxIdxBytes / images.count,
              "{}: header declares {} images of {}x{}, more than the {} GiB an IDX file may hold", path, images.count,
              images.rows, images.cols, kMaxIdxBytes >> 30);
  file.read_into(images.pixels, images.count * pixels_per_image, "the pixels");
  file.expect_end();
  return images;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
  GzipFile file(path);
  read_magic(file, path, kIdxLabelsMagic, "labels");
  const int64_t count = read_dimension(file, path, "label count");
  std::vector<uint8_t> labels;
  file.read_into(labels, count, "the labels");
  file.expect_end();
  return labels;
}

}  // namespace fbnet
