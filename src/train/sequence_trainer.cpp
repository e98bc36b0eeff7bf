// The training loop of experiment 2, shared by the feedback net and the LSTM.
#include "train/sequence_trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <numeric>

#include <fmt/format.h>

#include "engine/blas.hpp"
#include "engine/random.hpp"
#include "train/atomic_file.hpp"
#include "train/checkpoint.hpp"
#include "train/divergence.hpp"
#include "train/environment.hpp"
#include "train/metrics_file.hpp"
#include "train/progress.hpp"
#include "train/sgd.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;


void forward(Network<float>& network, std::span<const Tensor<float>* const> inputs, Mode mode, Rng* dropout_rng) {
  network.forward(inputs, mode, dropout_rng);
}
void forward(LstmClassifier<float>& lstm, std::span<const Tensor<float>* const> inputs, Mode, Rng*) {
  lstm.forward(inputs);  // no dropout in the baseline
}
const Tensor<float>& position_logits(const Network<float>& network, int position) { return network.logits(position); }
const Tensor<float>& position_logits(const LstmClassifier<float>& lstm, int position) { return lstm.logits(position); }

// Adds the loss and hits of one position's logits to result[position].
void score(const Tensor<float>& logits, const std::vector<int32_t>& labels, std::vector<int64_t>& correct, double& loss,
           int position) {
  const LossAndCorrect scored = log_softmax_nll<float>(view(logits), labels.data(), MatrixView<float>{nullptr, 0, 0}, 1.0f);
  correct[position] += scored.correct;
  loss += scored.loss_sum;
}

PositionResult finish(const std::vector<int64_t>& correct, double loss, int64_t count) {
  PositionResult result;
  for (int64_t hits : correct) result.accuracy.push_back(count == 0 ? 0.0 : 100.0 * hits / count);
  result.loss = count == 0 ? 0.0 : loss / (count * static_cast<double>(correct.size()));
  return result;
}

std::vector<int64_t> identity_order(int64_t count) {
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

nlohmann::ordered_json position_json(const PositionResult& result) {
  return {{"accuracy", result.accuracy}, {"loss", result.loss}};
}

// One epoch of SGD over the shuffled training sequences; returns (mean loss, accuracy %).
template <class Model>
std::pair<double, double> train_epoch(Model& model, SgdMomentum<float>& optimizer, const SequenceConfig& config,
                                      const SequenceSet& train, int epoch, Progress& progress,
                                      const std::string& folder) {
  Rng shuffle_rng(config.training.seed, kShuffleStream, epoch);
  Rng dropout_rng(config.training.seed, kDropoutStream, epoch);
  const std::vector<int64_t> order = random_permutation(train.count(), shuffle_rng);
  const int64_t batches = (train.count() + config.training.batch_size - 1) / config.training.batch_size;
  std::vector<Tensor<float>> images;
  std::vector<std::vector<int32_t>> labels;
  std::vector<const Tensor<float>*> inputs(config.length);
  std::vector<const int32_t*> step_labels(config.length);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  const auto start = Clock::now();
  auto& parameters = model.parameters();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * config.training.batch_size;
    const int64_t batch = std::min(config.training.batch_size, train.count() - begin);
    gather_sequence_batch(train, order, begin, batch, images, labels);
    for (int p = 0; p < config.length; ++p) {
      inputs[p] = &images[p];
      step_labels[p] = labels[p].data();
    }
    forward(model, inputs, Mode::kTrain, &dropout_rng);
    const LossAndCorrect result = model.loss(step_labels);
    FBNET_CHECK(std::isfinite(result.loss_sum), "training diverged: the loss is {} at epoch {}, batch {}; {}",
                result.loss_sum, epoch, b + 1, what_is_kept(folder, epoch, "model"));
    if constexpr (std::is_same_v<Model, Network<float>>) {
      // Only unfrozen ranges (the feedback weights) are reported ready.
      model.backward([&](int64_t from, int64_t to) { optimizer.step(parameters.values(), parameters.grads(), from, to); });
    } else {
      model.backward();
      optimizer.step(parameters.values(), parameters.grads());
    }
    loss_sum += result.loss_sum;
    correct += result.correct;
    seen += batch;
    const double rate = seen / std::max(seconds_since(start), 1e-9);
    const double remaining = (config.training.epochs - epoch) * train.count() + (train.count() - seen);
    progress.batch(epoch, config.training.epochs, b + 1, batches, loss_sum / seen, 100.0 * correct / (seen * config.length), rate,
                   remaining / rate);
  }
  const std::string bad_parameter = parameters.first_non_finite();
  FBNET_CHECK(bad_parameter.empty(), "training diverged: {} holds NaN or Inf after epoch {}, batch {}; {}",
              bad_parameter, epoch, batches, what_is_kept(folder, epoch, "model"));
  return {loss_sum / train.count(), 100.0 * correct / (train.count() * config.length)};
}

// The sets a run is measured on: the validation sequences (when there are
// any) and every test condition.
std::vector<const SequenceSet*> measured_sets(const SequenceData& data) {
  std::vector<const SequenceSet*> sets;
  if (data.validation.count() > 0) sets.push_back(&data.validation);
  for (const SequenceSet& set : data.tests) sets.push_back(&set);
  return sets;
}

// Trains `model`, writing metrics (with the per-position accuracy of every
// measured set, so curves show how context use develops) and the model file
// after each epoch; returns the last epoch's per-position results.
template <class Model>
nlohmann::ordered_json train_and_evaluate(Model& model, const SequenceConfig& config, const SequenceData& data,
                                          const std::string& folder,
                                          const std::function<void(int epoch)>& save_model) {
  SgdMomentum<float> optimizer(config.training.learning_rate, config.training.momentum, model.parameters().values().size(),
                               config.training.gradient_accumulation);
  Progress progress(config.output.progress, "sequences " + net_name(config.net));
  std::vector<nlohmann::ordered_json> epochs;
  nlohmann::ordered_json conditions;
  const auto run_start = Clock::now();
  for (int epoch = 1; epoch <= config.training.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const auto [train_loss, train_accuracy] = train_epoch(model, optimizer, config, data.train, epoch, progress, folder);
    const double train_seconds = seconds_since(epoch_start);
    nlohmann::ordered_json positions;
    for (const SequenceSet* set : measured_sets(data)) {
      const PositionResult result = evaluate_positions(model, *set, config.training.eval_batch_size);
      positions[set->name] = result.accuracy;
      conditions[set->name][net_name(config.net)] = position_json(result);
    }
    const auto& normal = conditions["normal"][net_name(config.net)];
    const auto normal_accuracy = normal["accuracy"].get<std::vector<double>>();
    nlohmann::ordered_json record;
    record["epoch"] = epoch;
    record["train_loss"] = train_loss;
    record["train_accuracy"] = train_accuracy;
    record["normal_loss"] = normal["loss"];
    record["normal_accuracy"] = std::accumulate(normal_accuracy.begin(), normal_accuracy.end(), 0.0) / config.length;
    record["positions"] = positions;
    record["train_seconds"] = train_seconds;
    record["sequences_per_second"] = data.train.count() / train_seconds;
    epochs.push_back(record);
    write_metrics(folder, epochs);
    save_model(epoch);
    progress.line(fmt::format("sequences {} epoch {:>2}/{}  loss {:.4f}  train {:.2f}%  normal test {:.2f}%  {:.2f}s/epoch  [{}]",
                              net_name(config.net), epoch, config.training.epochs, train_loss, train_accuracy,
                              record["normal_accuracy"].get<double>(), train_seconds,
                              format_duration(seconds_since(run_start))));
  }
  return conditions;
}

}  // namespace

std::string default_sequence_folder(const SequenceConfig& config) {
  return fmt::format("runs/sequences-{}-seed{}", net_name(config.net), config.training.seed);
}

Architecture sequence_feedback_architecture(const Architecture& ff, double feedback_alpha, int length,
                                            const std::string& source) {
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

template <class Model>
PositionResult evaluate_positions(Model& model, const SequenceSet& set, int64_t batch_size) {
  const int length = set.samples.length;
  const std::vector<int64_t> order = identity_order(set.count());
  std::vector<Tensor<float>> images;
  std::vector<std::vector<int32_t>> labels;
  std::vector<const Tensor<float>*> inputs(length);
  std::vector<int64_t> correct(length, 0);
  double loss = 0;
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    const int64_t batch = std::min(batch_size, set.count() - begin);
    gather_sequence_batch(set, order, begin, batch, images, labels);
    for (int p = 0; p < length; ++p) inputs[p] = &images[p];
    forward(model, inputs, Mode::kEval, nullptr);
    for (int p = 0; p < length; ++p) score(position_logits(model, p), labels[p], correct, loss, p);
  }
  return finish(correct, loss, set.count());
}
template PositionResult evaluate_positions(Network<float>&, const SequenceSet&, int64_t);
template PositionResult evaluate_positions(LstmClassifier<float>&, const SequenceSet&, int64_t);

PositionResult evaluate_ff_positions(Network<float>& ff, const SequenceSet& set, int64_t batch_size) {
  FBNET_CHECK(ff.architecture().steps == 1 && ff.readout_count() == 1, "evaluate_ff_positions: not a one-step net");
  const int length = set.samples.length;
  const std::vector<int64_t> order = identity_order(set.count());
  std::vector<Tensor<float>> images;
  std::vector<std::vector<int32_t>> labels;
  std::vector<int64_t> correct(length, 0);
  double loss = 0;
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    const int64_t batch = std::min(batch_size, set.count() - begin);
    gather_sequence_batch(set, order, begin, batch, images, labels);
    for (int p = 0; p < length; ++p) {
      const Tensor<float>* input = &images[p];
      ff.forward({&input, 1}, Mode::kEval, nullptr);
      score(ff.logits(0), labels[p], correct, loss, p);
    }
  }
  return finish(correct, loss, set.count());
}

nlohmann::ordered_json train_sequence_run(const SequenceConfig& config, const SequenceData& data) {
  validate(config);
  set_blas_threads(config.training.threads);
  const std::string folder = config.output.out.empty() ? default_sequence_folder(config) : config.output.out;
  std::error_code error;
  FBNET_CHECK(!fs::exists(path_in(folder, "results.json"), error),
              "--out: {} already holds a finished sequence run (results.json); choose another --out", folder);
  fs::create_directories(folder, error);
  FBNET_CHECK(!error, "--out: cannot create run folder {}: {}", folder, error.message());
  const nlohmann::ordered_json settings = config_to_json(config);
  const auto start = Clock::now();

  nlohmann::ordered_json conditions;
  int64_t parameters = 0, trained = 0;
  auto write_description = [&](const nlohmann::ordered_json& architecture) {
    const nlohmann::ordered_json description = {{"config", settings},
                                                {"architecture", architecture},
                                                {"parameters", parameters},
                                                {"trained_parameters", trained},
                                                {"allowed", data.train.allowed.names},
                                                {"environment", environment_description()}};
    write_file_atomic(path_in(folder, "config.json"), description.dump(2) + "\n");
  };
  if (config.net == SequenceNet::kFeedback) {
    const Checkpoint ff_checkpoint = read_checkpoint(config.ff_model);
    const Architecture& ff_architecture = ff_checkpoint.architecture;
    FBNET_CHECK(ff_architecture.input_size == data.input_size && ff_architecture.classes == data.classes,
                "--ff-model: {} takes {} inputs and {} classes, dataset '{}' has {} and {}", config.ff_model,
                ff_architecture.input_size, ff_architecture.classes, config.data.dataset, data.input_size, data.classes);
    Network<float> ff(ff_architecture);
    load_weights(ff_checkpoint, ff);
    Network<float> network(sequence_feedback_architecture(ff_architecture, config.feedback_alpha, config.length,
                                                          config.ff_model));
    network.initialize(config.training.seed);  // the feedback edge; the layers are overwritten next
    load_weights(ff_checkpoint, network, "layers.");
    for (int layer = 0; layer < network.architecture().layer_count(); ++layer) network.set_layer_frozen(layer, true);
    parameters = network.architecture().parameter_count();
    trained = parameters - ff_architecture.parameter_count();
    write_description(architecture_to_json(network.architecture()));
    conditions = train_and_evaluate(network, config, data, folder, [&](int epoch) {
      save_checkpoint(path_in(folder, "model.safetensors"), network, nullptr, epoch, settings);
    });
    for (const SequenceSet* set : measured_sets(data))
      conditions[set->name]["ff"] = position_json(evaluate_ff_positions(ff, *set, config.training.eval_batch_size));
  } else {
    LstmClassifier<float> lstm(data.input_size, config.lstm_hidden, data.classes, config.length);
    lstm.initialize(config.training.seed);
    parameters = trained = static_cast<int64_t>(lstm.parameters().values().size());
    write_description({{"lstm_hidden", config.lstm_hidden}, {"input_size", data.input_size},
                       {"classes", data.classes}, {"steps", config.length}});
    conditions = train_and_evaluate(lstm, config, data, folder, [&](int epoch) {
      save_parameters(path_in(folder, "model.safetensors"), lstm.parameters(), "fbnet-lstm-1", epoch, settings);
    });
  }
  nlohmann::ordered_json results = {{"net", net_name(config.net)},
                                    {"seed", config.training.seed},
                                    {"parameters", parameters},
                                    {"trained_parameters", trained},
                                    {"conditions", conditions},
                                    {"wall_seconds", seconds_since(start)}};
  write_file_atomic(path_in(folder, "results.json"), results.dump(2) + "\n");
  return results;
}

}  // namespace fbnet
