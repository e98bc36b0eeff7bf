// The configurations of a grid file, counted from the lengths of its lists
// before any is built, and built one at a time from their position: a grid
// whose lists multiply to 10^8 is refused in microseconds, and one that is
// allowed never holds more than the configuration at hand.
//
// A grid file is a config file (TOML or JSON) where
//   - a list value is an axis: learning-rate = [0.01, 0.02]
//     (hidden, itself a list, is an axis when it is a list of lists);
//   - [[grid]] tables (JSON: "grid": [...]) are sub-grids whose axes combine
//     only among themselves, over the file's shared top-level settings; the
//     configurations are the union over sub-grids, in file order, each
//     sub-grid's last axis varying fastest;
//   - max-configurations = N raises (or lowers) the size limit, 100,000 by
//     default (--max-configurations overrides it);
//   - a [slurm] table holds the options of `fbnet grid --slurm` (grid_slurm.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fbnet {

// The limit when neither the grid file nor --max-configurations sets one.
inline constexpr uint64_t kDefaultMaxConfigurations = 100000;

class GridSpace {
 public:
  // Reads the structure of `document` (the grid file `source`): its sub-grids
  // and their axes. Throws fbnet::Error naming the file and key of a
  // malformed grid. Settings are not checked here (expand_grid does).
  GridSpace(const nlohmann::json& document, std::string source);

  // The number of configurations, the product of each sub-grid's list
  // lengths summed over sub-grids; kTooMany when that overflows 64 bits.
  uint64_t size() const { return size_; }
  static constexpr uint64_t kTooMany = UINT64_MAX;

  // The settings of configuration `index` (0 <= index < size()), as the file
  // spells them: shared settings, then the axes' values, in file order.
  nlohmann::ordered_json configuration(uint64_t index) const;

  // The limit the file sets (max-configurations), or 0 when it sets none.
  uint64_t file_limit() const { return file_limit_; }

  // Throws fbnet::Error when size() exceeds `limit`, giving the count and the
  // axes that make it; `limit_source` names where the limit came from.
  void check_size(uint64_t limit, const std::string& limit_source) const;

  // "learning-rate 4 x momentum 3 x batch-size 2 = 24; model 2 = 2" style text, one part per sub-grid.
  std::string describe() const;

 private:
  struct SubGrid {
    nlohmann::ordered_json base;  // the settings every configuration of the sub-grid shares
    std::vector<std::pair<std::string, nlohmann::ordered_json>> axes;
    uint64_t size = 1;  // the product of the axes' lengths, or kTooMany
  };
  std::string source_;
  std::vector<SubGrid> sub_grids_;
  uint64_t size_ = 0;
  uint64_t file_limit_ = 0;
};

// The keys of a grid file that are not settings of its runs.
bool is_grid_file_key(const std::string& key);

}  // namespace fbnet
