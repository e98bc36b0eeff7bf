// Name tables for enums: one table per enum gives its spelling in flags,
// config files and checkpoints, and parsing names the allowed values on error.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.hpp"

namespace fbnet {

template <class Enum>
struct EnumName {
  Enum value;
  const char* name;
};

// `what` names the flag or field in the error, e.g. "--feedback-combine".
template <class Enum, size_t N>
Enum parse_enum(const EnumName<Enum> (&names)[N], const std::string& what, const std::string& text) {
  std::vector<std::string> options;
  for (const auto& entry : names) {
    if (text == entry.name) return entry.value;
    options.push_back(entry.name);
  }
  fail("{}: '{}' is not one of: {}", what, text, fmt::join(options, ", "));
}

template <class Enum, size_t N>
const char* enum_name(const EnumName<Enum> (&names)[N], Enum value) {
  for (const auto& entry : names)
    if (entry.value == value) return entry.name;
  return "?";
}

}  // namespace fbnet
