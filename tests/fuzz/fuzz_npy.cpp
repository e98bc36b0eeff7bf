// libFuzzer target: the .npy reader, given the input as a file, read both as
// images (read_npy_images: header, layout, pixels) and as labels
// (read_npy_integers). Any outcome but a result or an fbnet::Error is a bug:
// a crash, a sanitizer report, an uncaught exception or an allocation beyond
// libFuzzer's limit (the file's size bounds every allocation).
#include <cstdint>
#include <vector>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "engine/error.hpp"
#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fbnet::fuzzing::input_file(data, size, ".npy");
  try {
    const fbnet::Dataset images = fbnet::read_npy_images(path);
    if (static_cast<int64_t>(images.pixels.size()) != images.count * images.pixels_per_image()) __builtin_trap();
  } catch (const fbnet::Error&) {
  }
  try {
    const fbnet::NpyHeader header = fbnet::read_npy_header(path);
    const std::vector<int64_t> values = fbnet::read_npy_integers(path, header);
    if (static_cast<int64_t>(values.size()) != fbnet::element_count(header.shape)) __builtin_trap();
  } catch (const fbnet::Error&) {
  }
  return 0;
}
