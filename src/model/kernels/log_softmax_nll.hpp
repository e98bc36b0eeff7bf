// Log-softmax followed by the negative log-likelihood, fused: the loss head of
// every readout step (torch: F.nll_loss(F.log_softmax(logits), labels)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/parallel.hpp"
#include "engine/tensor.hpp"

namespace fbnet {

struct LossAndCorrect {
  double loss_sum = 0;  // sum over the batch of -log p(label)
  int64_t correct = 0;  // rows whose arg-max is the label
};

// log(sum_c exp(row[c])) of a row of `cols` logits, taken from the largest so that no exp overflows.
template <class Scalar>
double log_sum_exp(const Scalar* row, int64_t cols) {
  const double max_logit = *std::max_element(row, row + cols);
  double sum_exp = 0;
  for (int64_t c = 0; c < cols; ++c) sum_exp += std::exp(double(row[c]) - max_logit);
  return max_logit + std::log(sum_exp);
}

// logits[B, C], labels[B] in 0..C-1. When d_logits.data is set, writes
//   d_logits[B, C] = grad_scale * (softmax(logits) - onehot(labels))
// the gradient of grad_scale * sum_b NLL_b.
template <class Scalar>
LossAndCorrect log_softmax_nll(MatrixView<const Scalar> logits, const int32_t* labels, MatrixView<Scalar> d_logits,
                               Scalar grad_scale) {
  // Rows on the compute threads, each row's loss kept; then the sum in row order, as on one thread.
  std::vector<double> row_loss(logits.rows);
  std::vector<char> row_correct(logits.rows);
  parallel_rows(logits.rows, logits.cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Scalar* row = logits.data + r * logits.cols;
      const int64_t best = std::max_element(row, row + logits.cols) - row;
      const double row_log_sum_exp = log_sum_exp(row, logits.cols);
      const int32_t label = labels[r];
      row_loss[r] = row_log_sum_exp - double(row[label]);
      row_correct[r] = best == label;
      if (d_logits.data == nullptr) continue;
      Scalar* grad_row = d_logits.data + r * d_logits.cols;
      for (int64_t c = 0; c < logits.cols; ++c)
        grad_row[c] = static_cast<Scalar>(grad_scale * std::exp(double(row[c]) - row_log_sum_exp));
      grad_row[label] -= grad_scale;
    }
  });
  LossAndCorrect result;
  for (int64_t r = 0; r < logits.rows; ++r) {
    result.loss_sum += row_loss[r];
    result.correct += row_correct[r];
  }
  return result;
}

}  // namespace fbnet
