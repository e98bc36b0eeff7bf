// The conv kernels (model/kernels/conv2d.hpp) over several chunks of samples
// against one chunk: the presets run batches of 64 in chunks of a few
// samples, while the finite-difference tables' batches fit in one chunk.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/random.hpp"
#include "model/kernels/conv2d.hpp"
#include "model/parameters.hpp"

namespace fbnet {
namespace {

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

TEST(Conv2dKernels, ChunksOfOneOrTwoSamplesGiveWhatOneChunkGives) {
  const ConvGeometry g{.channels = 2, .height = 5, .width = 6, .out_channels = 3, .kernel = 3, .stride = 2, .padding = 1};
  const int64_t batch = 5;
  Rng rng(21);
  auto random = [&](Shape shape) {
    Tensor<double> t(std::move(shape));
    for (double& v : t.values) v = rng.normal();
    return t;
  };
  const Tensor<double> x = random({batch, 2, 5, 6});
  const Tensor<double> dy = random({batch, 3, g.out_height(), g.out_width()});
  ParameterStore<double> store;
  store.declare("weight", {3, 2, 3, 3});
  store.declare("bias", {3});
  store.allocate();
  for (double& v : store.values()) v = rng.normal();
  const LinearParameters<double> p = store.linear(0, 1);

  struct Results {
    Tensor<double> y, dx;
    std::vector<double> grads;
  };
  auto run = [&](int64_t samples_per_chunk) {
    ConvScratch<double> scratch;
    scratch.chunk_values = samples_per_chunk * g.patch_size() * g.positions();
    Results r{Tensor<double>({batch, 3, g.out_height(), g.out_width()}), Tensor<double>({batch, 2, 5, 6}), {}};
    conv2d_forward<double>(g, x, p, r.y, scratch, 0.5);
    conv2d_backward_parameters<double>(g, x, p, dy, scratch, 0.5, /*accumulate=*/false);
    conv2d_backward_input<double>(g, p, dy, r.dx, scratch, 0.5);
    r.grads = store.grads();
    return r;
  };
  const Results whole = run(batch);
  for (int64_t samples : {1, 2}) {
    SCOPED_TRACE(samples);
    const Results chunked = run(samples);
    // Equal but for rounding: the BLAS may block a product of another width otherwise, and dW sums
    // over chunks in another order.
    EXPECT_LT(max_difference(chunked.y.values, whole.y.values), 1e-12);
    EXPECT_LT(max_difference(chunked.dx.values, whole.dx.values), 1e-12);
    EXPECT_LT(max_difference(chunked.grads, whole.grads), 1e-12);
  }
}

}  // namespace
}  // namespace fbnet
