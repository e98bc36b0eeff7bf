// Softmax of the last readout over a set, batch by batch.
#include "train/predict.hpp"

#include <algorithm>
#include <cmath>

#include "model/kernels/log_softmax_nll.hpp"
#include "train/evaluate.hpp"

namespace fbnet {

Predictions predict(Model<float>& model, Batches& set, int64_t batch_size) {
  Predictions result;
  result.classes.resize(set.count());
  forward_in_order(model, set, batch_size, nullptr, [&](int64_t begin) {
    const Tensor<float>& logits = model.logits(model.readout_count() - 1);  // [batch, classes]
    if (result.probabilities.shape.empty()) result.probabilities.resize({set.count(), logits.cols()});
    for (int64_t b = 0; b < logits.rows(); ++b) {
      const float* row = logits.row(b);
      const double row_log_sum_exp = log_sum_exp(row, logits.cols());
      float* probabilities = result.probabilities.row(begin + b);
      for (int64_t c = 0; c < logits.cols(); ++c)
        probabilities[c] = static_cast<float>(std::exp(double(row[c]) - row_log_sum_exp));
      result.classes[begin + b] = static_cast<int32_t>(std::max_element(row, row + logits.cols()) - row);
    }
  });
  return result;
}

}  // namespace fbnet
