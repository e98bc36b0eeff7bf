// The epoch loop, per-epoch evaluation, and the run folder.
#include "train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/blas.hpp"
#include "engine/random.hpp"
#include "train/atomic_file.hpp"
#include "train/checkpoint.hpp"
#include "train/divergence.hpp"
#include "train/environment.hpp"
#include "train/metrics_file.hpp"
#include "train/evaluate.hpp"
#include "train/progress.hpp"
#include "train/sgd.hpp"

namespace fbnet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;



void add_eval(nlohmann::ordered_json& record, const char* name, const EvalResult& result) {
  record[fmt::format("{}_loss", name)] = result.loss;
  record[fmt::format("{}_accuracy", name)] = result.accuracy;
}

// Settings that may change when a run is resumed; any other difference would
// make the resumed run a different experiment.
bool may_change_on_resume(const std::string& key) {
  return key == "epochs" || key == "threads" || key == "progress" || key == "out" || key == "eval-batch-size";
}

// A setting that a checkpoint's config lacks was added to fbnet after it was
// written, so that run used the setting's default.
void check_same_run(const Checkpoint& checkpoint, const nlohmann::json& config) {
  const nlohmann::json defaults = config_to_json(RunConfig{});
  std::string differences;
  for (const auto& [key, value] : config.items()) {
    if (may_change_on_resume(key)) continue;
    const auto saved = checkpoint.config.find(key);
    const nlohmann::json& saved_value = saved != checkpoint.config.end() ? *saved : defaults.at(key);
    if (saved_value != value)
      differences += fmt::format("\n  {}: {} in the checkpoint, {} now", key, saved_value.dump(), value.dump());
  }
  FBNET_CHECK(differences.empty(), "--resume: {} was trained with other settings; only epochs, threads, progress and "
              "eval-batch-size may change:{}", checkpoint.path, differences);
}

}  // namespace

std::string default_run_folder(const RunConfig& config) {
  return fmt::format("runs/{}-seed{}", model_name(config.model), config.training.seed);
}

RunResult train_run(const RunConfig& config, const PreparedData& data, bool resume) {
  validate(config);
  set_blas_threads(config.training.threads);
  const std::string folder = config.output.out.empty() ? default_run_folder(config) : config.output.out;
  const std::string checkpoint_path = path_in(folder, "checkpoint.safetensors");
  const nlohmann::json config_json = config_to_json(config);

  Network<float> network(architecture_from(config, data.input_size, data.classes));
  SgdMomentum<float> optimizer(config.training.learning_rate, config.training.momentum, network.parameters().values().size(),
                               config.training.gradient_accumulation);
  RunResult result;
  result.folder = folder;
  result.parameters = network.architecture().parameter_count();
  int first_epoch = 1;
  std::error_code error;
  if (resume) {
    FBNET_CHECK(fs::exists(checkpoint_path, error), "--resume: {} holds no checkpoint.safetensors to resume from", folder);
    const Checkpoint checkpoint = read_checkpoint(checkpoint_path);
    FBNET_CHECK(architecture_to_json(checkpoint.architecture) == architecture_to_json(network.architecture()),
                "--resume: {} was saved from a different architecture:\n  checkpoint: {}\n  this run:   {}",
                checkpoint_path, architecture_to_json(checkpoint.architecture).dump(),
                architecture_to_json(network.architecture()).dump());
    check_same_run(checkpoint, config_json);
    load_weights(checkpoint, network);
    load_optimizer_state(checkpoint, network, optimizer);
    first_epoch = checkpoint.epoch + 1;
    for (auto& record : read_metrics(folder))
      if (record.contains("epoch") && record["epoch"].is_number_integer() && record["epoch"].get<int>() <= checkpoint.epoch)
        result.epochs.push_back(record);
  } else {
    FBNET_CHECK(!fs::exists(checkpoint_path, error),
                "--out: {} already holds a run; pass --resume to continue it, or choose another --out", folder);
    network.initialize(config.training.seed);
  }
  fs::create_directories(folder, error);
  FBNET_CHECK(!error, "--out: cannot create run folder {}: {}", folder, error.message());
  const nlohmann::ordered_json run_description = {{"config", config_json},
                                                  {"architecture", architecture_to_json(network.architecture())},
                                                  {"parameters", result.parameters},
                                                  {"environment", environment_description()}};
  write_file_atomic(path_in(folder, "config.json"), run_description.dump(2) + "\n");

  Progress progress(config.output.progress, model_name(config.model));
  if (first_epoch > config.training.epochs)
    progress.line(fmt::format("{}: already trained for {} epochs", folder, first_epoch - 1));

  const int steps = network.architecture().steps;
  const int64_t train_count = data.train.count();
  const int64_t batches = (train_count + config.training.batch_size - 1) / config.training.batch_size;
  Tensor<float> images;
  std::vector<int32_t> labels;
  std::vector<const Tensor<float>*> step_inputs(steps, &images);
  std::vector<const int32_t*> step_labels(network.readout_count());
  const auto run_start = Clock::now();
  for (int epoch = first_epoch; epoch <= config.training.epochs; ++epoch) {
    // Each epoch draws from its own streams, so a resumed run repeats exactly.
    Rng shuffle_rng(config.training.seed, kShuffleStream, epoch);
    Rng dropout_rng(config.training.seed, kDropoutStream, epoch);
    const std::vector<int64_t> order = random_permutation(train_count, shuffle_rng);
    double loss_sum = 0;
    int64_t correct = 0;
    int64_t seen = 0;
    const auto epoch_start = Clock::now();
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t begin = b * config.training.batch_size;
      const int64_t batch = std::min(config.training.batch_size, train_count - begin);
      gather_batch(data.train, order, begin, batch, images, labels);
      network.forward(step_inputs, Mode::kTrain, &dropout_rng);
      std::fill(step_labels.begin(), step_labels.end(), labels.data());
      const LossAndCorrect batch_result = network.loss(step_labels);
      FBNET_CHECK(std::isfinite(batch_result.loss_sum),
                  "training diverged: the loss is {} at epoch {}, batch {}; {}", batch_result.loss_sum, epoch, b + 1,
                  what_is_kept(folder, epoch, "checkpoint"));
      // Each layer is updated as soon as its gradient is final, while it is in cache.
      network.backward([&](int64_t begin, int64_t end) {
        optimizer.step(network.parameters().values(), network.parameters().grads(), begin, end);
      });
      loss_sum += batch_result.loss_sum;
      correct += batch_result.correct;
      seen += batch;
      const double elapsed = seconds_since(epoch_start);
      const double rate = seen / std::max(elapsed, 1e-9);
      const double remaining = (config.training.epochs - epoch) * train_count + (train_count - seen);
      progress.batch(epoch, config.training.epochs, b + 1, batches, loss_sum / seen, 100.0 * correct / (seen * network.readout_count()),
                     rate, remaining / rate);
    }
    const double train_seconds = seconds_since(epoch_start);
    // A finite loss with non-finite weights (an overflow in the last update) must not reach the checkpoint.
    const std::string bad_parameter = network.parameters().first_non_finite();
    FBNET_CHECK(bad_parameter.empty(),
                "training diverged: {} holds NaN or Inf after epoch {}, batch {}; {}", bad_parameter, epoch, batches,
                what_is_kept(folder, epoch, "checkpoint"));
    const auto eval_start = Clock::now();
    const EvalResult validation = evaluate(network, data.validation, config.training.eval_batch_size);
    const EvalResult test = evaluate(network, data.test, config.training.eval_batch_size);
    const EvalResult noisy = evaluate(network, data.noisy_test, config.training.eval_batch_size);

    nlohmann::ordered_json record;
    record["epoch"] = epoch;
    record["train_loss"] = loss_sum / train_count;
    record["train_accuracy"] = 100.0 * correct / (train_count * network.readout_count());
    add_eval(record, "validation", validation);
    add_eval(record, "test", test);
    add_eval(record, "noisy_test", noisy);
    record["train_seconds"] = train_seconds;
    record["eval_seconds"] = seconds_since(eval_start);
    record["samples_per_second"] = train_count / train_seconds;
    result.epochs.push_back(record);
    // Metrics first, then the checkpoint: a run killed in between recomputes
    // this epoch on resume and overwrites its line with the same values.
    write_metrics(folder, result.epochs);
    // The weights-only file before the checkpoint, so that a completed checkpoint
    // always has its model file beside it.
    save_checkpoint(path_in(folder, "model.safetensors"), network, nullptr, epoch, config_json);
    save_checkpoint(checkpoint_path, network, &optimizer, epoch, config_json);
    progress.line(fmt::format("{} epoch {:>2}/{}  loss {:.4f}  val {:.2f}%  test {:.2f}%  noisy(s={}) {:.2f}%  {:.2f}s/epoch  [{}]",
                              model_name(config.model), epoch, config.training.epochs, loss_sum / train_count, validation.accuracy,
                              test.accuracy, config.data.noise_scale, noisy.accuracy, train_seconds,
                              format_duration(seconds_since(run_start))));
  }
  return result;
}

}  // namespace fbnet
