// Batched evaluation and batch gathering.
#include "train/evaluate.hpp"

#include <algorithm>
#include <numeric>

namespace fbnet {

void gather_batch(const LabeledImages& set, const std::vector<int64_t>& order, int64_t begin, int64_t batch,
                  Tensor<float>& images, std::vector<int32_t>& labels) {
  const int64_t width = set.images.cols();
  images.resize({batch, width});
  labels.resize(batch);
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t index = order[begin + i];
    std::copy_n(set.images.row(index), width, images.row(i));
    labels[i] = set.labels[index];
  }
}

EvalResult evaluate(Network<float>& network, const LabeledImages& set, int64_t batch_size) {
  const int steps = network.architecture().steps;
  std::vector<int64_t> order(set.count());
  std::iota(order.begin(), order.end(), int64_t{0});
  Tensor<float> images;
  std::vector<int32_t> labels;
  std::vector<const Tensor<float>*> step_inputs(steps, &images);
  std::vector<const int32_t*> step_labels(network.readout_count());
  EvalResult result;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    const int64_t batch = std::min(batch_size, set.count() - begin);
    gather_batch(set, order, begin, batch, images, labels);
    network.forward(step_inputs, Mode::kEval, nullptr);
    std::fill(step_labels.begin(), step_labels.end(), labels.data());
    const LossAndCorrect batch_result = network.loss(step_labels);
    result.loss += batch_result.loss_sum;
    correct += batch_result.correct;
  }
  result.count = set.count();
  const double predictions = static_cast<double>(set.count()) * network.readout_count();
  if (set.count() == 0) return result;  // e.g. --validation-size 0: nothing to measure
  result.loss /= set.count();
  result.accuracy = 100.0 * correct / predictions;
  return result;
}

}  // namespace fbnet
