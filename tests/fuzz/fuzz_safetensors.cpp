// libFuzzer target: the safetensors reader and, on what it accepts, the
// checkpoint layer above it (metadata, architecture, weights into a network).
#include <cstdint>

#include "engine/error.hpp"
#include "formats/model_file.hpp"
#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fbnet::fuzzing::input_file(data, size, ".safetensors");
  try {
    const fbnet::SafetensorsFile file = fbnet::read_safetensors(path);
    for (const fbnet::NamedTensor& tensor : file.tensors)
      if (static_cast<int64_t>(tensor.values.size()) != fbnet::element_count(tensor.shape)) __builtin_trap();
    const fbnet::Checkpoint checkpoint = fbnet::read_checkpoint(path);
    // A checkpoint that passed every check must load into its own architecture.
    fbnet::Network<float> network(checkpoint.architecture);
    fbnet::load_weights(checkpoint, network);
  } catch (const fbnet::Error&) {
  }
  return 0;
}
