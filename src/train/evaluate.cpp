// Batched evaluation, scored per readout.
#include "train/evaluate.hpp"

#include <algorithm>

#include "model/kernels/log_softmax_nll.hpp"

namespace fbnet {
namespace {

// Sums of hits per readout and of the loss, in batch order.
struct Scores {
  std::vector<int64_t> correct;
  double loss = 0;
  int64_t classes = 0;
  std::vector<int64_t> confusion;  // of the last readout

  void add(const Tensor<float>& logits, const int32_t* labels, int readout) {
    classes = logits.cols();
    for (int64_t b = 0; b < logits.rows(); ++b)
      FBNET_CHECK(labels[b] >= 0 && labels[b] < classes, "evaluate: label {} outside 0..{}", labels[b], classes - 1);
    if (readout + 1 == static_cast<int>(correct.size())) {
      confusion.resize(classes * classes);
      for (int64_t b = 0; b < logits.rows(); ++b) {
        const float* row = logits.row(b);
        confusion[labels[b] * classes + (std::max_element(row, row + classes) - row)] += 1;
      }
    }
    const LossAndCorrect scored = log_softmax_nll<float>(view(logits), labels, MatrixView<float>{nullptr, 0, 0}, 1.0f);
    correct[readout] += scored.correct;
    loss += scored.loss_sum;
  }

  Evaluation finish(int64_t count) const {
    Evaluation result;
    result.count = count;
    result.classes = classes;
    result.confusion = confusion;
    for (int64_t hits : correct) result.accuracy.push_back(count == 0 ? 0.0 : 100.0 * hits / count);
    result.loss = count == 0 ? 0.0 : loss / (count * static_cast<double>(correct.size()));
    return result;
  }
};

}  // namespace

int64_t Evaluation::class_count(int64_t t) const {
  int64_t count_of_t = 0;
  for (int64_t p = 0; p < classes; ++p) count_of_t += confusion[t * classes + p];
  return count_of_t;
}

double Evaluation::class_accuracy(int64_t t) const {
  const int64_t total = class_count(t);
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(confusion[t * classes + t]) / static_cast<double>(total);
}

double Evaluation::mean_accuracy() const {
  double sum = 0;
  for (double value : accuracy) sum += value;
  return accuracy.empty() ? 0.0 : sum / static_cast<double>(accuracy.size());
}

void forward_in_order(Model<float>& model, Batches& set, int64_t batch_size,
                      const std::function<void(const Batches&)>& before_batch,
                      const std::function<void(int64_t begin)>& after_forward) {
  const std::vector<int64_t> order = identity_order(set.count());
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    set.gather(order, begin, std::min(batch_size, set.count() - begin));
    if (before_batch) before_batch(set);
    model.forward(set.inputs(), Mode::kEval, nullptr);
    after_forward(begin);
  }
}

Evaluation evaluate(Model<float>& model, Batches& set, int64_t batch_size,
                    const std::function<void(const Batches&)>& before_batch) {
  Scores scores;
  scores.correct.assign(model.readout_count(), 0);
  forward_in_order(model, set, batch_size, before_batch, [&](int64_t) {
    FBNET_ASSERT(static_cast<int>(set.labels().size()) == model.readout_count(),
                "evaluate: {} label arrays for {} readouts", set.labels().size(), model.readout_count());
    for (int k = 0; k < model.readout_count(); ++k) scores.add(model.logits(k), set.labels()[k], k);
  });
  return scores.finish(set.count());
}

Evaluation evaluate_each_step(Model<float>& one_step_model, Batches& set, int64_t batch_size) {
  FBNET_ASSERT(one_step_model.steps() == 1 && one_step_model.readout_count() == 1,
              "evaluate_each_step: the model takes {} steps and reads out {} times, not one", one_step_model.steps(),
              one_step_model.readout_count());
  const std::vector<int64_t> order = identity_order(set.count());
  const int steps = static_cast<int>(set.inputs().size());
  Scores scores;
  scores.correct.assign(steps, 0);
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    set.gather(order, begin, std::min(batch_size, set.count() - begin));
    for (int p = 0; p < steps; ++p) {
      one_step_model.forward(set.inputs().subspan(p, 1), Mode::kEval, nullptr);
      scores.add(one_step_model.logits(0), set.labels()[p], p);
    }
  }
  return scores.finish(set.count());
}

}  // namespace fbnet
