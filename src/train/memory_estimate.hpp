// Memory a training run will need, known before anything large is allocated,
// so that a net unrolled over 20,000 steps is refused with the numbers
// instead of meeting the out-of-memory killer.
//   parameters   values, gradients and the optimiser's state buffers: (2 + 1..3) x P floats
//   activations  what backward keeps, per sample: every computed node at every
//                step (graph.hpp activation_values_per_sample), as values at
//                max(batch, eval batch) and as gradients at the batch
//   data         the training, validation, test and noisy test images as floats
#pragma once

#include <cstdint>
#include <string>

#include "config/setting_groups.hpp"
#include "model/graph.hpp"

namespace fbnet {

struct MemoryEstimate {
  int64_t parameter_bytes = 0;
  int64_t activation_bytes = 0;
  int64_t data_bytes = 0;
  int64_t total() const { return parameter_bytes + activation_bytes + data_bytes; }
  // "7.31 GiB: parameters 9.1 MiB, activations 7.28 GiB (20000 steps, ... values per sample, batch 64, eval
  // batch 1000), images 0.53 GiB"; images left out when there are none.
  std::string describe(const Graph& graph, const TrainingSettings& training) const;
};

// data_values: floats of every image set the run holds (0: leave them out).
MemoryEstimate estimate_training_memory(const Graph& graph, const TrainingSettings& training, int64_t data_values);

// The machine's memory in bytes: MemTotal of /proc/meminfo, or the cgroup's
// memory.max where that is lower (a Slurm job, a container); 0 where neither
// can be read. Not what is free now: that changes while grid jobs start.
int64_t machine_memory_bytes();

// Throws fbnet::Error with the estimate and the settings that drive it when it
// exceeds limit_mb MiB (0: the machine's memory).
void check_memory(const MemoryEstimate& estimate, const Graph& graph, const TrainingSettings& training, int64_t limit_mb);

}  // namespace fbnet
