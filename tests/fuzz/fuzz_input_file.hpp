// The readers under fuzzing take paths, as users give them: each fuzz input is
// written to a file of this process's own, which the reader then opens.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace fbnet::fuzzing {

// Writes `size` bytes to TMPDIR/fbnet-fuzz-PID.EXTENSION and returns the path.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& extension) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("fbnet-fuzz-" + std::to_string(::getpid()) + extension)).string();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) __builtin_trap();  // the harness itself is broken
  if (size > 0 && std::fwrite(data, 1, size, file) != size) __builtin_trap();
  std::fclose(file);
  return path;
}

}  // namespace fbnet::fuzzing
