// Writes one LSTM parity case for tests/peer/lstm_parity.py: a small float
// LstmClassifier with its seeded weights (under their torch names), one batch
// of sequences with labels at every step, and fbnet's logits, loss and every
// gradient, into DIR/lstm_case.safetensors.
//
// usage: fbnet_lstm_peer_case --out DIR
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "engine/random.hpp"
#include "formats/safetensors.hpp"
#include "model/lstm.hpp"

namespace {

using namespace fbnet;

int run(const std::string& out_dir) {
  const int64_t input_size = 12, hidden = 8, classes = 5, batch = 6;
  const int steps = 4;
  LstmClassifier<float> lstm(input_size, hidden, classes, steps);
  lstm.initialize(2024);
  auto& params = lstm.parameters();

  Rng data_rng(7);
  std::vector<Tensor<float>> images(steps, Tensor<float>({batch, input_size}));
  std::vector<std::vector<int32_t>> labels(steps, std::vector<int32_t>(batch));
  std::vector<const Tensor<float>*> inputs;
  std::vector<const int32_t*> label_pointers;
  for (int t = 0; t < steps; ++t) {
    for (float& v : images[t].values) v = static_cast<float>(data_rng.normal());
    for (int32_t& label : labels[t]) label = static_cast<int32_t>(data_rng.below(classes));
    inputs.push_back(&images[t]);
    label_pointers.push_back(labels[t].data());
  }
  lstm.forward(inputs, Mode::kTrain, nullptr);
  const LossAndCorrect loss = lstm.loss(label_pointers);
  lstm.backward();

  // Sequences as [steps, B, ...]: torch.nn.LSTM's default (not batch_first) layout.
  SafetensorsFile file;
  file.metadata = {{"loss", fmt::format("{:.17g}", loss.loss_sum / batch)}, {"correct", std::to_string(loss.correct)}};
  std::vector<float> inputs_flat, labels_flat, logits_flat;
  for (int t = 0; t < steps; ++t) {
    inputs_flat.insert(inputs_flat.end(), images[t].values.begin(), images[t].values.end());
    labels_flat.insert(labels_flat.end(), labels[t].begin(), labels[t].end());
    logits_flat.insert(logits_flat.end(), lstm.logits(t).values.begin(), lstm.logits(t).values.end());
  }
  file.tensors.push_back({"input", {steps, batch, input_size}, inputs_flat});
  file.tensors.push_back({"labels", {steps, batch}, labels_flat});
  file.tensors.push_back({"fbnet.logits", {steps, batch, classes}, logits_flat});
  for (size_t i = 0; i < params.infos().size(); ++i) {
    const ParameterInfo& info = params.infos()[i];
    const auto values = params.values_of(int(i));
    const auto grads = params.grads_of(int(i));
    file.tensors.push_back({"param." + info.name, info.shape, {values.begin(), values.end()}});
    file.tensors.push_back({"fbnet.grad." + info.name, info.shape, {grads.begin(), grads.end()}});
  }
  write_safetensors(out_dir + "/lstm_case.safetensors", file);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--out") {
    std::fprintf(stderr, "usage: fbnet_lstm_peer_case --out DIR\n");
    return 2;
  }
  try {
    return run(argv[2]);
  } catch (const fbnet::Error& error) {
    std::fprintf(stderr, "fbnet_lstm_peer_case: %s\n", error.what());
    return 2;
  }
}
