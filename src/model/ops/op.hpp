// Op: the interface every node of a Graph implements. A new op is a class
// with these methods plus one entry in make_op() and in the OpGradients table
// of tests/unit/gradient_check_test.cpp, which then checks its backward by
// finite differences (and with garbage in the gradient buffers) for free.
//
// Shapes: x [B, input shape...] -> y [B, output shape...]. Gradient buffers
// follow one rule everywhere: the first contribution of a backward pass
// overwrites, later ones add (`accumulate`), so nothing is zeroed per batch.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/random.hpp"
#include "engine/tensor.hpp"
#include "model/graph.hpp"
#include "model/kernels/activation_layout.hpp"
#include "model/model.hpp"
#include "model/parameters.hpp"

namespace fbnet {

struct MatmulFlops {
  int64_t forward = 0;         // per sample
  int64_t parameter_grad = 0;  // per sample, when the op's parameters train
  int64_t input_grad = 0;      // per sample, when the input needs a gradient
};

template <class Scalar>
class Op {
 public:
  virtual ~Op() = default;

  // Per-sample output shape for the per-sample `input` shape (no batch
  // dimension); Graph::validate checks each node's declared shape against it.
  virtual Shape output_shape(const Shape& input) const = 0;
  // Name suffix ("weight") and shape of each parameter, in the order
  // initialize() draws them.
  virtual std::vector<std::pair<std::string, Shape>> parameter_shapes() const { return {}; }
  // Takes this op's parameters from the allocated store; `first` indexes the
  // first of parameter_shapes() in it.
  virtual void bind(ParameterStore<Scalar>& /*store*/, int /*first*/) {}
  // PyTorch's default initialisation for the op's module.
  virtual void initialize(Rng& /*rng*/) {}

  // Whether forward is the identity in `mode`: the node's value is then its
  // input tensor itself, and forward/backward are not called in that mode.
  virtual bool is_identity(Mode /*mode*/) const { return false; }
  // y = op(x). `step` indexes per-step state (a dropout mask); `rng` is the
  // dropout stream in Mode::kTrain.
  virtual void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode mode, Rng* rng, int step) = 0;
  // From dy = dL/dy at `step`: dL/dparameters when `parameter_grads` (written,
  // or added when `accumulate_parameters`), and dL/dx into *dx when dx is set
  // (written, or added when `accumulate_input`). x and y are forward's.
  virtual void backward(const Tensor<Scalar>& x, const Tensor<Scalar>& y, const Tensor<Scalar>& dy,
                        Tensor<Scalar>* dx, bool accumulate_input, bool parameter_grads,
                        bool accumulate_parameters, int step) = 0;

  virtual MatmulFlops matmul_flops() const { return {}; }
  // "Linear(784, 500)"
  virtual std::string describe() const = 0;
};

// An edge's adapter: an op from the source's shape to the target's whose
// output is added, scaled by the edge's alpha, onto the target's value. The
// scale lives inside the products (as in y += alpha (x W^T + b)), so the
// rounding is that of one fused product, not of a product then a sum.
template <class Scalar>
class Adapter : public Op<Scalar> {
 public:
  // target (+)= scale * op(x)
  virtual void forward_add(const Tensor<Scalar>& x, Tensor<Scalar>& target, Scalar scale) = 0;
  // From d_target: parameter gradients of scale * op when `parameter_grads`
  // (written, or added when `accumulate_parameters`), and dL/dx into *dx when
  // set (written, or added when `accumulate_input`).
  virtual void backward_add(const Tensor<Scalar>& x, const Tensor<Scalar>& d_target, Tensor<Scalar>* dx, Scalar scale,
                            bool accumulate_input, bool parameter_grads, bool accumulate_parameters) = 0;
};

// The op of an op node (not an input node) of `graph`. `layouts` says how each node's values lie
// (model/activation_layouts.hpp); empty: plain everywhere.
template <class Scalar>
std::unique_ptr<Op<Scalar>> make_op(const Graph& graph, int node, std::span<const ActivationLayout> layouts = {});
// The adapter of an edge (a Linear or a conv): source shape -> target shape.
template <class Scalar>
std::unique_ptr<Adapter<Scalar>> make_adapter(const Graph& graph, int edge, std::span<const ActivationLayout> layouts = {});

}  // namespace fbnet
