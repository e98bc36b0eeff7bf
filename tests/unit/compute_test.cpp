// The product engines and the element-wise loops' threads: both engines give
// the products a float64 reference gives, each is deterministic, beta = 0
// never reads C, and no loop's result depends on the thread count.
#include <gtest/gtest.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "engine/blas.hpp"
#include "engine/compute.hpp"
#include "engine/error.hpp"
#include "engine/random.hpp"
#include "model/kernels/dropout.hpp"
#include "model/kernels/linear.hpp"
#include "model/kernels/log_softmax_nll.hpp"
#include "model/kernels/relu.hpp"
#include "optim/optimizer.hpp"

namespace fbnet {
namespace {

Tensor<float> random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor<float> t({rows, cols});
  Rng rng(seed);
  for (float& v : t.values) v = static_cast<float>(rng.uniform(-1, 1));
  return t;
}

// Resets the process's compute settings to the defaults after a test that changes them.
class ComputeTest : public ::testing::Test {
 protected:
  void TearDown() override { use_compute_settings({}); }
};

struct ProductCase {
  Transpose transpose_a, transpose_b;
  int64_t m, n, k;
};

// The report's products (FF at batch 64: forward, weight gradient, input gradient) and odd sizes.
constexpr ProductCase kProducts[] = {
    {Transpose::kNo, Transpose::kYes, 64, 500, 784}, {Transpose::kYes, Transpose::kNo, 500, 784, 64},
    {Transpose::kNo, Transpose::kNo, 64, 784, 500},  {Transpose::kNo, Transpose::kYes, 7, 3, 5},
    {Transpose::kYes, Transpose::kYes, 13, 1, 33},   {Transpose::kNo, Transpose::kNo, 1, 1, 1}};

TEST_F(ComputeTest, EveryEngineComputesTheProductAFloat64ReferenceDoes) {
  for (ProductEngine engine : available_product_engines()) {
    for (int threads : {1, 2}) {
      use_compute_settings({engine, threads});
      for (const ProductCase& p : kProducts) {
        const bool ta = p.transpose_a == Transpose::kYes, tb = p.transpose_b == Transpose::kYes;
        const Tensor<float> a = random_matrix(ta ? p.k : p.m, ta ? p.m : p.k, 1);
        const Tensor<float> b = random_matrix(tb ? p.n : p.k, tb ? p.k : p.n, 2);
        Tensor<float> c = random_matrix(p.m, p.n, 3);
        const Tensor<float> c_before = c;
        gemm<float>(view(a), p.transpose_a, view(b), p.transpose_b, view(c), 0.5f, 2.0f);
        double worst = 0;
        for (int64_t i = 0; i < p.m; ++i)
          for (int64_t j = 0; j < p.n; ++j) {
            double sum = 0;
            for (int64_t l = 0; l < p.k; ++l)
              sum += double(ta ? a.values[l * p.m + i] : a.values[i * p.k + l]) *
                     double(tb ? b.values[j * p.k + l] : b.values[l * p.n + j]);
            const double expected = 0.5 * sum + 2.0 * c_before.values[i * p.n + j];
            worst = std::max(worst, std::abs(c.values[i * p.n + j] - expected));
          }
        // float32 rounding of sums of up to 784 terms of size <= 1.
        EXPECT_LT(worst, 1e-5 * std::sqrt(double(p.k)) * 10)
            << product_engine_name(engine) << ", " << threads << " thread(s), [" << p.m << ", " << p.k << "] x ["
            << p.k << ", " << p.n << "]";
      }
    }
  }
}

TEST_F(ComputeTest, BetaZeroOverwritesCWithoutReadingIt) {
  for (ProductEngine engine : available_product_engines()) {
    use_compute_settings({engine, 1});
    const Tensor<float> a = random_matrix(64, 784, 1), b = random_matrix(500, 784, 2);
    Tensor<float> c({64, 500});
    std::fill(c.values.begin(), c.values.end(), std::numeric_limits<float>::quiet_NaN());
    gemm<float>(view(a), Transpose::kNo, view(b), Transpose::kYes, view(c), 1.0f, 0.0f);
    for (float v : c.values) ASSERT_TRUE(std::isfinite(v)) << product_engine_name(engine);
  }
}

TEST_F(ComputeTest, EachEngineRepeatsItsResultsExactlyAtAGivenThreadCount) {
  for (ProductEngine engine : available_product_engines()) {
    for (int threads : {1, 2}) {
      use_compute_settings({engine, threads});
      const Tensor<float> a = random_matrix(500, 64, 1), b = random_matrix(64, 784, 2);
      Tensor<float> first({500, 784}), second({500, 784});
      gemm<float>(view(a), Transpose::kNo, view(b), Transpose::kNo, view(first), 1.0f, 0.0f);
      gemm<float>(view(a), Transpose::kNo, view(b), Transpose::kNo, view(second), 1.0f, 0.0f);
      EXPECT_EQ(first.values, second.values) << product_engine_name(engine) << ", " << threads << " thread(s)";
    }
  }
}

TEST_F(ComputeTest, ConfigRecordsTheEnginesAndTheirThreads) {
  for (ProductEngine engine : available_product_engines())
    for (ConvolutionEngine convolution : {ConvolutionEngine::kIm2col, default_convolution_engine()}) {
      use_compute_settings({engine, 1, convolution});
      const nlohmann::ordered_json description = compute_description();
      EXPECT_EQ(description["engine"], product_engine_name(engine));
      EXPECT_EQ(description["convolution"], convolution_engine_name(convolution));
      EXPECT_EQ(description["threads"], 1);
      // oneDNN's version wherever a result depends on it: its products or its convolutions.
      EXPECT_EQ(description.contains("engine_version"),
                engine == ProductEngine::kOneDnn || convolution == ConvolutionEngine::kOneDnn);
    }
}

TEST(Compute, FbnetEngineVariableSetsTheDefaultAndABadOneIsNamed) {
  const char* saved = std::getenv("FBNET_ENGINE");
  const std::string restore = saved ? saved : "";
  setenv("FBNET_ENGINE", "openblas", 1);
  EXPECT_EQ(default_product_engine(), ProductEngine::kOpenBlas);
  EXPECT_EQ(ComputeSettings{}.engine, ProductEngine::kOpenBlas);
  setenv("FBNET_ENGINE", "mkl", 1);
  try {
    default_product_engine();
    ADD_FAILURE() << "FBNET_ENGINE=mkl was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("FBNET_ENGINE: 'mkl' is not one of: openblas, onednn"), std::string::npos)
        << error.what();
  }
  if (saved) setenv("FBNET_ENGINE", restore.c_str(), 1); else unsetenv("FBNET_ENGINE");
}

// Every element-wise loop that parallel_for splits, run on 1 and on 2 threads
// over sizes past the parallel threshold: the bytes must be equal.
template <class Loop>
void expect_same_on_one_and_two_threads(const char* name, Loop loop) {
  use_compute_settings({default_product_engine(), 1});
  const std::vector<float> one = loop();
  use_compute_settings({default_product_engine(), 2});
  const std::vector<float> two = loop();
  EXPECT_EQ(one, two) << name;
}

TEST_F(ComputeTest, ElementWiseLoopsGiveTheSameBitsOnOneAndTwoThreads) {
#ifdef _OPENMP
  use_compute_settings({default_product_engine(), 2});
  if (omp_get_max_threads() != 2) GTEST_SKIP() << "this OpenBLAS keeps pthreads of its own: fbnet's loops run on one thread";
#else
  GTEST_SKIP() << "built without OpenMP (clang): fbnet's loops run on one thread";
#endif
  const int64_t rows = 100, cols = 523;  // 52,300 values: past the threshold, not a multiple of the chunk alignment
  const Tensor<float> x = random_matrix(rows, cols, 1), dy = random_matrix(rows, cols, 2);
  expect_same_on_one_and_two_threads("relu", [&] {
    std::vector<float> y(x.size()), dx(x.size(), 0.5f);
    relu_forward<float>(x.values, y);
    relu_backward<float>(y, dy.values, dx, true);
    y.insert(y.end(), dx.begin(), dx.end());
    return y;
  });
  // Each thread draws its part of the mask from the stream jumped to it: the mask, and the stream after it,
  // must be those of one sequential stream of draws (unit i kept when draw i's 53 bits reach p).
  Rng sequential(3);
  std::vector<float> sequential_mask(x.size());
  for (float& kept : sequential_mask)
    kept = static_cast<double>(sequential.next() >> 11) * 0x1.0p-53 >= 0.5 ? 2.0f : 0.0f;
  const uint64_t after_sequential = sequential.next();
  expect_same_on_one_and_two_threads("dropout", [&] {
    std::vector<float> mask(x.size()), y(x.size()), dx(x.size());
    Rng rng(3);
    dropout_forward<float>(x.values, 0.5, rng, mask, y);
    EXPECT_EQ(mask, sequential_mask) << "on " << compute_threads() << " thread(s)";
    EXPECT_EQ(rng.next(), after_sequential) << "on " << compute_threads() << " thread(s)";
    dropout_backward<float>(mask, dy.values, dx, false);
    y.insert(y.end(), dx.begin(), dx.end());
    return y;
  });
  expect_same_on_one_and_two_threads("linear bias and its gradient", [&] {
    // A zero weight: OpenBLAS's own products may round differently on 2 threads; the loops around them may not.
    Tensor<float> weight({cols, cols}), weight_grad({cols, cols}), y({rows, cols});
    const Tensor<float> bias_values = random_matrix(1, cols, 4);
    std::vector<float> bias = bias_values.values, bias_grad(cols, 1.0f);
    LinearParameters<float> p{view(weight), bias.data(), view(weight_grad), bias_grad.data()};
    linear_forward<float>(view(x), p, view(y), 0.3f, false);
    linear_backward_parameters<float>(view(x), p, view(dy), 0.3f, true);
    y.values.insert(y.values.end(), bias_grad.begin(), bias_grad.end());
    return y.values;
  });
  expect_same_on_one_and_two_threads("log-softmax", [&] {
    Tensor<float> d_logits({rows, cols});
    std::vector<int32_t> labels(rows);
    for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>(r % cols);
    const LossAndCorrect result = log_softmax_nll<float>(view(x), labels.data(), view(d_logits), 0.01f);
    d_logits.values.push_back(static_cast<float>(result.loss_sum));
    d_logits.values.push_back(static_cast<float>(result.correct));
    return d_logits.values;
  });
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW}) {
    expect_same_on_one_and_two_threads("optimizer", [&] {
      OptimizerSettings settings{.kind = kind, .learning_rate = 0.01, .momentum = 0.9, .weight_decay = 0.01};
      if (kind != OptimizerKind::kSgd) settings.momentum = 0;
      Optimizer<float> optimizer(settings, x.size());
      std::vector<float> weights = dy.values;
      for (int step = 0; step < 3; ++step) {
        optimizer.begin_step();
        optimizer.step(weights, x.values);
      }
      return weights;
    });
  }
}

}  // namespace
}  // namespace fbnet
