// LinearOp: y = x W^T + b as a graph op and as an edge adapter (torch.nn.Linear:
// W [out, in], b [out], both ~ U(-1/sqrt(in), 1/sqrt(in)) at initialisation).
// x and y may have any per-sample shape of `in` and `out` values: a Linear
// reads and writes them flat, [B, values per sample].
//   forward       x [B, in] -> y [B, out]
//   backward      dy [B, out] -> dW [out, in] (+)= dy^T x, db [out] (+)= sum_B dy, dx [B, in] (+)= dy W
//   forward_add   target [B, out] += scale * (x W^T + b)
//   backward_add  d_target [B, out] -> the same three, each scaled by `scale`
#pragma once

#include <cmath>

#include <fmt/format.h>

#include "model/kernels/linear.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class LinearOp final : public Adapter<Scalar> {
 public:
  LinearOp(int64_t in, int64_t out) : in_(in), out_(out) {}

  Shape output_shape(const Shape&) const override { return {out_}; }
  std::vector<std::pair<std::string, Shape>> parameter_shapes() const override {
    return {{"weight", {out_, in_}}, {"bias", {out_}}};
  }
  void bind(ParameterStore<Scalar>& store, int first) override { p_ = store.linear(first, first + 1); }
  void initialize(Rng& rng) override {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
    for (int64_t i = 0; i < out_ * in_; ++i) p_.weight.data[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
    for (int64_t i = 0; i < out_; ++i) p_.bias[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
  }

  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    linear_forward<Scalar>(rows_view(x), p_, rows_view(y));
  }
  void backward(const Tensor<Scalar>& x, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool parameter_grads, bool accumulate_parameters, int) override {
    if (parameter_grads) linear_backward_parameters<Scalar>(rows_view(x), p_, rows_view(dy), Scalar{1}, accumulate_parameters);
    if (dx != nullptr) linear_backward_input<Scalar>(p_, rows_view(dy), rows_view(*dx), Scalar{1}, accumulate_input);
  }

  void forward_add(const Tensor<Scalar>& x, Tensor<Scalar>& target, Scalar scale) override {
    linear_forward<Scalar>(rows_view(x), p_, rows_view(target), scale, /*accumulate=*/true);
  }
  void backward_add(const Tensor<Scalar>& x, const Tensor<Scalar>& d_target, Tensor<Scalar>* dx, Scalar scale,
                    bool accumulate_input, bool parameter_grads, bool accumulate_parameters) override {
    if (parameter_grads) linear_backward_parameters<Scalar>(rows_view(x), p_, rows_view(d_target), scale, accumulate_parameters);
    if (dx != nullptr) linear_backward_input<Scalar>(p_, rows_view(d_target), rows_view(*dx), scale, accumulate_input);
  }

  MatmulFlops matmul_flops() const override { return {2 * in_ * out_, 2 * in_ * out_, 2 * in_ * out_}; }
  std::string describe() const override { return fmt::format("Linear({}, {})", in_, out_); }

 private:
  int64_t in_, out_;
  LinearParameters<Scalar> p_{};
};

}  // namespace fbnet
