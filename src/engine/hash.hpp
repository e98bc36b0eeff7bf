// FNV-1a, 64 bits: a stable hash of text (settings as JSON) for names that
// must not change between builds or machines, unlike std::hash.
#pragma once

#include <cstdint>
#include <string_view>

namespace fbnet {

inline uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

}  // namespace fbnet
