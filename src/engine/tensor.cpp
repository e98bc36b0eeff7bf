// Shape formatting for error messages.
#include "engine/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fbnet {

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace fbnet
