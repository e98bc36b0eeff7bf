// The one evaluator: any model on any batches, in evaluation mode (no
// dropout), scored per readout. Experiment 1 reads the mean over readouts
// (its nets have one), experiment 2 the accuracy at each position.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.hpp"
#include "train/batches.hpp"

namespace fbnet {

struct Evaluation {
  std::vector<double> accuracy;  // [readout], percent of samples
  double loss = 0;               // mean NLL over samples and readouts
  int64_t count = 0;             // samples
  double mean_accuracy() const;  // over readouts
};

// `before_batch` (optional) runs after each batch is gathered and before its
// forward, e.g. to set the batch's swap partners.
Evaluation evaluate(Model<float>& model, Batches& set, int64_t batch_size,
                    const std::function<void(const Batches&)>& before_batch = nullptr);
// A one-step model applied to each step's input on its own, scored against
// that step's labels: the FF control of experiment 2.
Evaluation evaluate_each_step(Model<float>& one_step_model, Batches& set, int64_t batch_size);

}  // namespace fbnet
