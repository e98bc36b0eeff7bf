// The LSTM's forward pass over a sequence and backpropagation through time.
#include "model/lstm.hpp"

#include <cmath>

#include "engine/random.hpp"
#include "model/kernels/linear.hpp"

namespace fbnet {
namespace {

template <class Scalar>
Scalar sigmoid(Scalar z) {
  return Scalar{1} / (Scalar{1} + std::exp(-z));
}

}  // namespace

int64_t lstm_parameter_count(int64_t input_size, int64_t hidden_size, int64_t classes) {
  const int64_t gates = 4 * hidden_size;
  return gates * input_size + gates * hidden_size + 2 * gates + classes * hidden_size + classes;
}

template <class Scalar>
LstmClassifier<Scalar>::LstmClassifier(int64_t input_size, int64_t hidden_size, int64_t classes, int steps)
    : input_size_(input_size), hidden_size_(hidden_size), classes_(classes), steps_(steps) {
  FBNET_CHECK(input_size > 0 && hidden_size > 0 && classes > 0,
              "LstmClassifier: sizes must be positive, got input {}, hidden {}, classes {}", input_size, hidden_size,
              classes);
  FBNET_CHECK(steps > 0, "LstmClassifier: steps must be positive, got {}", steps);
  const int64_t gates = 4 * hidden_size;
  const int weight_ih = parameters_.declare("lstm.weight_ih_l0", {gates, input_size});
  const int weight_hh = parameters_.declare("lstm.weight_hh_l0", {gates, hidden_size});
  const int bias_ih = parameters_.declare("lstm.bias_ih_l0", {gates});
  const int bias_hh = parameters_.declare("lstm.bias_hh_l0", {gates});
  const int readout_weight = parameters_.declare("readout.weight", {classes, hidden_size});
  const int readout_bias = parameters_.declare("readout.bias", {classes});
  parameters_.allocate();
  input_to_gates_ = parameters_.linear(weight_ih, bias_ih);
  hidden_to_gates_ = parameters_.linear(weight_hh, bias_hh);
  readout_ = parameters_.linear(readout_weight, readout_bias);

  inputs_.assign(steps, nullptr);
  gates_.resize(steps);
  cells_.resize(steps + 1);
  hidden_.resize(steps + 1);
  logits_.resize(steps);
  logit_grads_.resize(steps);
}

template <class Scalar>
void LstmClassifier<Scalar>::initialize(uint64_t seed) {
  // Every tensor has the same bound (the readout's fan-in is H), so one pass
  // over the flat buffer draws them in parameter order.
  Rng rng(seed, kInitStream);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  for (Scalar& value : parameters_.values()) value = static_cast<Scalar>(rng.uniform(-bound, bound));
}

template <class Scalar>
void LstmClassifier<Scalar>::forward(std::span<const Tensor<Scalar>* const> inputs, Mode, Rng*) {
  FBNET_ASSERT(static_cast<int>(inputs.size()) == steps_, "LstmClassifier::forward: expected {} step inputs, got {}",
              steps_, inputs.size());
  batch_ = inputs[0]->rows();
  has_forward_ = false;
  has_loss_ = false;
  const int64_t H = hidden_size_;
  hidden_[0].resize({batch_, H});
  hidden_[0].fill(Scalar{0});
  cells_[0].resize({batch_, H});
  cells_[0].fill(Scalar{0});

  for (int t = 0; t < steps_; ++t) {
    const Tensor<Scalar>& x = *inputs[t];
    FBNET_ASSERT(x.shape == Shape({batch_, input_size_}),
                "LstmClassifier::forward: step {} input has shape {}, expected [{}, {}]", t, shape_string(x.shape),
                batch_, input_size_);
    inputs_[t] = &x;
    // z = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  [B, 4H]
    Tensor<Scalar>& gates = gates_[t];
    gates.resize({batch_, 4 * H});
    linear_forward<Scalar>(view(x), input_to_gates_, view(gates));
    linear_forward<Scalar>(view(hidden_[t]), hidden_to_gates_, view(gates), Scalar{1}, /*accumulate=*/true);

    // The gate nonlinearities in place, then the new cell and hidden state.
    Tensor<Scalar>& cell = cells_[t + 1];
    Tensor<Scalar>& hidden = hidden_[t + 1];
    cell.resize({batch_, H});
    hidden.resize({batch_, H});
    for (int64_t b = 0; b < batch_; ++b) {
      Scalar* z = gates.row(b);
      const Scalar* c_prev = cells_[t].row(b);
      Scalar* c = cell.row(b);
      Scalar* h = hidden.row(b);
      for (int64_t j = 0; j < H; ++j) {
        const Scalar i = z[j] = sigmoid(z[j]);
        const Scalar f = z[H + j] = sigmoid(z[H + j]);
        const Scalar g = z[2 * H + j] = std::tanh(z[2 * H + j]);
        const Scalar o = z[3 * H + j] = sigmoid(z[3 * H + j]);
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * std::tanh(c[j]);
      }
    }
    logits_[t].resize({batch_, classes_});
    linear_forward<Scalar>(view(hidden), readout_, view(logits_[t]));
  }
  has_forward_ = true;
}

template <class Scalar>
const Tensor<Scalar>& LstmClassifier<Scalar>::logits(int step) const {
  FBNET_ASSERT(has_forward_, "LstmClassifier::logits: no forward yet");
  FBNET_ASSERT(step >= 0 && step < steps_, "LstmClassifier::logits: step {} outside 0..{}", step, steps_ - 1);
  return logits_[step];
}

template <class Scalar>
LossAndCorrect LstmClassifier<Scalar>::loss(std::span<const int32_t* const> labels) {
  FBNET_ASSERT(has_forward_, "LstmClassifier::loss: no forward yet");
  FBNET_ASSERT(static_cast<int>(labels.size()) == steps_, "LstmClassifier::loss: expected labels for {} steps, got {}",
              steps_, labels.size());
  // Mean over the batch and over steps.
  const Scalar grad_scale = static_cast<Scalar>(1.0 / (static_cast<double>(batch_) * steps_));
  LossAndCorrect total;
  for (int t = 0; t < steps_; ++t) {
    for (int64_t b = 0; b < batch_; ++b)
      FBNET_CHECK(labels[t][b] >= 0 && labels[t][b] < classes_, "LstmClassifier::loss: label {} outside 0..{}",
                  labels[t][b], classes_ - 1);
    logit_grads_[t].resize(logits_[t].shape);
    const LossAndCorrect step = log_softmax_nll<Scalar>(view(logits_[t]), labels[t], view(logit_grads_[t]), grad_scale);
    total.loss_sum += step.loss_sum;
    total.correct += step.correct;
  }
  total.loss_sum /= steps_;
  has_loss_ = true;
  return total;
}

template <class Scalar>
void LstmClassifier<Scalar>::backward(const GradientsReady& on_ready) {
  FBNET_ASSERT(has_loss_, "LstmClassifier::backward: needs loss() of the last forward");
  const int64_t H = hidden_size_;
  const MatrixView<Scalar> no_dx{nullptr, 0, 0};
  // d_hidden_ = dL/dh_t and d_cell_ = dL/dc_t through the later steps; zero
  // after the last step.
  d_hidden_.resize({batch_, H});
  d_hidden_.fill(Scalar{0});
  d_cell_.resize({batch_, H});
  d_cell_.fill(Scalar{0});
  d_gates_.resize({batch_, 4 * H});

  for (int t = steps_ - 1; t >= 0; --t) {
    // Weights are shared across steps: the last step's contribution overwrites
    // the gradients, earlier ones accumulate.
    const bool accumulate = t != steps_ - 1;
    // Readout: dh_t += dlogits_t W_r.
    linear_backward<Scalar>(view(hidden_[t + 1]), readout_, view(logit_grads_[t]), view(d_hidden_), Scalar{1},
                            /*accumulate_dx=*/true, accumulate);
    // Through h_t = o tanh(c_t) and c_t = f c_{t-1} + i g to dL/dz [B, 4H];
    // d_cell_ becomes dL/dc_{t-1} = dc_t * f.
    for (int64_t b = 0; b < batch_; ++b) {
      const Scalar* gate = gates_[t].row(b);
      const Scalar* c = cells_[t + 1].row(b);
      const Scalar* c_prev = cells_[t].row(b);
      const Scalar* dh = d_hidden_.row(b);
      Scalar* dc = d_cell_.row(b);
      Scalar* dz = d_gates_.row(b);
      for (int64_t j = 0; j < H; ++j) {
        const Scalar i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
        const Scalar tanh_c = std::tanh(c[j]);
        const Scalar d_c = dc[j] + dh[j] * o * (Scalar{1} - tanh_c * tanh_c);
        dz[j] = d_c * g * i * (Scalar{1} - i);
        dz[H + j] = d_c * c_prev[j] * f * (Scalar{1} - f);
        dz[2 * H + j] = d_c * i * (Scalar{1} - g * g);
        dz[3 * H + j] = dh[j] * tanh_c * o * (Scalar{1} - o);
        dc[j] = d_c * f;
      }
    }
    // z = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh: parameter gradients, and
    // d_hidden_ = dL/dh_{t-1} = dz W_hh (h_{-1} = 0 is a constant: none at t = 0).
    linear_backward<Scalar>(view(*inputs_[t]), input_to_gates_, view(d_gates_), no_dx, Scalar{1}, false, accumulate);
    linear_backward<Scalar>(view(hidden_[t]), hidden_to_gates_, view(d_gates_), t > 0 ? view(d_hidden_) : no_dx,
                            Scalar{1}, /*accumulate_dx=*/false, accumulate);
  }
  if (on_ready) on_ready(0, static_cast<int64_t>(parameters_.values().size()));
}

template class LstmClassifier<float>;
template class LstmClassifier<double>;

}  // namespace fbnet
