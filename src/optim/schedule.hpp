// Learning-rate schedules, stepped once per epoch as PyTorch's schedulers are
// (scheduler.step() after each epoch), in their closed forms. With e = epoch - 1
// the epochs already trained, E the run's epochs and W the warmup epochs:
//   warmup   e < W:  base * (e + 1) / (W + 1)             LinearLR(start_factor=1/(W+1), total_iters=W)
//   then, with k = e - W:
//   constant base
//   step     base * gamma^floor(k / step_epochs)          StepLR(step_size, gamma)
//   cosine   base * (1 + cos(pi * k / (E - W))) / 2       CosineAnnealingLR(T_max=E-W, eta_min=0)
// (warmup then the schedule is SequentialLR(..., milestones=[W])).
#pragma once

#include <cmath>
#include <numbers>

namespace fbnet {

enum class ScheduleKind { kConstant, kStep, kCosine };

struct ScheduleSettings {
  ScheduleKind kind = ScheduleKind::kConstant;
  int step_epochs = 10;  // step: epochs between decays
  double gamma = 0.1;    // step: the factor of each decay
  int warmup_epochs = 0;
};

// The rate of `epoch` (1-based) of a run of `epochs` epochs.
inline double scheduled_learning_rate(double base, const ScheduleSettings& schedule, int epoch, int epochs) {
  const int trained = epoch - 1;
  const int warmup = schedule.warmup_epochs;
  if (trained < warmup) return base * (trained + 1) / (warmup + 1);
  const int since_warmup = trained - warmup;
  switch (schedule.kind) {
    case ScheduleKind::kConstant: return base;
    case ScheduleKind::kStep: return base * std::pow(schedule.gamma, since_warmup / schedule.step_epochs);
    case ScheduleKind::kCosine: return base * (1 + std::cos(std::numbers::pi * since_warmup / (epochs - warmup))) / 2;
  }
  return base;
}

}  // namespace fbnet
