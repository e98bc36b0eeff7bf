// Evaluation of a network on a labelled set, in evaluation mode (no dropout).
#pragma once

#include "model/network.hpp"
#include "train/prepared_data.hpp"

namespace fbnet {

struct EvalResult {
  double loss = 0;      // mean NLL
  double accuracy = 0;  // percent
  int64_t count = 0;
};

EvalResult evaluate(Network<float>& network, const LabeledImages& set, int64_t batch_size);

// Copies rows `order[begin, begin + batch)` of `set` into `images` [batch, D] and `labels`.
void gather_batch(const LabeledImages& set, const std::vector<int64_t>& order, int64_t begin, int64_t batch,
                  Tensor<float>& images, std::vector<int32_t>& labels);

}  // namespace fbnet
