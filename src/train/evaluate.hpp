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
  int64_t classes = 0;
  // Samples of true class t predicted (argmax of the logits) as class p, at
  // the last readout: [t * classes + p].
  std::vector<int64_t> confusion;
  double mean_accuracy() const;  // over readouts
  // Percent of the samples of class t that were predicted right, at the last readout (0 for an absent class).
  double class_accuracy(int64_t t) const;
  int64_t class_count(int64_t t) const;
};

// Runs `model` in evaluation mode over `set` in order, `batch_size` samples at
// a time; `before_batch` (optional) runs after each batch is gathered and
// before its forward (e.g. to set the batch's swap partners), `after_forward`
// after it, given the batch's first sample.
void forward_in_order(Model<float>& model, Batches& set, int64_t batch_size,
                      const std::function<void(const Batches&)>& before_batch,
                      const std::function<void(int64_t begin)>& after_forward);

// Scores forward_in_order's logits; `before_batch` as there.
Evaluation evaluate(Model<float>& model, Batches& set, int64_t batch_size,
                    const std::function<void(const Batches&)>& before_batch = nullptr);
// A one-step model applied to each step's input on its own, scored against
// that step's labels: the FF control of experiment 2.
Evaluation evaluate_each_step(Model<float>& one_step_model, Batches& set, int64_t batch_size);

}  // namespace fbnet
