// Crash-safe file writes: the bytes go to a temporary file beside the target,
// are flushed to disk, and replace the target by rename(), so a reader (or a
// run killed mid-write) sees the old file or the new one, never a torn one.
#pragma once

#include <string>
#include <string_view>

namespace fbnet {

// Throws fbnet::Error naming `path` when the folder is unwritable or the disk
// is full; the previous content of `path` is then left as it was.
void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);
// FOLDER/NAME.
std::string path_in(const std::string& folder, const std::string& name);

}  // namespace fbnet
