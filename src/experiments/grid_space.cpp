// Counting a grid's configurations from its lists, and building one from its
// position (a mixed-radix number whose last digit is the last axis).
#include "experiments/grid_space.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.hpp"

namespace fbnet {
namespace {

constexpr const char* kGridFileKeys[] = {"grid", "slurm", "max-configurations"};

bool is_axis(const std::string& key, const nlohmann::ordered_json& value) {
  if (!value.is_array()) return false;
  if (key == "hidden") return !value.empty() && value.front().is_array();
  return true;
}

// a * b, or GridSpace::kTooMany when it does not fit.
uint64_t saturating_product(uint64_t a, uint64_t b) {
  uint64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? GridSpace::kTooMany : product;
}

uint64_t saturating_sum(uint64_t a, uint64_t b) {
  uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? GridSpace::kTooMany : sum;
}

std::string count_text(uint64_t count) {
  return count == GridSpace::kTooMany ? "more than 18446744073709551615" : std::to_string(count);
}

}  // namespace

bool is_grid_file_key(const std::string& key) {
  return std::find(std::begin(kGridFileKeys), std::end(kGridFileKeys), key) != std::end(kGridFileKeys);
}

GridSpace::GridSpace(const nlohmann::json& document, std::string source) : source_(std::move(source)) {
  FBNET_CHECK(document.is_object(), "{}: a grid file must be an object of settings", source_);
  const nlohmann::ordered_json ordered = document;
  nlohmann::ordered_json shared = nlohmann::ordered_json::object();
  for (const auto& [key, value] : ordered.items())
    if (!is_grid_file_key(key)) shared[key] = value;
  if (ordered.contains("max-configurations")) {
    const auto& limit = ordered["max-configurations"];
    FBNET_CHECK(limit.is_number_integer() && limit.get<int64_t>() >= 1,
                "{}: max-configurations must be a whole number of at least 1, got {}", source_, limit.dump());
    file_limit_ = limit.get<uint64_t>();
  }
  std::vector<nlohmann::ordered_json> tables;
  if (ordered.contains("grid")) {
    FBNET_CHECK(ordered["grid"].is_array() && !ordered["grid"].empty(),
                "{}: 'grid' must be a list of tables ([[grid]] in TOML)", source_);
    for (const auto& sub : ordered["grid"]) {
      FBNET_CHECK(sub.is_object(), "{}: each [[grid]] entry must be a table of settings", source_);
      // Shared axes expand too, inside each sub-grid; the sub-grid's own value wins.
      nlohmann::ordered_json combined = shared;
      for (const auto& [key, value] : sub.items()) {
        FBNET_CHECK(!is_grid_file_key(key), "{}: '{}' belongs at the top of the grid file, not in a [[grid]] table",
                    source_, key);
        combined[key] = value;
      }
      tables.push_back(std::move(combined));
    }
  } else {
    tables.push_back(std::move(shared));
  }
  for (const auto& table : tables) {
    SubGrid sub;
    sub.base = nlohmann::ordered_json::object();
    for (const auto& [key, value] : table.items()) {
      if (is_axis(key, value)) {
        FBNET_CHECK(!value.empty(), "{}: the list for '{}' is empty", source_, key);
        sub.axes.emplace_back(key, value);
        sub.size = saturating_product(sub.size, value.size());
      } else {
        sub.base[key] = value;
      }
    }
    size_ = saturating_sum(size_, sub.size);
    sub_grids_.push_back(std::move(sub));
  }
}

nlohmann::ordered_json GridSpace::configuration(uint64_t index) const {
  FBNET_ASSERT(index < size_, "configuration {} of a grid of {}", index, size_);
  for (const SubGrid& sub : sub_grids_) {
    if (index >= sub.size) {
      index -= sub.size;
      continue;
    }
    nlohmann::ordered_json config = sub.base;
    // The last axis varies fastest: it is the lowest digit.
    std::vector<uint64_t> digits(sub.axes.size());
    for (size_t a = sub.axes.size(); a-- > 0;) {
      digits[a] = index % sub.axes[a].second.size();
      index /= sub.axes[a].second.size();
    }
    for (size_t a = 0; a < sub.axes.size(); ++a) config[sub.axes[a].first] = sub.axes[a].second[digits[a]];
    return config;
  }
  fail_internal(__FILE__, __LINE__, "configuration {} past the sub-grids", index);
}

std::string GridSpace::describe() const {
  std::vector<std::string> parts;
  for (size_t s = 0; s < sub_grids_.size(); ++s) {
    const SubGrid& sub = sub_grids_[s];
    std::vector<std::string> axes;
    for (const auto& [key, values] : sub.axes) axes.push_back(fmt::format("{} {}", key, values.size()));
    const std::string product = axes.empty() ? "no lists" : fmt::format("{}", fmt::join(axes, " x "));
    parts.push_back(sub_grids_.size() > 1 ? fmt::format("[[grid]] {}: {} = {}", s + 1, product, count_text(sub.size))
                                          : fmt::format("{} = {}", product, count_text(sub.size)));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

void GridSpace::check_size(uint64_t limit, const std::string& limit_source) const {
  FBNET_CHECK(size_ <= limit,
              "{}: the grid has {} configurations ({}), more than the {} that {} allows; remove values from its "
              "lists, or raise the limit with --max-configurations or max-configurations in the grid file",
              source_, count_text(size_), describe(), limit, limit_source);
}

}  // namespace fbnet
