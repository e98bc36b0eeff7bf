// fbnet's own element-wise kernels timed alone, at the shapes a training step
// of the report's nets gives them (BLT's pooling, upsampling and ReLU, FF's
// dropout and SGD step): the work around the products that the
// product floor (gemm_floor.cpp) leaves out. Each row gives the median time of
// one call (median_seconds.hpp), the bytes the call must move at least (each
// input read once, each output written once) and the rate that makes. The
// compiler and the build's target (FBNET_MARCH) head the output, so that two
// builds' runs compare.
//
// usage: fbnet_loop_kernels [--threads T]
// prints a line naming the compiler, the build's target and the threads, then a Markdown table.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "config/settings.hpp"
#include "engine/compute.hpp"
#include "engine/random.hpp"
#include "engine/tensor.hpp"
#include "median_seconds.hpp"
#include "model/kernels/dropout.hpp"
#include "model/kernels/max_pool2d.hpp"
#include "model/kernels/relu.hpp"
#include "model/kernels/upsample.hpp"
#include "optim/optimizer.hpp"
#include "train/environment.hpp"

namespace {

using namespace fbnet;

Tensor<float> random_tensor(const Shape& shape, Rng& rng) {
  Tensor<float> tensor(shape);
  for (float& value : tensor.values) value = static_cast<float>(rng.normal());
  return tensor;
}

void row(const char* kernel, const char* shape, double bytes, double seconds) {
  std::printf("| %s | %s | %.3f ms | %.1f MB | %.1f GB/s |\n", kernel, shape, seconds * 1e3, bytes / 1e6,
              bytes / seconds / 1e9);
}

constexpr const char* kUsage = "usage: fbnet_loop_kernels [--threads T]   (T >= 1; default: one per core)";

}  // namespace

int main(int argc, char** argv) try {
  ComputeSettings compute;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--help" || argument == "-h") {
      std::printf("%s\n", kUsage);
      return 0;
    }
    if (argument != "--threads") fail("unknown argument '{}' ({})", argument, kUsage);
    if (i + 1 == argc) fail("--threads needs a value ({})", kUsage);
    parse_value("threads", argv[++i], compute.threads);  // the CLI's parser: an error names the flag
    if (compute.threads < 1) fail("--threads: expected a number of threads >= 1, got {}", compute.threads);
  }
  use_compute_settings(compute);
  std::printf("%s, %d thread(s)\n\n", environment_description()["compiler"].get<std::string>().c_str(),
              compute_threads());
  std::printf("| kernel | shape | time | bytes moved | rate |\n|---|---|---|---|---|\n");
  Rng rng(1);
  constexpr double kFloat = sizeof(float);

  // BLT's first layer: 32 channels of 28 x 28, pooled to 14 x 14; its top-down edge upsamples 14 x 14 back.
  const PoolGeometry pool{.channels = 32, .height = 28, .width = 28, .kernel = 2, .stride = 2};
  const Tensor<float> h1 = random_tensor({64, 32, 28, 28}, rng);
  Tensor<float> pooled({64, 32, 14, 14}), d_h1({64, 32, 28, 28});
  const Tensor<float> d_pooled = random_tensor({64, 32, 14, 14}, rng);
  const double big = static_cast<double>(h1.size()) * kFloat, small = static_cast<double>(pooled.size()) * kFloat;
  row("max pool forward", "64x32x28x28 -> 14x14", big + small,
      median_seconds([&] { max_pool2d_forward(pool, h1, pooled); }));
  row("max pool backward", "64x32x14x14 -> 28x28", 2 * big + small,
      median_seconds([&] { max_pool2d_backward(pool, h1, d_pooled, d_h1, false); }));
  const UpsampleGeometry upsample{.channels = 32, .height = 14, .width = 14, .factor_h = 2, .factor_w = 2};
  Tensor<float> upsampled({64, 32, 28, 28}), d_source({64, 32, 14, 14});
  row("upsample forward", "64x32x14x14 -> 28x28", small + big,
      median_seconds([&] { upsample_forward(upsample, d_pooled, upsampled); }));
  row("upsample backward", "64x32x28x28 -> 14x14", big + small,
      median_seconds([&] { upsample_backward(upsample, h1, d_source, false); }));
  Tensor<float> activated({64, 32, 28, 28});
  row("ReLU forward", "64x32x28x28", 2 * big,
      median_seconds([&] { relu_forward<float>(h1.values, activated.values); }));
  row("ReLU backward", "64x32x28x28", 3 * big,
      median_seconds([&] { relu_backward<float>(activated.values, h1.values, d_h1.values, false); }));

  // FF's dropout on its 500 hidden units: one draw per unit (its mask) and a product; masks are written too.
  const Tensor<float> hidden = random_tensor({64, 500}, rng);
  Tensor<float> dropout_mask({64, 500}), dropped({64, 500});
  Rng dropout_rng(2);
  row("dropout forward", "64x500", 3 * static_cast<double>(hidden.size()) * kFloat, median_seconds([&] {
        dropout_forward<float>(hidden.values, 0.5, dropout_rng, dropout_mask.values, dropped.values);
      }));

  // FF's parameters (784-500-10): the SGD-with-momentum step of every batch reads the weights, their momentum
  // and the gradient, and writes the weights and the momentum: 20 bytes a parameter.
  const size_t parameters = 784 * 500 + 500 + 500 * 10 + 10;
  OptimizerSettings sgd{.kind = OptimizerKind::kSgd, .learning_rate = 1e-6, .momentum = 0.9};
  Optimizer<float> optimizer(sgd, parameters);
  std::vector<float> weights(parameters, 0.5f), grads(parameters, 1e-3f);
  row("SGD momentum step", fmt::format("{} parameters (FF)", parameters).c_str(),
      20.0 * static_cast<double>(parameters), median_seconds([&] { optimizer.step(weights, grads); }));
  return 0;
} catch (const Error& error) {
  std::fprintf(stderr, "fbnet_loop_kernels: %s\n", error.what());
  return 2;
}
