// libFuzzer target: config files. The first byte picks TOML or JSON; the rest
// is the file, read as an experiment-1 config, an experiment-2 config and a
// grid, each resolved and validated as the commands do.
#include <cstdint>

#include "config/config.hpp"
#include "config/sequence_config.hpp"
#include "engine/error.hpp"
#include "experiments/grid.hpp"
#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string path = fbnet::fuzzing::input_file(data + 1, size - 1, (data[0] & 1) ? ".json" : ".toml");
  try {
    fbnet::validate(fbnet::resolve_config(fbnet::read_config_file<fbnet::RunConfig>(path)));
  } catch (const fbnet::Error&) {
  }
  try {
    fbnet::validate(fbnet::resolve_sequence_config(fbnet::read_config_file<fbnet::SequenceConfig>(path)));
  } catch (const fbnet::Error&) {
  }
  try {
    // A grid's size is checked from its lists before anything is built; a small limit keeps each input within
    // the fuzzer's time limit under the sanitizers (a 4 KB file can spell 10^5 configurations).
    for (const fbnet::GridRun& run : fbnet::expand_grid(fbnet::read_settings_document(path), path, 1000))
      fbnet::validate(fbnet::resolve_config(fbnet::settings_from_json<fbnet::RunConfig>(run.settings, run.id)));
  } catch (const fbnet::Error&) {
  }
  return 0;
}
