// Live progress line, drawn with a carriage return and an erase-line escape.
#include "train/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace fbnet {

Progress::Progress(ProgressMode mode, std::string label)
    : live_(mode == ProgressMode::kAlways || (mode == ProgressMode::kAuto && ::isatty(STDERR_FILENO))),
      label_(std::move(label)) {}

void Progress::batch(int epoch, int epochs, int64_t batch, int64_t batches, double mean_loss, double accuracy,
                     double samples_per_second, double eta_seconds) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (batch != batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  fmt::print(stderr, "\r\033[K{} epoch {}/{} batch {}/{}  loss {:.4f}  acc {:.2f}%  {:.0f} samples/s  ETA {}", label_,
             epoch, epochs, batch, batches, mean_loss, accuracy, samples_per_second, format_duration(eta_seconds));
  std::fflush(stderr);
}

void Progress::line(const std::string& text) {
  if (live_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  fmt::print("{}\n", text);
  std::fflush(stdout);
}

std::string format_duration(double seconds) {
  const int64_t total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fbnet
