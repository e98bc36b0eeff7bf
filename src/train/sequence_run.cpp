// Experiment 2's run: the feedback net (frozen FF weights) or the LSTM on
// sequences, measured per position after every epoch, on the one training loop.
#include "train/sequence_run.hpp"

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "engine/blas.hpp"
#include "formats/atomic_file.hpp"
#include "formats/model_file.hpp"
#include "model/lstm.hpp"
#include "model/network.hpp"
#include "train/batches.hpp"
#include "train/environment.hpp"
#include "train/evaluate.hpp"
#include "train/progress.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;

nlohmann::ordered_json position_json(const Evaluation& result) {
  return {{"accuracy", result.accuracy}, {"loss", result.loss}};
}

// The sets a run is measured on: the validation sequences (when there are
// any) and every test condition.
std::vector<const SequenceSet*> measured_sets(const SequenceData& data) {
  std::vector<const SequenceSet*> sets;
  if (data.validation.count() > 0) sets.push_back(&data.validation);
  for (const SequenceSet& set : data.tests) sets.push_back(&set);
  return sets;
}

// The sequence model of `config`, built, and initialised or loaded.
struct SequenceModel {
  std::unique_ptr<Model<float>> model;
  ModelFormat format;
  int64_t parameters = 0, trained = 0;
  std::unique_ptr<Network<float>> ff;  // fb: the frozen FF net, measured on each image alone
};

SequenceModel build_model(const SequenceConfig& config, const SequenceData& data) {
  SequenceModel built;
  if (config.net == SequenceNet::kFeedback) {
    const Checkpoint ff_checkpoint = read_checkpoint(config.ff_model.path);
    const Architecture& ff_architecture = ff_checkpoint.architecture;
    FBNET_CHECK(ff_architecture.input_size == data.input_size && ff_architecture.classes == data.classes,
                "--ff-model: {} takes {} inputs and {} classes, dataset '{}' has {} and {}", config.ff_model.path,
                ff_architecture.input_size, ff_architecture.classes, config.data.dataset, data.input_size, data.classes);
    built.ff = std::make_unique<Network<float>>(ff_architecture);
    load_weights(ff_checkpoint, *built.ff);
    auto network = std::make_unique<Network<float>>(
        sequence_feedback_architecture(ff_architecture, config.feedback_alpha, config.length, config.ff_model.path));
    network->initialize(config.training.seed);  // the feedback edge; the FF layers are overwritten next
    adopt_frozen(*built.ff, *network);
    built.parameters = network->architecture().parameter_count();
    built.trained = built.parameters - ff_architecture.parameter_count();
    built.format = graph_model_format(network->architecture());
    built.model = std::move(network);
    return built;
  }
  auto lstm = std::make_unique<LstmClassifier<float>>(data.input_size, config.lstm_hidden, data.classes, config.length);
  lstm->initialize(config.training.seed);
  built.parameters = built.trained = static_cast<int64_t>(lstm->parameters().values().size());
  built.format = {"fbnet-lstm", {{"lstm_hidden", config.lstm_hidden}, {"input_size", data.input_size},
                                 {"classes", data.classes}, {"steps", config.length}}};
  built.model = std::move(lstm);
  return built;
}

}  // namespace

std::string default_sequence_folder(const SequenceConfig& config) {
  return fmt::format("runs/sequences-{}-seed{}", net_name(config.net), config.training.seed);
}

Architecture sequence_feedback_architecture(const Architecture& ff, double feedback_alpha, int length,
                                            const std::string& source) {
  FBNET_CHECK(!ff.graph, "{}: --ff-model must be an MLP of the report's family (fbnet train --model ff), not a "
              "conv or graph net", source);
  FBNET_CHECK(ff.feedback.empty() && ff.steps == 1,
              "{}: --ff-model must be a feedforward net of one step (fbnet train --model ff), not one with {} feedback "
              "edges and {} steps", source, ff.feedback.size(), ff.steps);
  Architecture sequence = ff;
  sequence.feedback = {{static_cast<int>(ff.hidden_sizes.size()), 0}};
  sequence.feedback_alpha = feedback_alpha;
  sequence.feedback_combine = FeedbackCombine::kMix;
  sequence.first_step_feedback = FirstStepFeedback::kZero;
  sequence.readout = Readout::kEveryStep;
  sequence.steps = length;
  sequence.validate();
  return sequence;
}

void adopt_frozen(const Network<float>& ff, Network<float>& network) {
  copy_parameters_by_name(ff.parameters(), network.parameters(), ff.parameters().infos());
  for (const Node& node : ff.graph().nodes)
    if (node.op != OpKind::kInput && !make_op<float>(ff.graph(), ff.graph().node_index(node.name))->parameter_shapes().empty())
      network.set_frozen(node.name, true);
}

nlohmann::ordered_json train_sequence_run(const SequenceConfig& config, const SequenceData& data, bool resume) {
  validate(config);
  use_compute_settings(config.training.compute);
  const std::string folder = config.output.out.path.empty() ? default_sequence_folder(config) : config.output.out.path;
  const std::string results_path = path_in(folder, "results.json");
  std::error_code error;
  if (!resume) {
    FBNET_CHECK(!fs::exists(results_path, error),
                "--out: {} already holds a finished sequence run (results.json); choose another --out", folder);
    FBNET_CHECK(!fs::exists(path_in(folder, "checkpoint.safetensors"), error),
                "--out: {} already holds a run; pass --resume to continue it, or choose another --out", folder);
  }
  const nlohmann::json settings = config_to_json(config);

  SequenceModel built = build_model(config, data);
  Model<float>& model = *built.model;
  Optimizer<float> optimizer(config.training.optimizer, model.parameters().values().size());
  LoopStart start;
  if (resume) start = resume_from(folder, model, built.format, optimizer, settings, config_to_json(SequenceConfig{}),
                                   path_settings<SequenceConfig>());
  // The FF control is the frozen part of the net being trained (the checkpoint's, on resume), not
  // whatever --ff-model holds by now.
  if (built.ff) copy_parameters_by_name(model.parameters(), built.ff->parameters(), built.ff->parameters().infos());
  fs::create_directories(folder, error);
  FBNET_CHECK(!error, "--out: cannot create run folder {}: {}", folder, error.message());
  const nlohmann::ordered_json description = {{"config", settings},
                                              {"architecture", built.format.architecture},
                                              {"parameters", built.parameters},
                                              {"trained_parameters", built.trained},
                                              {"allowed", data.train.allowed.names},
                                              {"environment", environment_description()}};
  write_file_atomic(path_in(folder, "config.json"), description.dump(2) + "\n");

  const std::string net = net_name(config.net);
  std::vector<std::pair<std::string, std::unique_ptr<SequenceBatches>>> measured;
  for (const SequenceSet* set : measured_sets(data)) measured.emplace_back(set->name(), std::make_unique<SequenceBatches>(*set));
  // The conditions of the last measurement: per-position accuracy and loss of each set.
  nlohmann::ordered_json conditions;
  auto measure = [&](nlohmann::ordered_json& record) {
    nlohmann::ordered_json positions;
    Evaluation normal;
    for (const auto& [name, batches] : measured) {
      const Evaluation result = evaluate(model, *batches, config.training.eval_batch_size);
      positions[name] = result.accuracy;
      conditions[name][net] = position_json(result);
      if (name == to_string(SequenceCondition::kNormal)) normal = result;
    }
    record["normal_loss"] = normal.loss;
    record["normal_accuracy"] = normal.mean_accuracy();
    record["positions"] = positions;
    return fmt::format("train {:.2f}%  normal test {:.2f}%", record["train_accuracy"].get<double>(),
                       normal.mean_accuracy());
  };
  SequenceBatches train(data.train);
  const TrainingLoop loop{model, built.format, train, config.training, config.output.progress, folder,
                          "sequences " + net, "sequences_per_second", settings, measure};
  const std::vector<nlohmann::ordered_json> records = train_epochs(loop, optimizer, std::move(start));
  if (conditions.empty()) {  // resumed after the last epoch: measure the trained model once more
    nlohmann::ordered_json scratch = {{"train_accuracy", 0.0}};
    measure(scratch);
  }
  if (built.ff)
    for (const auto& [name, batches] : measured)
      conditions[name]["ff"] = position_json(evaluate_each_step(*built.ff, *batches, config.training.eval_batch_size));
  // Training and measuring time over every epoch, across resumes.
  double wall_seconds = 0;
  for (const auto& record : records) wall_seconds += record.value("train_seconds", 0.0) + record.value("eval_seconds", 0.0);
  nlohmann::ordered_json results = {{"net", net},
                                    {"seed", config.training.seed},
                                    {"parameters", built.parameters},
                                    {"trained_parameters", built.trained},
                                    {"conditions", conditions},
                                    {"wall_seconds", wall_seconds}};
  write_file_atomic(results_path, results.dump(2) + "\n");
  return results;
}

}  // namespace fbnet
