// Per-sample predictions of a trained model: the probabilities of its last
// readout (the softmax of its logits) and the class it predicts, in the
// order of the set, for `fbnet predict`.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.hpp"
#include "model/model.hpp"
#include "train/batches.hpp"

namespace fbnet {

struct Predictions {
  Tensor<float> probabilities;  // [count, classes], each row sums to 1
  std::vector<int32_t> classes;  // [count]: the arg-max of the logits, as evaluate() scores it
};

// A model that reads out at every step is judged by its last readout, as the
// confusion matrices of evaluate() are.
Predictions predict(Model<float>& model, Batches& set, int64_t batch_size);

}  // namespace fbnet
