// The last words of a "training diverged" message, shared by the trainers:
// what the run folder still holds from the epochs before the one that failed.
#pragma once

#include <string>

#include <fmt/format.h>

namespace fbnet {

// `saved` names what each finished epoch leaves in `folder` ("checkpoint", "model").
inline std::string what_is_kept(const std::string& folder, int diverged_epoch, const std::string& saved) {
  return diverged_epoch > 1 ? fmt::format("the {} of epoch {} in {} is kept", saved, diverged_epoch - 1, folder)
                            : fmt::format("no epoch finished, so {} holds no {}", folder, saved);
}

}  // namespace fbnet
