// LstmClassifier: the recurrent baseline of experiment 2 (a sequence of images,
// a class readout at every position). One LSTM layer, then a Linear readout of
// the hidden state at every step, trained by backpropagation through time.
//
// Per step t (x_t [B, in]; h_{-1} = c_{-1} = 0; sigma the logistic function):
//   z   = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          [B, 4H]
//   i, f, g, o = sigma(z_i), sigma(z_f), tanh(z_g), sigma(z_o)   (column blocks of H)
//   c_t = f * c_{t-1} + i * g                               [B, H]
//   h_t = o * tanh(c_t)                                     [B, H]
//   logits_t = h_t W_r^T + b_r                              [B, classes]
// The gate order (i, f, g, o) and the parameter names are torch.nn.LSTM's, so
// a model file loads into a module with `lstm = nn.LSTM(in, H)` and
// `readout = nn.Linear(H, classes)`. The loss is the mean NLL of the
// log-softmax of the logits, averaged over steps, as Network's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.hpp"
#include "model/kernels/log_softmax_nll.hpp"
#include "model/model.hpp"
#include "model/parameters.hpp"

namespace fbnet {

template <class Scalar>
class LstmClassifier final : public Model<Scalar> {
 public:
  using typename Model<Scalar>::GradientsReady;

  LstmClassifier(int64_t input_size, int64_t hidden_size, int64_t classes, int steps);

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t classes() const { return classes_; }
  int steps() const override { return steps_; }
  int readout_count() const override { return steps_; }
  ParameterStore<Scalar>& parameters() override { return parameters_; }
  const ParameterStore<Scalar>& parameters() const override { return parameters_; }

  // PyTorch's defaults: every LSTM weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)),
  // and the readout as nn.Linear(H, classes), U(-1/sqrt(H), 1/sqrt(H)) too;
  // drawn from Rng(seed, kInitStream) in parameter order.
  void initialize(uint64_t seed) override;

  // inputs: one [B, input_size] tensor per step (h_0 = c_0 = 0). No dropout:
  // training and evaluation run alike.
  void forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng) override;
  // Logits [B, classes] of `step` in the last forward.
  const Tensor<Scalar>& logits(int step) const override;

  // labels: one array of B labels per step. The loss of the last forward as
  // Network::loss reports it (loss_sum: summed over the batch, averaged over
  // steps; correct: summed over steps); keeps dL/dlogits for backward().
  LossAndCorrect loss(std::span<const int32_t* const> labels) override;

  // Backpropagation through time: writes dL/dparameters into
  // parameters().grads(), replacing what was there, then reports the whole
  // store ready (every gradient is final only at t = 0). Needs loss() of the
  // last forward, whose inputs must still be alive.
  void backward(const GradientsReady& on_ready = nullptr) override;

 private:
  int64_t input_size_, hidden_size_, classes_;
  int steps_;
  ParameterStore<Scalar> parameters_;
  LinearParameters<Scalar> input_to_gates_;   // W_ih [4H, in], b_ih [4H]
  LinearParameters<Scalar> hidden_to_gates_;  // W_hh [4H, H], b_hh [4H]
  LinearParameters<Scalar> readout_;          // W_r [classes, H], b_r [classes]

  // Caches of the last forward. States are indexed by the number of steps
  // taken: hidden_[0] = cells_[0] = 0, hidden_[t + 1] = h_t, cells_[t + 1] = c_t.
  int64_t batch_ = 0;
  std::vector<const Tensor<Scalar>*> inputs_;  // [step] -> x_t
  std::vector<Tensor<Scalar>> gates_;          // [step] -> (i, f, g, o) after their nonlinearities [B, 4H]
  std::vector<Tensor<Scalar>> cells_;          // [steps + 1] of [B, H]
  std::vector<Tensor<Scalar>> hidden_;         // [steps + 1] of [B, H]
  std::vector<Tensor<Scalar>> logits_;         // [step] -> [B, classes]
  std::vector<Tensor<Scalar>> logit_grads_;    // [step] -> dL/dlogits_t, set by loss()
  bool has_forward_ = false;
  bool has_loss_ = false;
  // Backward buffers [B, H] and [B, 4H].
  Tensor<Scalar> d_hidden_, d_cell_, d_gates_;
};

// Parameters of LstmClassifier, as torch counts nn.LSTM(in, H) + nn.Linear(H, classes).
int64_t lstm_parameter_count(int64_t input_size, int64_t hidden_size, int64_t classes);

}  // namespace fbnet
