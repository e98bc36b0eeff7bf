// The conv kernels (model/kernels/conv2d.hpp) over several chunks of samples
// against one chunk: the presets run batches of 64 in chunks of a few
// samples, while the finite-difference tables' batches fit in one chunk. And
// oneDNN's primitives (--conv-engine onednn) against im2col in float32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "engine/compute.hpp"
#include "engine/random.hpp"
#include "model/kernels/conv2d.hpp"
#include "model/parameters.hpp"
#include "test_support.hpp"

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
    conv2d_backward<double>(
        g, x, p, dy, {.parameter_grads = true, .accumulate_parameters = false, .dx = &r.dx, .accumulate_input = false},
        scratch, 0.5);
    r.grads = store.grads();
    // Each half alone, chunk by chunk, gives the bits of both together.
    Tensor<double> dx_alone({batch, 2, 5, 6});
    conv2d_backward<double>(
        g, x, p, dy, {.parameter_grads = true, .accumulate_parameters = false, .dx = nullptr, .accumulate_input = false},
        scratch, 0.5);
    EXPECT_EQ(store.grads(), r.grads);
    conv2d_backward<double>(
        g, x, p, dy, {.parameter_grads = false, .accumulate_parameters = false, .dx = &dx_alone, .accumulate_input = false},
        scratch, 0.5);
    EXPECT_EQ(dx_alone.values, r.dx.values);
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

// Each geometry's forward, input gradient and parameter gradients, scaled, written and accumulated, on oneDNN's
// primitives and on im2col. 70 samples: a chunk of 64 and one of 6 for the primitives.
TEST(Conv2dKernels, OneDnnPrimitivesAgreeWithIm2col) {
  if (!product_engine_available(ProductEngine::kOneDnn)) GTEST_SKIP() << "this fbnet was built without oneDNN";
  const ConvGeometry geometries[] = {
      {.channels = 1, .height = 28, .width = 28, .out_channels = 8, .kernel = 3, .stride = 1, .padding = 1},
      {.channels = 4, .height = 9, .width = 7, .out_channels = 5, .kernel = 3, .stride = 2, .padding = 1},
      {.channels = 3, .height = 6, .width = 6, .out_channels = 4, .kernel = 1, .stride = 1, .padding = 0},
      {.channels = 2, .height = 10, .width = 10, .out_channels = 3, .kernel = 5, .stride = 1, .padding = 2},
      {.channels = 3, .height = 7, .width = 8, .out_channels = 2, .kernel = 3, .stride = 2, .padding = 0},
  };
  const int64_t batch = 70;
  const ComputeSettings before{current_product_engine(), compute_threads(), current_convolution_engine()};
  for (const ConvGeometry& g : geometries) {
    SCOPED_TRACE(fmt::format("C {} H {} W {} OC {} K {} stride {} padding {}", g.channels, g.height, g.width,
                             g.out_channels, g.kernel, g.stride, g.padding));
    Rng rng(g.channels * 100 + g.kernel);
    auto random = [&](Shape shape) {
      Tensor<float> t(std::move(shape));
      for (float& v : t.values) v = static_cast<float>(rng.normal());
      return t;
    };
    const Shape in_shape = {batch, g.channels, g.height, g.width}, out_shape = {batch, g.out_channels, g.out_height(), g.out_width()};
    const Tensor<float> x = random(in_shape), dy = random(out_shape), y0 = random(out_shape), dx0 = random(in_shape);
    ParameterStore<float> store;
    store.declare("weight", {g.out_channels, g.channels, g.kernel, g.kernel});
    store.declare("bias", {g.out_channels});
    store.allocate();
    for (float& v : store.values()) v = static_cast<float>(rng.normal());
    const LinearParameters<float> p = store.linear(0, 1);
    for (const bool accumulate : {false, true}) {
      SCOPED_TRACE(accumulate ? "accumulate" : "write");
      struct Results {
        Tensor<float> y, dx;
        std::vector<float> grads;
      };
      auto run = [&](ConvolutionEngine engine) {
        use_compute_settings({before.engine, before.threads, engine});
        ConvScratch<float> scratch;
        Results r{y0, dx0, {}};
        std::fill(p.weight_grad.data, p.weight_grad.data + g.out_channels * g.patch_size(), 0.25f);
        std::fill(p.bias_grad, p.bias_grad + g.out_channels, 0.25f);
        conv2d_forward<float>(g, x, p, r.y, scratch, 0.5f, accumulate);
        conv2d_backward<float>(g, x, p, dy,
                               {.parameter_grads = true, .accumulate_parameters = accumulate, .dx = &r.dx,
                                .accumulate_input = accumulate},
                               scratch, 0.5f);
        r.grads = store.grads();
        // Each half alone gives the same bits: reading dy once for both changes no result.
        Tensor<float> dx_alone = dx0;
        std::fill(p.weight_grad.data, p.weight_grad.data + g.out_channels * g.patch_size(), 0.25f);
        std::fill(p.bias_grad, p.bias_grad + g.out_channels, 0.25f);
        conv2d_backward<float>(g, x, p, dy,
                               {.parameter_grads = true, .accumulate_parameters = accumulate, .dx = nullptr,
                                .accumulate_input = false},
                               scratch, 0.5f);
        conv2d_backward<float>(g, x, p, dy,
                               {.parameter_grads = false, .accumulate_parameters = false, .dx = &dx_alone,
                                .accumulate_input = accumulate},
                               scratch, 0.5f);
        EXPECT_EQ(store.grads(), r.grads) << convolution_engine_name(engine);
        EXPECT_EQ(dx_alone.values, r.dx.values) << convolution_engine_name(engine);
        return r;
      };
      const Results onednn = run(ConvolutionEngine::kOneDnn), im2col = run(ConvolutionEngine::kIm2col);
      auto relative = [](const std::vector<float>& a, const std::vector<float>& b) {
        double worst = 0, scale = 0;
        for (size_t i = 0; i < a.size(); ++i) {
          worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
          scale = std::max(scale, std::abs(double(b[i])));
        }
        return worst / scale;
      };
      EXPECT_LT(relative(onednn.y.values, im2col.y.values), 1e-5);
      EXPECT_LT(relative(onednn.dx.values, im2col.dx.values), 1e-5);
      EXPECT_LT(relative(onednn.grads, im2col.grads), 1e-5);
    }
  }
  use_compute_settings(before);
}

#ifdef FBNET_WITH_ONEDNN
// The convolution door on oneDNN with x, dx, y and dy in every pair of layouts: the bits of the all-plain call
// (whose results come back through oneDNN's reorders, with their scale and sum, where channel blocks take a loop
// of their own), written and accumulated, at scale 1 and 0.3, within one 64-sample chunk and across two.
TEST(Conv2dKernels, ChannelBlocksGiveThePlainLayoutsBits) {
  const ComputeSettings before{current_product_engine(), compute_threads(), current_convolution_engine()};
  use_compute_settings({before.engine, 2, ConvolutionEngine::kOneDnn});
  for (const int64_t kernel : {1, 3})
    for (const int64_t batch : {5, 70}) {
      const ConvGeometry g{.channels = 16, .height = 6, .width = 5, .out_channels = 32, .kernel = kernel, .stride = 1,
                           .padding = kernel / 2};
      Rng rng(kernel * 100 + batch);
      auto random = [&](Shape shape) {
        Tensor<float> t(std::move(shape));
        for (float& v : t.values) v = static_cast<float>(rng.normal());
        return t;
      };
      const Tensor<float> x = random({batch, 16, 6, 5}), dy = random({batch, 32, 6, 5});
      const Tensor<float> y0 = random(dy.shape), dx0 = random(x.shape);
      ParameterStore<float> store;
      store.declare("weight", {32, 16, kernel, kernel});
      store.declare("bias", {32});
      store.allocate();
      for (float& v : store.values()) v = static_cast<float>(rng.normal());
      const LinearParameters<float> p = store.linear(0, 1);
      for (const bool accumulate : {false, true})
        for (const float scale : {1.0f, 0.3f}) {
          // y, dx (both plain again), and the parameter gradients, concatenated.
          auto run = [&](ConvLayouts layouts) {
            auto in = [](const Tensor<float>& t, ActivationLayout layout) {
              return in_layout(t, ActivationLayout::kPlain, layout);
            };
            auto out = [](const Tensor<float>& t, ActivationLayout layout) {
              return in_layout(t, layout, ActivationLayout::kPlain);
            };
            ConvScratch<float> scratch;
            Tensor<float> y = in(y0, layouts.output), dx = in(dx0, layouts.input);
            std::fill(store.grads().begin(), store.grads().end(), 0.25f);
            conv2d_forward<float>(g, in(x, layouts.input), p, y, scratch, scale, accumulate, layouts);
            conv2d_backward<float>(g, in(x, layouts.input), p, in(dy, layouts.output),
                                   {.parameter_grads = true, .accumulate_parameters = accumulate, .dx = &dx,
                                    .accumulate_input = accumulate},
                                   scratch, scale, layouts);
            std::vector<float> all = out(y, layouts.output).values;
            const std::vector<float> dx_plain = out(dx, layouts.input).values;
            all.insert(all.end(), dx_plain.begin(), dx_plain.end());
            all.insert(all.end(), store.grads().begin(), store.grads().end());
            return testing::bits_of(all);
          };
          const auto plain = run({});
          for (const ActivationLayout input : {ActivationLayout::kPlain, ActivationLayout::kChannelBlocks})
            for (const ActivationLayout output : {ActivationLayout::kPlain, ActivationLayout::kChannelBlocks})
              EXPECT_EQ(run({input, output}), plain)
                  << fmt::format("kernel {}, batch {}, accumulate {}, scale {}, x {} y {}", kernel, batch, accumulate,
                                 scale, input == ActivationLayout::kPlain ? "plain" : "blocks",
                                 output == ActivationLayout::kPlain ? "plain" : "blocks");
        }
    }
  use_compute_settings(before);
}

// reproduce conv evaluates runs side by side, one std::thread each on one OpenMP thread: each thread's
// primitives are its own, and its results are those of the same call made alone, at the same thread count.
TEST(Conv2dKernels, OneDnnPrimitivesOnThreadsSideBySideGiveTheResultsOfOne) {
#ifndef _OPENMP
  GTEST_SKIP() << "built without OpenMP (clang): fbnet cannot set the team size of oneDNN's threads, which then share "
                  "the cores as OpenMP's defaults decide";
#endif
  const ConvGeometry g{
      .channels = 3, .height = 12, .width = 12, .out_channels = 6, .kernel = 3, .stride = 1, .padding = 1};
  const int64_t batch = 20;
  const ComputeSettings before{current_product_engine(), compute_threads(), current_convolution_engine()};
  use_compute_settings({before.engine, 1, ConvolutionEngine::kOneDnn});
  Rng rng(5);
  Tensor<float> x({batch, g.channels, g.height, g.width}), dy({batch, g.out_channels, g.height, g.width});
  std::vector<float> weight(g.out_channels * g.patch_size()), bias(g.out_channels);
  for (auto* values : {&x.values, &dy.values, &weight, &bias})
    for (float& v : *values) v = static_cast<float>(rng.normal());
  // y, dx, weight grad and bias grad, concatenated.
  auto results = [&] {
    std::vector<float> y(dy.values.size()), dx(x.values.size()), dw(weight.size()), db(bias.size());
    onednn_conv2d_forward(g, batch, x.values.data(), weight.data(), bias.data(), y.data(), 1.0f, false);
    onednn_conv2d_backward(g, batch, x.values.data(), weight.data(), dy.values.data(), dw.data(), db.data(), false,
                           dx.data(), false, 1.0f);
    for (auto* part : {&dx, &dw, &db}) y.insert(y.end(), part->begin(), part->end());
    return y;
  };
  const std::vector<float> alone = results();
  // Primitives made for a team of two are not the ones a team of one runs (each keeps its team size).
  use_compute_settings({before.engine, 2, ConvolutionEngine::kOneDnn});
  results();
  use_compute_settings({before.engine, 1, ConvolutionEngine::kOneDnn});
  EXPECT_EQ(results(), alone);
  std::vector<float> side_by_side[2];
  std::vector<std::thread> threads;
  for (auto& result : side_by_side)
    threads.emplace_back([&] {
      use_compute_threads_on_this_thread();
      for (int repeat = 0; repeat < 3; ++repeat) result = results();
    });
  for (auto& thread : threads) thread.join();
  use_compute_settings(before);
  for (const auto& result : side_by_side) EXPECT_EQ(result, alone);
}
#endif

}  // namespace
}  // namespace fbnet
