// Model: what training and evaluation need of a network, whatever it is (a
// Graph's Network, the LSTM baseline), so that one trainer and one evaluator
// serve every model. A forward takes one [B, input] tensor per step and
// produces logits [B, classes] at each readout; the loss is the mean NLL of
// their log-softmax over the batch and the readouts.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "engine/random.hpp"
#include "engine/tensor.hpp"
#include "model/kernels/log_softmax_nll.hpp"
#include "model/parameters.hpp"

namespace fbnet {

enum class Mode { kTrain, kEval };

// The random stream of initialisation (engine/random.hpp lists every stream).
inline constexpr uint64_t kInitStream = 1;

template <class Scalar>
class Model {
 public:
  // Called by backward() with a [begin, end) range of parameters().values()
  // as soon as the gradients of that range are final, so that an optimiser
  // can update them while they are still in cache.
  using GradientsReady = std::function<void(int64_t begin, int64_t end)>;

  virtual ~Model() = default;

  virtual ParameterStore<Scalar>& parameters() = 0;
  virtual const ParameterStore<Scalar>& parameters() const = 0;
  virtual int steps() const = 0;          // input tensors per forward
  virtual int readout_count() const = 0;  // logits (and label arrays) per forward

  // PyTorch's default initialisation, drawn from Rng(seed, kInitStream).
  virtual void initialize(uint64_t seed) = 0;
  // `dropout_rng` is needed in Mode::kTrain by models with dropout.
  virtual void forward(std::span<const Tensor<Scalar>* const> inputs, Mode mode, Rng* dropout_rng) = 0;
  virtual const Tensor<Scalar>& logits(int readout) const = 0;
  // labels: one array of B labels per readout. The loss of the last forward
  // (loss_sum: summed over the batch, averaged over readouts; correct: summed
  // over readouts); keeps dL/dlogits for backward().
  virtual LossAndCorrect loss(std::span<const int32_t* const> labels) = 0;
  // Writes dL/dparameters into parameters().grads(), replacing what was there
  // (no zero_grad needed), and reports each trainable range once. Needs
  // loss() of the last forward, a Mode::kTrain one whose inputs are alive.
  virtual void backward(const GradientsReady& on_ready = nullptr) = 0;
};

}  // namespace fbnet
