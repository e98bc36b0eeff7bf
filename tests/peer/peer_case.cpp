// Writes one parity case for tests/peer/parity.py: the report's FF or FB net
// (784 -> 500 -> 26) with its initial weights, three batches with their labels
// and the dropout masks fbnet drew, and fbnet's results: the logits, loss and
// every gradient of the first batch, and the weights after three SGD-momentum
// steps (one per batch). PyTorch replays the same steps on the same numbers.
//
// usage: fbnet_peer_case --model ff|fb --out FILE.safetensors
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

std::vector<float> copy_of(const std::span<float> values) { return {values.begin(), values.end()}; }

int run(const std::string& model, const std::string& out) {
  const RunConfig config = resolve_config({{"model", model}});
  Network<float> network(architecture_from(config, 784, 26));
  network.initialize(2024);
  SgdMomentum<float> sgd(config.learning_rate, config.momentum, network.parameters().values().size());
  auto& params = network.parameters();

  SafetensorsFile file;
  file.metadata = {{"model", model},
                   {"learning_rate", fmt::format("{}", config.learning_rate)},
                   {"momentum", fmt::format("{}", config.momentum)},
                   {"feedback_alpha", fmt::format("{}", config.feedback_alpha)},
                   {"steps", std::to_string(config.steps)},
                   {"dropout", fmt::format("{}", config.dropout)}};
  for (size_t i = 0; i < params.infos().size(); ++i)
    file.tensors.push_back({"initial." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.values_of(int(i)))});

  const int64_t batch = 64;
  Rng data_rng(7);
  for (int k = 0; k < 3; ++k) {
    // Inputs shaped like normalised pixels: mostly background, some ink.
    Tensor<float> x({batch, 784});
    for (float& v : x.values) v = data_rng.uniform() < 0.8 ? -0.4242f : static_cast<float>(data_rng.uniform(-0.4242, 2.8215));
    std::vector<int32_t> labels(batch);
    std::vector<float> labels_as_float(batch);
    for (int64_t b = 0; b < batch; ++b) labels_as_float[b] = static_cast<float>(labels[b] = static_cast<int32_t>(data_rng.below(26)));

    Rng dropout_rng(100 + k);
    std::vector<const Tensor<float>*> inputs(config.steps, &x);
    network.forward(inputs, Mode::kTrain, &dropout_rng);
    std::vector<const int32_t*> step_labels = {labels.data()};
    const LossAndCorrect loss = network.loss(step_labels);
    params.zero_grads();
    network.backward();

    file.tensors.push_back({fmt::format("input.{}", k), x.shape, x.values});
    file.tensors.push_back({fmt::format("labels.{}", k), {batch}, labels_as_float});
    const Tensor<float>& mask = network.dropout_mask(config.steps - 1);
    file.tensors.push_back({fmt::format("mask.{}", k), mask.shape, mask.values});
    if (k == 0) {
      file.tensors.push_back({"fbnet.logits", network.logits(0).shape, network.logits(0).values});
      file.tensors.push_back({"fbnet.loss", {1}, {static_cast<float>(loss.loss_sum / batch)}});
      file.metadata["loss"] = fmt::format("{:.17g}", loss.loss_sum / batch);
      for (size_t i = 0; i < params.infos().size(); ++i)
        file.tensors.push_back({"fbnet.grad." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.grads_of(int(i)))});
    }
    sgd.step(params.values(), params.grads());
  }
  for (size_t i = 0; i < params.infos().size(); ++i)
    file.tensors.push_back({"fbnet.after3." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.values_of(int(i)))});
  write_safetensors(out, file);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--model" || std::string(argv[3]) != "--out") {
    std::fprintf(stderr, "usage: fbnet_peer_case --model ff|fb --out FILE.safetensors\n");
    return 2;
  }
  try {
    return run(argv[2], argv[4]);
  } catch (const fbnet::Error& error) {
    std::fprintf(stderr, "fbnet_peer_case: %s\n", error.what());
    return 2;
  }
}
