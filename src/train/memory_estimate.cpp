// The estimate's arithmetic, the memory available, and the refusal.
#include "train/memory_estimate.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace fbnet {
namespace {

std::string size_text(int64_t bytes) {
  const double mib = static_cast<double>(bytes) / (1 << 20);
  return mib >= 1024 ? fmt::format("{:.2f} GiB", mib / 1024) : fmt::format("{:.1f} MiB", mib);
}

}  // namespace

MemoryEstimate estimate_training_memory(const Graph& graph, const TrainingSettings& training, int64_t data_values) {
  constexpr int64_t kFloat = sizeof(float);
  const int64_t per_sample = activation_values_per_sample(graph);
  MemoryEstimate estimate;
  // The weights, their gradients and the optimiser's state buffers.
  const int buffers = 2 + state_buffer_count(training.optimizer);
  estimate.parameter_bytes = buffers * parameter_count(graph) * kFloat;
  // In double, then clamped: absurd batch sizes must not overflow the product.
  const double activations = static_cast<double>(per_sample) *
                             static_cast<double>(std::max(training.batch_size, training.eval_batch_size) + training.batch_size) * kFloat;
  estimate.activation_bytes = static_cast<int64_t>(std::min(activations, 0x1p62));
  estimate.data_bytes = data_values * kFloat;
  return estimate;
}

std::string MemoryEstimate::describe(const Graph& graph, const TrainingSettings& training) const {
  return fmt::format("{}: parameters {}, activations {} ({} steps, {} values per sample, batch {}, eval batch {}){}",
                     size_text(total()), size_text(parameter_bytes), size_text(activation_bytes), graph.steps,
                     activation_values_per_sample(graph), training.batch_size, training.eval_batch_size,
                     data_bytes > 0 ? fmt::format(", images {}", size_text(data_bytes)) : "");
}

int64_t machine_memory_bytes() {
  int64_t total = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    if (fields >> key >> kib && key == "MemTotal:") total = kib * 1024;
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");  // "max" when unlimited
  int64_t cgroup_limit = 0;
  if (cgroup >> cgroup_limit && cgroup_limit > 0 && (total == 0 || cgroup_limit < total)) total = cgroup_limit;
  return total;
}

void check_memory(const MemoryEstimate& estimate, const Graph& graph, const TrainingSettings& training, int64_t limit_mb) {
  const bool given = limit_mb > 0;
  const int64_t limit = given ? limit_mb * (int64_t{1} << 20) : machine_memory_bytes();
  if (limit == 0) return;  // no limit given and no way to read the machine's: nothing to compare with
  FBNET_CHECK(estimate.total() <= limit,
              "--memory-limit: this run needs about {}, more than the {} {}; lower --steps, --batch-size or "
              "--eval-batch-size, or raise --memory-limit (MiB)",
              estimate.describe(graph, training), size_text(limit),
              given ? "--memory-limit allows" : "this machine has");
}

}  // namespace fbnet
