// Writes one case for tests/peer/accumulation_parity.py: the report's
// experiment-2 sequence net (FF layers 784 -> 500 -> 26 copied in and frozen,
// feedback h -> x trained, alpha 0.5, 5 positions) trained for 24 steps the
// way src/train/training_loop.cpp does it, with the Optimizer applied inside
// backward. It writes the initial weights, every step's inputs, labels and
// the dropout masks fbnet drew, the trained weights after every step, and at
// the end all weights plus the optimiser's velocity and running gradient sum
// G. PyTorch replays the steps with torch.optim.SGD.
//
// usage: fbnet_accumulation_peer_case [--accumulation running-sum|zeroed]
//                                     [--learning-rate LR] --out FILE.safetensors
#include <cstdio>
#include <exception>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "config/config.hpp"
#include "engine/random.hpp"
#include "formats/safetensors.hpp"
#include "model/network.hpp"
#include "optim/optimizer.hpp"
#include "train/sequence_run.hpp"
#include "train/training_loop.hpp"

namespace {

using namespace fbnet;

constexpr int kLength = 5;            // positions per sequence
constexpr double kFeedbackAlpha = 0.5;
constexpr double kMomentum = 0.5;
constexpr int kSteps = 24;
constexpr int64_t kBatch = 64;

std::vector<float> copy_of(const std::span<float> values) { return {values.begin(), values.end()}; }

int run(GradientAccumulation accumulation, double learning_rate, const std::string& out) {
  const RunConfig config = resolve_config({{"model", "ff"}});
  Network<float> ff(architecture_from(config, Shape{28, 28}, 26));
  ff.initialize(2024);
  Network<float> network(sequence_feedback_architecture(ff.architecture(), kFeedbackAlpha, kLength, "accumulation_case"));
  network.initialize(2025);  // the feedback edge; the layers are overwritten next
  adopt_frozen(ff, network);  // as sequence_run.cpp builds it
  auto& params = network.parameters();
  Optimizer<float> optimizer({.learning_rate = learning_rate, .momentum = kMomentum, .accumulation = accumulation},
                             params.values().size());

  SafetensorsFile file;
  std::string trained;  // the unfrozen parameters: the feedback edge
  for (const ParameterInfo& info : params.infos())
    if (!info.name.starts_with("layers.")) trained += (trained.empty() ? "" : ",") + info.name;
  file.metadata = {{"accumulation", accumulation == GradientAccumulation::kRunningSum ? "running-sum" : "zeroed"},
                   {"learning_rate", fmt::format("{}", learning_rate)},
                   {"momentum", fmt::format("{}", kMomentum)},
                   {"feedback_alpha", fmt::format("{}", kFeedbackAlpha)},
                   {"length", std::to_string(kLength)},
                   {"steps", std::to_string(kSteps)},
                   {"trained", trained}};
  for (size_t i = 0; i < params.infos().size(); ++i)
    file.tensors.push_back({"initial." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.values_of(int(i)))});

  Rng data_rng(7);
  Rng dropout_rng(2025, kDropoutStream, 1);  // one stream for all batches, as train_epoch draws it
  std::vector<Tensor<float>> images(kLength, Tensor<float>({kBatch, 784}));
  std::vector<std::vector<int32_t>> labels(kLength, std::vector<int32_t>(kBatch));
  std::vector<const Tensor<float>*> inputs(kLength);
  std::vector<const int32_t*> step_labels(kLength);
  for (int step = 0; step < kSteps; ++step) {
    for (int p = 0; p < kLength; ++p) {
      // Inputs shaped like normalised pixels: mostly background, some ink.
      for (float& v : images[p].values)
        v = data_rng.uniform() < 0.8 ? -0.4242f : static_cast<float>(data_rng.uniform(-0.4242, 2.8215));
      for (int32_t& label : labels[p]) label = static_cast<int32_t>(data_rng.below(26));
      inputs[p] = &images[p];
      step_labels[p] = labels[p].data();
    }
    network.forward(inputs, Mode::kTrain, &dropout_rng);
    network.loss(step_labels);
    // Garbage in every gradient: backward must overwrite, not add to, what is there.
    std::fill(params.grads().begin(), params.grads().end(), std::numeric_limits<float>::quiet_NaN());
    optimizer.begin_step();
    network.backward([&](int64_t from, int64_t to) { optimizer.step(params.values(), params.grads(), from, to); });

    for (int p = 0; p < kLength; ++p) {
      file.tensors.push_back({fmt::format("input.{}.{}", step, p), images[p].shape, images[p].values});
      file.tensors.push_back({fmt::format("labels.{}.{}", step, p), {kBatch}, {labels[p].begin(), labels[p].end()}});
      const Tensor<float>& mask = network.dropout_mask(p, "dropout");  // [B, 500]: 0 or 1 / (1 - dropout)
      file.tensors.push_back({fmt::format("mask.{}.{}", step, p), mask.shape, mask.values});
    }
    for (size_t i = 0; i < params.infos().size(); ++i)
      if (!params.infos()[i].name.starts_with("layers."))
        file.tensors.push_back({fmt::format("after.{}.{}", step, params.infos()[i].name), params.infos()[i].shape,
                                copy_of(params.values_of(int(i)))});
  }
  for (const ParameterInfo& info : params.infos()) {
    const auto slice = [&](const std::vector<float>& buffer) {  // this parameter's part of a flat buffer
      return std::vector<float>(buffer.begin() + info.offset, buffer.begin() + info.offset + info.size());
    };
    file.tensors.push_back({"final." + info.name, info.shape, slice(params.values())});
    if (info.name.starts_with("layers.")) continue;
    // The optimiser's state: torch's momentum_buffer, and G = torch's .grad when zero_grad is never called.
    file.tensors.push_back({"velocity." + info.name, info.shape, slice(*optimizer.find_state("momentum"))});
    if (const std::vector<float>* gradient_sum = optimizer.find_state("gradient_sum"))  // kRunningSum only
      file.tensors.push_back({"gradient_sum." + info.name, info.shape, slice(*gradient_sum)});
  }
  write_safetensors(out, file);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: fbnet_accumulation_peer_case [--accumulation running-sum|zeroed] [--learning-rate LR] "
                      "--out FILE.safetensors\n";
  GradientAccumulation accumulation = GradientAccumulation::kRunningSum;
  double learning_rate = 1e-5;  // the report's experiment-2 rate
  std::string out;
  try {
    for (int i = 1; i < argc; i += 2) {
      const std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
      if (flag == "--accumulation" && (value == "running-sum" || value == "zeroed"))
        accumulation = value == "zeroed" ? GradientAccumulation::kZeroed : GradientAccumulation::kRunningSum;
      else if (flag == "--learning-rate" && !value.empty())
        learning_rate = std::stod(value);
      else if (flag == "--out" && !value.empty())
        out = value;
      else
        return std::fprintf(stderr, "%s", usage), 2;
    }
    if (out.empty()) return std::fprintf(stderr, "%s", usage), 2;
    return run(accumulation, learning_rate, out);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fbnet_accumulation_peer_case: %s\n", error.what());
    return 2;
  }
}
