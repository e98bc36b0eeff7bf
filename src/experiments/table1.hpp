// The report's Table 1: FF, FF large and FB trained with the hyperparameters
// the report chose (NOTES.md), each for `seeds` seeds, evaluated on clean and
// noisy test images, and tabulated beside the report's own numbers.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fbnet {

struct Table1Options {
  std::string out = "runs/table1";
  int seeds = 1;
  // Settings applied to every run (dataset, epochs, threads, ...), as flags give them.
  std::vector<std::pair<std::string, std::string>> settings;
};

// Trains what is missing (finished runs are reused, interrupted ones resumed),
// prints the table and writes OUT/table1.md and OUT/table1.csv.
void reproduce_table1(const Table1Options& options);

}  // namespace fbnet
