// libFuzzer target: the gzip IDX reader. The first byte picks how the rest
// reaches the reader: gzip-compressed here (so that the fuzzer explores the
// IDX header and data rather than gzip framing) or as raw file bytes. Any
// outcome but a result or an fbnet::Error is a bug: a crash, a sanitizer
// report, an uncaught exception or an allocation beyond libFuzzer's limit.
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "data/idx.hpp"
#include "engine/error.hpp"
#include "fuzz_input_file.hpp"

namespace {

std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer, as the dataset files have.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::vector<uint8_t> out(deflateBound(&stream, size) + 32);
  stream.next_in = const_cast<uint8_t*>(data);
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool compress = (data[0] & 1) == 0;
  const bool labels = (data[0] & 2) != 0;
  const std::vector<uint8_t> bytes = compress ? gzip(data + 1, size - 1) : std::vector<uint8_t>(data + 1, data + size);
  const std::string path = fbnet::fuzzing::input_file(bytes.data(), bytes.size(), ".gz");
  try {
    if (labels) {
      const std::vector<uint8_t> read = fbnet::read_idx_labels(path);
      if (read.size() > size * 1100) __builtin_trap();  // more than gzip could have expanded
    } else {
      const fbnet::IdxImages images = fbnet::read_idx_images(path);
      if (static_cast<int64_t>(images.pixels.size()) != images.count * images.rows * images.cols) __builtin_trap();
    }
  } catch (const fbnet::Error&) {
  }
  return 0;
}
