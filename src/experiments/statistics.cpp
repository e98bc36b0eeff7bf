// Mean, standard deviation and t-based confidence intervals.
#include "experiments/statistics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fbnet {

double student_t_975(int df) {
  // Exact to 3 decimals for df <= 30; the normal quantile beyond.
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0;
  return df <= 30 ? table[df - 1] : 1.960;
}

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.count = static_cast<int>(values.size());
  if (values.empty()) return s;
  for (double v : values) s.mean += v / values.size();
  if (values.size() < 2) return s;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / (values.size() - 1));
  s.ci95_half = student_t_975(s.count - 1) * s.std / std::sqrt(static_cast<double>(s.count));
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::vector<double> paired_differences(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> differences;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) differences.push_back(a[k] - b[k]);
  return differences;
}

std::string mean_std_text(const Summary& s) {
  return s.count > 1 ? fmt::format("{:.2f} ± {:.2f} %", s.mean, s.std) : fmt::format("{:.2f} %", s.mean);
}

std::string mean_ci_text(const Summary& s) {
  return s.count > 1 ? fmt::format("{:+.2f} [{:+.2f}, {:+.2f}]", s.mean, s.mean - s.ci95_half, s.mean + s.ci95_half)
                     : fmt::format("{:+.2f}", s.mean);
}

}  // namespace fbnet
