// The failures of fbnet, by who can fix them:
//   Error          a user can cause and fix it (a bad file, setting, shape or
//                  dataset); its message names the file, field or flag and
//                  what was expected. The CLI prints it and exits 2.
//   FieldError     an Error about one field of a description, in the words of
//                  the layer that checks it (an architecture's "hidden_sizes",
//                  a dataset's "data_dir"); the CLI names the flag that sets
//                  the field instead (cli/field_flags.cpp).
//   InternalError  an invariant of fbnet's own code failed: a bug, never the
//                  user's doing. The CLI says so and exits 70 (EX_SOFTWARE).
// FBNET_CHECK, FBNET_CHECK_FIELD and FBNET_ASSERT throw them.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fbnet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FieldError : public Error {
 public:
  // what(): "OWNER field 'FIELD': DETAIL"
  FieldError(const std::string& owner, std::string field, std::string detail)
      : Error(fmt::format("{} field '{}': {}", owner, field, detail)), field_(std::move(field)), detail_(std::move(detail)) {}
  const std::string& field() const { return field_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string field_, detail_;
};

class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void fail_field(const std::string& owner, std::string field, fmt::format_string<Args...> format,
                             Args&&... args) {
  throw FieldError(owner, std::move(field), fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void fail_internal(const char* file, int line, fmt::format_string<Args...> format, Args&&... args) {
  throw InternalError(fmt::format("{} ({}:{})", fmt::format(format, std::forward<Args>(args)...), file, line));
}

}  // namespace fbnet

// A condition a user's input can break: throws fbnet::Error with the message.
#define FBNET_CHECK(condition, ...) \
  do {                              \
    if (!(condition)) {             \
      ::fbnet::fail(__VA_ARGS__);   \
    }                               \
  } while (0)

// The same for one field of a description: FBNET_CHECK_FIELD(ok, "architecture", "hidden_sizes", "...", ...).
#define FBNET_CHECK_FIELD(condition, owner, field, ...) \
  do {                                                  \
    if (!(condition)) {                                 \
      ::fbnet::fail_field(owner, field, __VA_ARGS__);   \
    }                                                   \
  } while (0)

// An invariant of fbnet's own code: throws fbnet::InternalError naming the source line.
#define FBNET_ASSERT(condition, ...)                              \
  do {                                                            \
    if (!(condition)) {                                           \
      ::fbnet::fail_internal(__FILE__, __LINE__, __VA_ARGS__);    \
    }                                                             \
  } while (0)
