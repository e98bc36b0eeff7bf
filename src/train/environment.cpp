// Build-time and run-time version strings.
#include "train/environment.hpp"

#include "engine/compute.hpp"

#ifndef FBNET_VERSION
#define FBNET_VERSION "unknown"
#endif
#ifndef FBNET_ARCH
#define FBNET_ARCH ""
#endif

namespace fbnet {

nlohmann::ordered_json environment_description() {
#if defined(__clang__)
  const std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = "gcc " __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  // The target fbnet's own loops were built for (FBNET_MARCH): a native binary may not run on another CPU.
  const std::string target = std::string(FBNET_ARCH).empty() ? "the compiler's default" : FBNET_ARCH;
  nlohmann::ordered_json description = {{"fbnet", FBNET_VERSION}, {"compiler", compiler + ", " + target}};
  description.update(compute_description());
  return description;
}

}  // namespace fbnet
