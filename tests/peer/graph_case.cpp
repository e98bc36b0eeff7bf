// Writes one parity case for tests/peer/graph_parity.py: any graph given as
// JSON (formats/graph_json.hpp) with fbnet's initial weights, the batches it
// trained on and the dropout masks it drew, and its results: the logits of
// every readout, the loss and every gradient of the first batch, and the
// weights after every optimiser step (one per batch), with any of fbnet's
// optimisers and learning-rate schedules (an epoch is --batches-per-epoch
// batches; the schedule steps between epochs). The steps run as
// src/train/training_loop.cpp runs them: forward in training mode with one dropout
// stream, the optimiser updating each range inside backward as soon as its
// gradient is final, the gradient buffer never zeroed between batches.
// PyTorch replays the same steps on the same numbers.
//
// Tensors written (B = --batch, S = the graph's steps, R = its readout steps):
//   initial.NAME                       every parameter before training
//   input.K.NODE      [S, B, shape]    batch K's values of input node NODE per step
//                                      (one image repeated for last-step readouts,
//                                      a new one per step for every-step readouts)
//   labels.K          [R, B]           as float
//   mask.K.NODE.STEP  [B, shape]       dropout node NODE's mask (0 or 1/(1-p)) at STEP
//   fbnet.logits.R    [B, classes]     first batch, per readout step
//   fbnet.grad.NAME                    first batch's gradient
//   fbnet.after.K.NAME                 every parameter after step K (1..N)
// and in the metadata the graph JSON fbnet ran, loss (first batch),
// training (every optimiser and schedule setting, as `fbnet train` names
// them, with epochs), batches, batches_per_epoch, frozen (node names) and seed.
//
// usage: fbnet_graph_case --graph FILE.json [--frozen NODE,...] [--batches N] [--batches-per-epoch K]
//                         [--batch B] [--seed S] [any optimiser or schedule flag of fbnet train,
//                         e.g. --optimizer adam --learning-rate LR --lr-schedule cosine] --out FILE.safetensors
#include <algorithm>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/setting_groups.hpp"
#include "config/settings.hpp"
#include "engine/compute.hpp"
#include "engine/random.hpp"
#include "formats/graph_json.hpp"
#include "formats/safetensors.hpp"
#include "model/network.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "train/training_loop.hpp"

namespace {

using namespace fbnet;

constexpr const char* kUsage =
    "usage: fbnet_graph_case --graph FILE.json [--frozen NODE,...] [--batches N] [--batches-per-epoch K]\n"
    "                        [--batch B] [--seed S] [optimiser and schedule flags of fbnet train] --out FILE.safetensors\n";
// The inputs' and labels' stream, apart from every stream the library draws from.
constexpr uint64_t kCaseDataStream = 1000;

struct CaseSettings {
  std::string graph_path;
  std::string out;
  std::vector<std::string> frozen;  // node names (or aliases)
  TrainingSettings training = {.optimizer = {.learning_rate = 0.02, .momentum = 0.9}};
  int batches = 4;
  int batches_per_epoch = 1000000;  // one epoch unless given
  int64_t batch = 64;
  uint64_t seed = 2024;
};

std::vector<float> copy_of(const std::span<float> values) { return {values.begin(), values.end()}; }

Shape with_leading(std::initializer_list<int64_t> leading, const Shape& shape) {
  Shape result(leading);
  result.insert(result.end(), shape.begin(), shape.end());
  return result;
}

int run(const CaseSettings& settings) {
  Network<float> network(graph_from_json(read_json_file(settings.graph_path), settings.graph_path));
  const Graph& graph = network.graph();
  const Schedule& schedule = network.schedule();
  network.initialize(settings.seed);
  std::string frozen;
  for (const std::string& name : settings.frozen) {  // nodes (names or aliases) or edges
    network.set_frozen(name, true);
    const bool is_edge =
        std::any_of(graph.edges.begin(), graph.edges.end(), [&](const Edge& edge) { return edge.name == name; });
    frozen += (frozen.empty() ? "" : ",") + (is_edge ? name : graph.nodes[graph.node_index(name, "--frozen")].name);
  }
  use_compute_settings(settings.training.compute);  // --engine, --threads, or FBNET_ENGINE's default
  auto& params = network.parameters();
  Optimizer<float> optimizer(settings.training.optimizer, params.values().size());
  nlohmann::json training;
  auto record = [&](const char* name, const auto& field, const char*) { training[name] = json_value(field); };
  visit_settings(settings.training, record);

  SafetensorsFile file;
  file.metadata = {{"graph", graph_to_json(graph).dump()},
                   {"training", training.dump()},
                   {"batches", std::to_string(settings.batches)},
                   {"batches_per_epoch", std::to_string(settings.batches_per_epoch)},
                   {"frozen", frozen},
                   {"seed", std::to_string(settings.seed)}};
  for (size_t i = 0; i < params.infos().size(); ++i)
    file.tensors.push_back({"initial." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.values_of(int(i)))});

  const std::vector<int> input_nodes = graph.input_nodes();
  const int64_t classes = graph.nodes[graph.readout_node].shape[0];
  const int images_per_batch = graph.readout_steps == Readout::kEveryStep ? graph.steps : 1;
  Rng data_rng(settings.seed, kCaseDataStream);
  Rng dropout_rng(settings.seed, kDropoutStream);
  for (int k = 0; k < settings.batches; ++k) {
    if (k % settings.batches_per_epoch == 0) {
      const int epoch = k / settings.batches_per_epoch + 1;
      const TrainingSettings& t = settings.training;
      optimizer.set_learning_rate(scheduled_learning_rate(t.optimizer.learning_rate, t.schedule, epoch, t.epochs));
    }
    // images[i][j]: the j-th image [B, shape] of input node i; steps[i][step] points at one.
    std::vector<std::vector<Tensor<float>>> images(input_nodes.size());
    std::vector<std::vector<const Tensor<float>*>> steps(input_nodes.size());
    for (size_t i = 0; i < input_nodes.size(); ++i) {
      const Node& node = graph.nodes[input_nodes[i]];
      for (int j = 0; j < images_per_batch; ++j) {
        Tensor<float>& image = images[i].emplace_back(with_leading({settings.batch}, node.shape));
        for (float& v : image.values) v = static_cast<float>(data_rng.uniform());
      }
      NamedTensor stacked{fmt::format("input.{}.{}", k, node.name), with_leading({graph.steps, settings.batch}, node.shape), {}};
      for (int step = 0; step < graph.steps; ++step) {
        steps[i].push_back(&images[i][images_per_batch == 1 ? 0 : step]);
        stacked.values.insert(stacked.values.end(), steps[i].back()->values.begin(), steps[i].back()->values.end());
      }
      file.tensors.push_back(std::move(stacked));
    }
    std::vector<std::vector<int32_t>> labels(network.readout_count(), std::vector<int32_t>(settings.batch));
    NamedTensor labels_as_float{fmt::format("labels.{}", k), {network.readout_count(), settings.batch}, {}};
    std::vector<const int32_t*> step_labels;
    for (std::vector<int32_t>& readout_labels : labels) {
      for (int32_t& label : readout_labels) {
        label = static_cast<int32_t>(data_rng.below(classes));
        labels_as_float.values.push_back(static_cast<float>(label));
      }
      step_labels.push_back(readout_labels.data());
    }
    file.tensors.push_back(std::move(labels_as_float));

    network.forward(std::span<const std::vector<const Tensor<float>*>>(steps), Mode::kTrain, &dropout_rng);
    const LossAndCorrect loss = network.loss(step_labels);
    // The training loop's update: each range as soon as backward has finished it.
    optimizer.begin_step();
    network.backward([&](int64_t begin, int64_t end) { optimizer.step(params.values(), params.grads(), begin, end); });

    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      const Node& node = graph.nodes[n];
      if (node.op != OpKind::kDropout || node.dropout == 0) continue;  // p = 0 is the identity: no mask
      for (int step = 0; step < graph.steps; ++step) {
        if (!schedule.computed[step][n]) continue;
        // The mask is shaped as the tensor dropout read: behind a flatten (an identity op) that is still
        // [B, C, H, W]; the same values row-major, written as the node's [B, shape].
        const Tensor<float>& mask = network.dropout_mask(step, node.name);
        const Shape shape = with_leading({settings.batch}, node.shape);
        FBNET_CHECK(element_count(shape) == mask.size(), "dropout node '{}': mask {} is not {}", node.name,
                    shape_string(mask.shape), shape_string(shape));
        file.tensors.push_back({fmt::format("mask.{}.{}.{}", k, node.name, step), shape, mask.values});
      }
    }
    if (k == 0) {
      for (int r = 0; r < network.readout_count(); ++r)
        file.tensors.push_back({fmt::format("fbnet.logits.{}", r), network.logits(r).shape, network.logits(r).values});
      file.metadata["loss"] = fmt::format("{:.17g}", loss.loss_sum / static_cast<double>(settings.batch));
      for (size_t i = 0; i < params.infos().size(); ++i)
        file.tensors.push_back({"fbnet.grad." + params.infos()[i].name, params.infos()[i].shape, copy_of(params.grads_of(int(i)))});
    }
    for (size_t i = 0; i < params.infos().size(); ++i)
      file.tensors.push_back({fmt::format("fbnet.after.{}.{}", k + 1, params.infos()[i].name), params.infos()[i].shape,
                              copy_of(params.values_of(int(i)))});
  }
  write_safetensors(settings.out, file);
  return 0;
}

// Parses "--flag value" pairs; throws fbnet::Error naming the flag.
CaseSettings parse_arguments(int argc, char** argv) {
  CaseSettings settings;
  auto number = [](const std::string& flag, const std::string& text, double min) {
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FBNET_CHECK(used == text.size() && used > 0 && value >= min, "{}: expected a number of at least {}, got '{}'", flag,
                min, text);
    return value;
  };
  auto whole = [&](const std::string& flag, const std::string& text, int64_t min) {
    const double value = number(flag, text, static_cast<double>(min));
    FBNET_CHECK(value == static_cast<double>(static_cast<int64_t>(value)) && value <= 1e6,
                "{}: expected a whole number in {}..1000000, got '{}'", flag, min, text);
    return static_cast<int64_t>(value);
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    FBNET_CHECK(i + 1 < argc, "{} needs a value", flag);
    const std::string value = argv[i + 1];
    if (flag == "--graph") {
      settings.graph_path = value;
    } else if (flag == "--out") {
      settings.out = value;
    } else if (flag == "--frozen") {
      for (size_t begin = 0; begin <= value.size();) {
        const size_t end = std::min(value.find(',', begin), value.size());
        if (end > begin) settings.frozen.push_back(value.substr(begin, end - begin));
        begin = end + 1;
      }
    } else if (flag == "--batches") {
      settings.batches = static_cast<int>(whole(flag, value, 1));
    } else if (flag == "--batches-per-epoch") {
      settings.batches_per_epoch = static_cast<int>(whole(flag, value, 1));
    } else if (flag == "--batch") {
      settings.batch = whole(flag, value, 1);
    } else if (flag == "--seed") {
      settings.seed = static_cast<uint64_t>(whole(flag, value, 0));
    } else {
      bool parsed = false;  // an optimiser or schedule setting, parsed as fbnet train parses it
      auto parse = [&](const char* name, auto& field, const char*) {
        if (flag != std::string("--") + name) return;
        parse_value(name, value, field);
        parsed = true;
      };
      visit_settings(settings.training, parse);
      FBNET_CHECK(parsed, "unknown flag '{}'", flag);
    }
  }
  FBNET_CHECK(!settings.graph_path.empty() && !settings.out.empty(), "--graph and --out are required");
  settings.training.epochs = (settings.batches + settings.batches_per_epoch - 1) / settings.batches_per_epoch;
  validate(settings.training);
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const fbnet::Error& error) {
    std::fprintf(stderr, "fbnet_graph_case: %s\n%s", error.what(), kUsage);
    return 2;
  }
}
