// The product floor of a training epoch: records the exact matrix products of
// one training step of a network (fbnet's own forward and backward, through
// the GemmRecorder), times each distinct product in isolation with every
// product engine fbnet has (OpenBLAS, oneDNN), and sums them over the batches
// of an epoch. The floor is the best engine's sum; fbnet's epoch time divided
// by it says how much of an epoch is not matrix products.
// Beside it, the warm memory floor of the optimiser's update: what no SGD
// step with momentum can avoid moving, each weight and its momentum read and
// written (16 bytes a parameter; fbnet's update also reads the gradient, 20),
// timed as a swap of two buffers of the net's size on the same threads, back
// to back, so in whatever cache holds them, summed over the epoch.
//
// usage: fbnet_gemm_floor --model ff|ff-large|fb --batch-size B [--train-size 50000] [--threads T]
// prints one JSON object.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "engine/blas.hpp"
#include "engine/compute.hpp"
#include "engine/parallel.hpp"
#include "engine/random.hpp"
#include "model/network.hpp"
#include "median_seconds.hpp"

namespace {

using namespace fbnet;

// The products of one training step at `batch` rows.
std::vector<GemmCall> record_step(Network<float>& network, int64_t batch) {
  Tensor<float> x({batch, network.architecture().input_size});
  Rng rng(1);
  for (float& v : x.values) v = static_cast<float>(rng.normal());
  std::vector<int32_t> labels(batch, 0);
  std::vector<const Tensor<float>*> inputs(network.steps(), &x);
  std::vector<const int32_t*> step_labels(network.readout_count(), labels.data());
  GemmRecorder recorder;
  network.forward(inputs, Mode::kTrain, &rng);
  network.loss(step_labels);
  network.parameters().zero_grads();
  network.backward();
  return recorder.calls();
}

// Median seconds of one call of this shape, run alone on warm buffers.
double time_call(const GemmCall& call) {
  const bool ta = call.transpose_a == Transpose::kYes, tb = call.transpose_b == Transpose::kYes;
  Tensor<float> a(ta ? Shape{call.k, call.m} : Shape{call.m, call.k});
  Tensor<float> b(tb ? Shape{call.n, call.k} : Shape{call.k, call.n});
  Tensor<float> c({call.m, call.n});
  Rng rng(2);
  for (Tensor<float>* t : {&a, &b, &c})
    for (float& v : t->values) v = static_cast<float>(rng.uniform(-1, 1));
  const float beta = call.accumulate ? 1.0f : 0.0f;
  return median_seconds([&] { gemm<float>(view(a), call.transpose_a, view(b), call.transpose_b, view(c), 1.0f, beta); });
}

// Median seconds of one pass that reads and writes two float buffers of `parameters` values (16 bytes a parameter).
double update_pass_seconds(int64_t parameters) {
  std::vector<float> weights(parameters, 1.0f), momentum(parameters, 2.0f);
  float* __restrict w = weights.data();
  float* __restrict b = momentum.data();
  return median_seconds([&] {
    parallel_for(parameters, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) std::swap(w[i], b[i]);
    });
    asm volatile("" : : "r"(w), "r"(b) : "memory");  // the buffers count as read: the swaps cannot be dropped
  });
}

int run(const std::string& model, int64_t batch, int64_t train_size, int threads) {
  Network<float> network(architecture_from(resolve_config({{"model", model}}), Shape{28, 28}, 10));
  network.initialize(0);
  const int64_t full_batches = train_size / batch;
  const int64_t last_batch = train_size % batch;

  // Distinct shapes, with how often an epoch runs each.
  using Key = std::tuple<int, int, int64_t, int64_t, int64_t, bool>;
  std::map<Key, std::pair<GemmCall, int64_t>> shapes;
  auto add = [&](const std::vector<GemmCall>& calls, int64_t times) {
    for (const GemmCall& call : calls) {
      const Key key{int(call.transpose_a), int(call.transpose_b), call.m, call.n, call.k, call.accumulate};
      shapes.try_emplace(key, call, 0).first->second.second += times;
    }
  };
  // im2col: oneDNN's convolution primitives make their products outside the BLAS door, where nothing records them.
  use_compute_settings({current_product_engine(), threads, ConvolutionEngine::kIm2col});
  const std::vector<GemmCall> step_calls = record_step(network, batch);
  add(step_calls, full_batches);
  if (last_batch > 0) add(record_step(network, last_batch), 1);

  nlohmann::ordered_json result = {{"model", model}, {"batch_size", batch}, {"threads", threads},
                                   {"train_size", train_size}, {"products_per_step", step_calls.size()}};
  double epoch_flops = 0;
  for (const auto& [key, entry] : shapes) epoch_flops += double(entry.first.flops()) * entry.second;
  result["epoch_gflop"] = epoch_flops * 1e-9;
  nlohmann::ordered_json engines = nlohmann::ordered_json::object();
  std::string best_engine;
  for (const ProductEngine engine : available_product_engines()) {
    use_compute_settings({engine, threads});
    double floor_seconds = 0;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [key, entry] : shapes) {
      const auto& [call, count] = entry;
      const double seconds = time_call(call);
      floor_seconds += seconds * count;
      rows.push_back({{"op", fmt::format("{}{}", call.transpose_a == Transpose::kYes ? "T" : "N",
                                         call.transpose_b == Transpose::kYes ? "T" : "N")},
                      {"m", call.m}, {"n", call.n}, {"k", call.k}, {"accumulate", call.accumulate},
                      {"per_epoch", count}, {"gflops", call.flops() / seconds * 1e-9}});
    }
    const std::string name = product_engine_name(engine);
    const nlohmann::ordered_json description = compute_description();
    // The version of the library that ran these products ("engine_version" names oneDNN also where only the
    // convolutions use it).
    const std::string version = engine == ProductEngine::kOneDnn ? description.at("engine_version").get<std::string>()
                                                                  : description["blas"].get<std::string>();
    engines[name] = {{"version", version},
                     {"floor_seconds", floor_seconds}, {"gflops", epoch_flops / floor_seconds * 1e-9}, {"products", rows}};
    if (best_engine.empty() || floor_seconds < engines[best_engine]["floor_seconds"].get<double>()) best_engine = name;
  }
  // The floor: the best engine's.
  result["engine"] = best_engine;
  result["floor_seconds"] = engines[best_engine]["floor_seconds"];
  result["gflops"] = engines[best_engine]["gflops"];
  result["engines"] = engines;
  const int64_t parameters = static_cast<int64_t>(network.parameters().values().size());
  const double pass = update_pass_seconds(parameters);
  result["parameters"] = parameters;
  result["update_floor_seconds"] = pass * double(full_batches + (last_batch > 0));
  result["update_floor_gbytes_per_second"] = 16.0 * double(parameters) / pass * 1e-9;
  fmt::print("{}\n", result.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "ff";
  int64_t batch = 64, train_size = 50000;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") model = value;
    else if (flag == "--batch-size") batch = std::stoll(value);
    else if (flag == "--train-size") train_size = std::stoll(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else {
      std::fprintf(stderr, "fbnet_gemm_floor: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0 || batch <= 0 || train_size <= 0 || threads < 1) {
    std::fprintf(stderr, "usage: fbnet_gemm_floor --model ff|ff-large|fb --batch-size B [--train-size N] [--threads T]\n");
    return 2;
  }
  try {
    return run(model, batch, train_size, threads);
  } catch (const fbnet::Error& error) {
    std::fprintf(stderr, "fbnet_gemm_floor: %s\n", error.what());
    return 2;
  }
}
