// Build-time and run-time version strings.
#include "train/environment.hpp"

#include "engine/blas.hpp"

#ifndef FBNET_VERSION
#define FBNET_VERSION "unknown"
#endif

namespace fbnet {

nlohmann::json environment_description() {
#if defined(__clang__)
  const std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = "gcc " __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  return {{"fbnet", FBNET_VERSION}, {"compiler", compiler}, {"blas", blas_description()}, {"blas_threads", blas_threads()}};
}

}  // namespace fbnet
