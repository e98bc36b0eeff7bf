// Conv2dOp: torch.nn.Conv2d (weight [OC, C, K, K], bias [OC], both
// ~ U(-1/sqrt(C*K*K), 1/sqrt(C*K*K)) at initialisation) as a graph op, and,
// behind nearest upsampling, as the adapter of an edge between spatial nodes:
//   op node        x [B, C, H, W] -> y [B, OC, OH, OW]
//   lateral edge   target [B, OC, H, W] += scale * conv(x), kernel K, padding K/2
//   top-down edge  target [B, OC, H*FH, W*FW] += scale * conv(upsample(x, FH, FW))
// (torch: nn.Sequential(nn.Upsample(scale_factor=(FH, FW)), nn.Conv2d(...)).)
// x (the source) and y (the target) each lie as `layouts` says; the upsampling keeps x's.
#pragma once

#include <cmath>

#include <fmt/format.h>

#include "model/kernels/conv2d.hpp"
#include "model/kernels/upsample.hpp"
#include "model/ops/op.hpp"

namespace fbnet {

template <class Scalar>
class Conv2dOp final : public Adapter<Scalar> {
 public:
  // `conv` reads the upsampled input: conv.height = upsample.height * factor_h.
  explicit Conv2dOp(ConvGeometry conv, UpsampleGeometry upsample = {}, ConvLayouts layouts = {})
      : conv_(conv), upsample_(upsample), layouts_(layouts) {}

  Shape output_shape(const Shape&) const override { return {conv_.out_channels, conv_.out_height(), conv_.out_width()}; }
  std::vector<std::pair<std::string, Shape>> parameter_shapes() const override {
    return {{"weight", {conv_.out_channels, conv_.channels, conv_.kernel, conv_.kernel}}, {"bias", {conv_.out_channels}}};
  }
  void bind(ParameterStore<Scalar>& store, int first) override { p_ = store.linear(first, first + 1); }
  void initialize(Rng& rng) override {
    const double bound = 1.0 / std::sqrt(static_cast<double>(conv_.patch_size()));
    for (int64_t i = 0; i < p_.weight.rows * p_.weight.cols; ++i) p_.weight.data[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
    for (int64_t i = 0; i < conv_.out_channels; ++i) p_.bias[i] = static_cast<Scalar>(rng.uniform(-bound, bound));
  }

  void forward(const Tensor<Scalar>& x, Tensor<Scalar>& y, Mode, Rng*, int) override {
    conv2d_forward<Scalar>(conv_, upsampled(x), p_, y, scratch_, Scalar{1}, false, layouts_);
  }
  void backward(const Tensor<Scalar>& x, const Tensor<Scalar>&, const Tensor<Scalar>& dy, Tensor<Scalar>* dx,
                bool accumulate_input, bool parameter_grads, bool accumulate_parameters, int) override {
    backward_add(x, dy, dx, Scalar{1}, accumulate_input, parameter_grads, accumulate_parameters);
  }

  void forward_add(const Tensor<Scalar>& x, Tensor<Scalar>& target, Scalar scale) override {
    conv2d_forward<Scalar>(conv_, upsampled(x), p_, target, scratch_, scale, /*accumulate=*/true, layouts_);
  }
  void backward_add(const Tensor<Scalar>& x, const Tensor<Scalar>& d_target, Tensor<Scalar>* dx, Scalar scale,
                    bool accumulate_input, bool parameter_grads, bool accumulate_parameters) override {
    if (!parameter_grads && dx == nullptr) return;
    // Through an upsampling, dx of the conv is d_upsampled_, folded back onto dx after.
    Tensor<Scalar>* conv_dx = dx;
    if (dx != nullptr && upsamples()) {
      d_upsampled_.resize({x.rows(), conv_.channels, conv_.height, conv_.width});
      conv_dx = &d_upsampled_;
    }
    const ConvGradients<Scalar> want{.parameter_grads = parameter_grads,
                                     .accumulate_parameters = accumulate_parameters,
                                     .dx = conv_dx,
                                     .accumulate_input = accumulate_input && !upsamples()};
    // (x is read only for the parameter gradients.)
    conv2d_backward<Scalar>(conv_, parameter_grads ? upsampled(x) : x, p_, d_target, want, scratch_, scale, layouts_);
    if (dx != nullptr && upsamples())
      upsample_backward<Scalar>(upsample_, d_upsampled_, *dx, accumulate_input, layouts_.input);
  }

  MatmulFlops matmul_flops() const override {
    const int64_t flops = 2 * conv_.out_channels * conv_.positions() * conv_.patch_size();
    return {flops, flops, flops};
  }
  std::string describe() const override {
    const std::string conv = fmt::format("Conv2d({}, {}, kernel {}{}{})", conv_.channels, conv_.out_channels, conv_.kernel,
                                         conv_.stride != 1 ? fmt::format(", stride {}", conv_.stride) : "",
                                         conv_.padding != 0 ? fmt::format(", padding {}", conv_.padding) : "");
    return upsamples() ? fmt::format("Upsample(x{}, x{}) + {}", upsample_.factor_h, upsample_.factor_w, conv) : conv;
  }

 private:
  bool upsamples() const { return upsample_.factor_h != 1 || upsample_.factor_w != 1; }
  // x itself, or x upsampled into a buffer of this op (recomputed in backward: cheaper than a copy per step).
  const Tensor<Scalar>& upsampled(const Tensor<Scalar>& x) {
    if (!upsamples()) return x;
    upsampled_.resize({x.rows(), conv_.channels, conv_.height, conv_.width});
    upsample_forward<Scalar>(upsample_, x, upsampled_, layouts_.input);
    return upsampled_;
  }

  ConvGeometry conv_;
  UpsampleGeometry upsample_;
  ConvLayouts layouts_;
  LinearParameters<Scalar> p_{};
  ConvScratch<Scalar> scratch_;
  Tensor<Scalar> upsampled_, d_upsampled_;      // [B, C, H*FH, W*FW]
};

}  // namespace fbnet
