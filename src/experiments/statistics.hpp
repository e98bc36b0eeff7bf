// Summary statistics over seeds: mean, sample standard deviation, and the 95%
// confidence interval of a mean (Student's t), used for paired differences.
#pragma once

#include <string>
#include <vector>

namespace fbnet {

struct Summary {
  int count = 0;
  double mean = 0;
  double std = 0;          // sample standard deviation (n - 1); 0 for one value
  double ci95_half = 0;    // half-width of the 95% CI of the mean; 0 for one value
};

Summary summarize(const std::vector<double>& values);

// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
double student_t_975(int df);

// The upper median (the middle value, or the higher of the two middle ones); 0 for none.
double median(std::vector<double> values);
// a[k] - b[k] for the seeds both have: paired differences over seeds.
std::vector<double> paired_differences(const std::vector<double>& a, const std::vector<double>& b);

// "91.20 ± 0.31 %" (one value: "91.20 %"), for accuracies over seeds.
std::string mean_std_text(const Summary& s);
// "+1.20 [+0.50, +1.90]" (one value: "+1.20"), for paired differences.
std::string mean_ci_text(const Summary& s);

}  // namespace fbnet
