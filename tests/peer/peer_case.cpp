// Writes one parity case for tests/peer/parity.py: one of the report's nets
// (784 -> 500 -> 26, FF or FB, optionally with more --steps) with its initial
// weights, four batches with their labels and the dropout masks fbnet drew,
// and fbnet's results: the logits, loss and every gradient of the first
// batch, and the weights after every SGD-momentum step (one per batch).
// The steps run as src/train/trainer.cpp runs them: the optimiser updates
// each range inside backward as soon as its gradient is final, and the
// gradient buffer is never zeroed between batches. PyTorch replays the same
// steps on the same numbers.
//
// usage: fbnet_peer_case --model ff|fb [--SETTING VALUE ...] --out FILE.safetensors
//        (any `fbnet train` setting, e.g. --steps 4, overrides the preset)
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "engine/random.hpp"
#include "model/network.hpp"
#include "train/config.hpp"
#include "train/safetensors.hpp"
#include "train/sgd.hpp"

namespace {

using namespace fbnet;

constexpr int kBatches = 4;
constexpr int64_t kBatch = 64;

std::vector<float> copy_of(const std::span<float> values) { return {values.begin(), values.end()}; }

int run(const SettingList& settings, const std::string& out) {
  const RunConfig config = resolve_config(settings);
  Network<float> network(architecture_from(config, 784, 26));
  network.initialize(2024);
  SgdMomentum<float> sgd(config.training.learning_rate, config.training.momentum, network.parameters().values().size());
  auto& params = network.parameters();

  SafetensorsFile file;
  file.metadata = {{"model", model_name(config.model)},
                   {"learning_rate", fmt::format("{}", config.training.learning_rate)},
                   {"momentum", fmt::format("{}", config.training.momentum)},
                   {"feedback_alpha", fmt::format("{}", config.feedback_alpha)},
                   {"steps", std::to_string(config.steps)},
                   {"dropout", fmt::format("{}", config.dropout)},
                   {"batches", std::to_string(kBatches)}};
  for (size_t i = 0; i < params.infos().size(); ++i)
    file.tensors.push_back({"initial." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.values_of(int(i)))});

  Rng data_rng(7);
  for (int k = 0; k < kBatches; ++k) {
    // Inputs shaped like normalised pixels: mostly background, some ink.
    Tensor<float> x({kBatch, 784});
    for (float& v : x.values) v = data_rng.uniform() < 0.8 ? -0.4242f : static_cast<float>(data_rng.uniform(-0.4242, 2.8215));
    std::vector<int32_t> labels(kBatch);
    std::vector<float> labels_as_float(kBatch);
    for (int64_t b = 0; b < kBatch; ++b)
      labels_as_float[b] = static_cast<float>(labels[b] = static_cast<int32_t>(data_rng.below(26)));

    Rng dropout_rng(100 + k);
    std::vector<const Tensor<float>*> inputs(config.steps, &x);
    network.forward(inputs, Mode::kTrain, &dropout_rng);
    std::vector<const int32_t*> step_labels = {labels.data()};
    const LossAndCorrect loss = network.loss(step_labels);
    // The trainer's update: each range as soon as backward has finished it.
    network.backward([&](int64_t begin, int64_t end) { sgd.step(params.values(), params.grads(), begin, end); });

    file.tensors.push_back({fmt::format("input.{}", k), x.shape, x.values});
    file.tensors.push_back({fmt::format("labels.{}", k), {kBatch}, labels_as_float});
    const Tensor<float>& mask = network.dropout_mask(config.steps - 1);
    file.tensors.push_back({fmt::format("mask.{}", k), mask.shape, mask.values});
    if (k == 0) {
      file.tensors.push_back({"fbnet.logits", network.logits(0).shape, network.logits(0).values});
      file.metadata["loss"] = fmt::format("{:.17g}", loss.loss_sum / kBatch);
      for (size_t i = 0; i < params.infos().size(); ++i)
        file.tensors.push_back({"fbnet.grad." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.grads_of(int(i)))});
    }
    for (size_t i = 0; i < params.infos().size(); ++i)
      file.tensors.push_back({fmt::format("fbnet.after.{}.{}", k + 1, params.infos()[i].name), params.infos()[i].shape,
                              copy_of(params.values_of(int(i)))});
  }
  write_safetensors(out, file);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: fbnet_peer_case --model ff|fb [--SETTING VALUE ...] --out FILE.safetensors\n";
  SettingList settings;
  std::string out;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc || !flag.starts_with("--")) return std::fprintf(stderr, "%s", usage), 2;
    if (flag == "--out")
      out = argv[i + 1];
    else
      settings.emplace_back(flag.substr(2), argv[i + 1]);
  }
  if (out.empty() || settings.empty() || settings.front().first != "model") return std::fprintf(stderr, "%s", usage), 2;
  try {
    return run(settings, out);
  } catch (const fbnet::Error& error) {
    std::fprintf(stderr, "fbnet_peer_case: %s\n", error.what());
    return 2;
  }
}
