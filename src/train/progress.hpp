// Progress of a training run: on a terminal a live line (epoch, batch, loss,
// accuracy, samples/s, ETA) redrawn in place on stderr; elsewhere only the
// per-epoch lines, so that logs stay readable.
#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"

namespace fbnet {

class Progress {
 public:
  Progress(ProgressMode mode, std::string label);

  // Redraws the live line at most ten times a second.
  void batch(int epoch, int epochs, int64_t batch, int64_t batches, double mean_loss, double accuracy,
             double samples_per_second, double eta_seconds);
  // Clears the live line and prints `line` on stdout.
  void line(const std::string& text);

 private:
  bool live_;
  std::string label_;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_duration(double seconds);
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace fbnet
