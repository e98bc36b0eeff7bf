// The benchmarks' timer: the median of 7 trials, each enough back-to-back
// runs to last about 20 ms, so that a short kernel is not timed by the clock's
// resolution and one trial slowed by the VM's neighbours does not count.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace fbnet {

// Median seconds of one run_once().
template <class Run>
double median_seconds(Run&& run_once) {
  using Clock = std::chrono::steady_clock;
  int repetitions = 1;
  for (;; repetitions *= 2) {
    const auto start = Clock::now();
    for (int r = 0; r < repetitions; ++r) run_once();
    if (std::chrono::duration<double>(Clock::now() - start).count() > 0.02) break;
  }
  std::vector<double> trials;
  for (int trial = 0; trial < 7; ++trial) {
    const auto start = Clock::now();
    for (int r = 0; r < repetitions; ++r) run_once();
    trials.push_back(std::chrono::duration<double>(Clock::now() - start).count() / repetitions);
  }
  std::sort(trials.begin(), trials.end());
  return trials[trials.size() / 2];
}

}  // namespace fbnet
