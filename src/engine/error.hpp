// fbnet::Error, the one exception type of the library, and FBNET_CHECK.
// Every failure a user can cause (bad file, bad flag, bad shape) surfaces as an
// Error whose message names the file, field or flag and what was expected; the
// CLI prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fbnet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace fbnet

// Checks an invariant; on failure throws fbnet::Error with the formatted message.
#define FBNET_CHECK(condition, ...)     \
  do {                                  \
    if (!(condition)) {                 \
      ::fbnet::fail(__VA_ARGS__);       \
    }                                   \
  } while (0)
