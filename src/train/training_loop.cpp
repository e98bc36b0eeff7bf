// The epoch loop, its run folder, and resuming it.
#include "train/training_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/random.hpp"
#include "formats/atomic_file.hpp"
#include "formats/metrics_file.hpp"
#include "train/progress.hpp"

namespace fbnet {
namespace {

using Clock = std::chrono::steady_clock;

// Settings that may change when a run is resumed; any other difference would
// make the resumed run a different experiment. Most paths say where files are,
// not what they hold (a named dataset's name says that), and files move; runs
// from before paths were made absolute stored them relative. Two paths are
// the data itself and stay fixed: the folder of --dataset npy, and --words.
constexpr std::string_view kMayChangeOnResume[] = {"epochs", "engine", "conv-engine", "threads", "progress",
                                                   "eval-batch-size", "memory-limit", "divergence-factor"};

bool may_change_on_resume(const std::string& key, const nlohmann::json& config,
                          const std::vector<std::string>& path_settings) {
  const bool names_the_data = key == "words" || (key == "data-dir" && config.value("dataset", "") == "npy");
  return std::find(std::begin(kMayChangeOnResume), std::end(kMayChangeOnResume), key) != std::end(kMayChangeOnResume) ||
         (!names_the_data && std::find(path_settings.begin(), path_settings.end(), key) != path_settings.end());
}

void check_same_run(const ModelFile& checkpoint, const nlohmann::json& config, const nlohmann::json& default_config,
                    const std::vector<std::string>& path_settings) {
  std::string differences;
  for (const auto& [key, value] : config.items()) {
    if (may_change_on_resume(key, config, path_settings)) continue;
    const auto saved = checkpoint.config.find(key);
    const nlohmann::json& saved_value = saved != checkpoint.config.end() ? *saved : default_config.at(key);
    if (saved_value != value)
      differences += fmt::format("\n  {}: {} in the checkpoint, {} now", key, saved_value.dump(), value.dump());
  }
  FBNET_CHECK(differences.empty(), "--resume: {} was trained with other settings; only {} and paths ({}) other than "
              "the data's own (words, an npy data-dir) may change:{}", checkpoint.path,
              fmt::join(kMayChangeOnResume, ", "), fmt::join(path_settings, ", "), differences);
}

// The end of a "training diverged" message: what the folder still holds.
std::string what_is_kept(const std::string& folder, int diverged_epoch) {
  return diverged_epoch > 1 ? fmt::format("the checkpoint of epoch {} in {} is kept", diverged_epoch - 1, folder)
                            : fmt::format("no epoch finished, so {} holds no checkpoint", folder);
}

struct EpochTotals {
  double loss = 0;      // mean over samples
  double accuracy = 0;  // percent of predictions
};

// One epoch of the optimiser over the shuffled training batches.
EpochTotals train_epoch(const TrainingLoop& loop, Optimizer<float>& optimizer, int epoch, Progress& progress) {
  Model<float>& model = loop.model;
  const TrainingSettings& t = loop.training;
  // Each epoch draws from its own streams, so a resumed run repeats exactly.
  Rng shuffle_rng(t.seed, kShuffleStream, epoch);
  Rng dropout_rng(t.seed, kDropoutStream, epoch);
  const int64_t count = loop.train.count();
  const std::vector<int64_t> order = random_permutation(count, shuffle_rng);
  const int64_t batches = (count + t.batch_size - 1) / t.batch_size;
  auto& parameters = model.parameters();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  const auto start = Clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * t.batch_size;
    const int64_t batch = std::min(t.batch_size, count - begin);
    loop.train.gather(order, begin, batch);
    model.forward(loop.train.inputs(), Mode::kTrain, &dropout_rng);
    const LossAndCorrect result = model.loss(loop.train.labels());
    FBNET_CHECK(std::isfinite(result.loss_sum), "training diverged: the loss is {} at epoch {}, batch {}; {}",
                result.loss_sum, epoch, b + 1, what_is_kept(loop.folder, epoch));
    // A loss can explode and stay finite (1e12 at lr 100): bound it by the loss of a uniform guess.
    const double uniform_loss = std::log(static_cast<double>(model.logits(0).cols()));
    FBNET_CHECK(t.divergence_factor == 0 || result.loss_sum / batch <= t.divergence_factor * uniform_loss,
                "training diverged: the loss is {:.4g} at epoch {}, batch {}, more than {} x ln({}) = {:.4g} "
                "(--divergence-factor); {}", result.loss_sum / batch, epoch, b + 1, t.divergence_factor,
                model.logits(0).cols(), t.divergence_factor * uniform_loss, what_is_kept(loop.folder, epoch));
    // Each range is updated as soon as its gradient is final, while it is in
    // cache; frozen ranges are never reported.
    optimizer.begin_step();
    model.backward([&](int64_t from, int64_t to) { optimizer.step(parameters.values(), parameters.grads(), from, to); });
    loss_sum += result.loss_sum;
    correct += result.correct;
    seen += batch;
    const double rate = seen / std::max(seconds_since(start), 1e-9);
    const double remaining = (t.epochs - epoch) * count + (count - seen);
    progress.batch(epoch, t.epochs, b + 1, batches, loss_sum / seen, 100.0 * correct / (seen * model.readout_count()),
                   rate, remaining / rate);
  }
  // A finite loss with non-finite weights (an overflow in the last update) must not reach the checkpoint.
  const std::string bad_parameter = parameters.first_non_finite();
  FBNET_CHECK(bad_parameter.empty(), "training diverged: {} holds NaN or Inf after epoch {}, batch {}; {}",
              bad_parameter, epoch, batches, what_is_kept(loop.folder, epoch));
  return {loss_sum / count, 100.0 * correct / (count * model.readout_count())};
}

}  // namespace

BestEpoch best_epoch(const std::vector<nlohmann::ordered_json>& records) {
  BestEpoch best;
  for (size_t i = 0; i < records.size(); ++i)
    if (records[i].contains("validation_accuracy") && records[i]["validation_accuracy"].get<double>() > best.accuracy)
      best = {records[i]["epoch"].get<int>(), records[i]["validation_accuracy"].get<double>(), i};
  return best;
}

bool stopped_early(const std::vector<nlohmann::ordered_json>& records, int patience) {
  if (patience == 0 || records.empty()) return false;
  const int best = best_epoch(records).epoch;
  return best > 0 && records.back()["epoch"].get<int>() - best >= patience;
}

LoopStart resume_from(const std::string& folder, Model<float>& model, const ModelFormat& format,
                      Optimizer<float>& optimizer, const nlohmann::json& config, const nlohmann::json& default_config,
                      const std::vector<std::string>& path_settings) {
  const std::string path = path_in(folder, "checkpoint.safetensors");
  std::error_code error;
  FBNET_CHECK(std::filesystem::exists(path, error), "--resume: {} holds no checkpoint.safetensors to resume from", folder);
  const ModelFile checkpoint = read_model_file(path, format.name);
  FBNET_CHECK(checkpoint.architecture_json == format.architecture,
              "--resume: {} was saved from a different architecture:\n  checkpoint: {}\n  this run:   {}", path,
              checkpoint.architecture_json.dump(), format.architecture.dump());
  check_same_run(checkpoint, config, default_config, path_settings);
  // Fewer epochs than were trained would leave a run folder whose settings say N and whose files hold more.
  FBNET_CHECK(config.at("epochs").get<int>() >= checkpoint.epoch,
              "--epochs: {} holds {} trained epochs; resume with --epochs {} or more", folder, checkpoint.epoch,
              checkpoint.epoch);
  FBNET_CHECK(config.at("lr-schedule") != json_value(ScheduleKind::kCosine) ||
                  config.at("epochs") == checkpoint.config.at("epochs"),
              "--epochs: {} was trained with a cosine schedule over {} epochs; its rates depend on them, so it "
              "resumes only with --epochs {}", folder, checkpoint.config.at("epochs").dump(),
              checkpoint.config.at("epochs").dump());
  auto& parameters = model.parameters();
  copy_tensors(checkpoint, parameters.infos(), "", parameters.values());
  load_optimizer_state(checkpoint, parameters.infos(), optimizer);
  LoopStart start{checkpoint.epoch + 1, {}};
  for (auto& record : read_metrics(folder))
    if (record.contains("epoch") && record["epoch"].is_number_integer() && record["epoch"].get<int>() <= checkpoint.epoch)
      start.records.push_back(record);
  return start;
}

std::vector<nlohmann::ordered_json> train_epochs(const TrainingLoop& loop, Optimizer<float>& optimizer,
                                                 LoopStart start) {
  Progress progress(loop.progress, loop.label);
  const TrainingSettings& t = loop.training;
  const int epochs = t.epochs;
  std::vector<nlohmann::ordered_json> records = std::move(start.records);
  if (stopped_early(records, t.early_stopping)) {
    progress.line(fmt::format("{}: stopped early after epoch {}", loop.folder, records.back()["epoch"].get<int>()));
    return records;
  }
  if (start.first_epoch > epochs)
    progress.line(fmt::format("{}: already trained for {} epochs", loop.folder, start.first_epoch - 1));
  // best.safetensors holds the weights of the best epoch so far, earlier epochs of a resumed run included.
  double best_validation = best_epoch(records).accuracy;
  const bool scheduled = t.schedule.kind != ScheduleKind::kConstant || t.schedule.warmup_epochs > 0;
  const auto run_start = Clock::now();
  for (int epoch = start.first_epoch; epoch <= epochs; ++epoch) {
    optimizer.set_learning_rate(scheduled_learning_rate(t.optimizer.learning_rate, t.schedule, epoch, epochs));
    const auto epoch_start = Clock::now();
    const EpochTotals totals = train_epoch(loop, optimizer, epoch, progress);
    const double train_seconds = seconds_since(epoch_start);
    const auto measure_start = Clock::now();
    nlohmann::ordered_json record;
    record["epoch"] = epoch;
    record["train_loss"] = totals.loss;
    record["train_accuracy"] = totals.accuracy;
    if (scheduled) record["learning_rate"] = optimizer.learning_rate();
    const std::string measured = loop.measure(record);
    record["train_seconds"] = train_seconds;
    record["eval_seconds"] = seconds_since(measure_start);
    record[loop.rate_key] = loop.train.count() / train_seconds;
    records.push_back(record);
    // Metrics first, then the model files (last, best), then the checkpoint: a run killed
    // in between recomputes this epoch on resume and overwrites its line with
    // the same values, and a complete checkpoint always has its model file.
    write_metrics(loop.folder, records);
    const ParameterStore<float>& parameters = loop.model.parameters();
    save_checkpoint(path_in(loop.folder, "model.safetensors"), parameters, loop.format, nullptr, epoch, loop.config);
    if (record.contains("validation_accuracy") && record["validation_accuracy"].get<double>() > best_validation) {
      best_validation = record["validation_accuracy"].get<double>();
      save_checkpoint(path_in(loop.folder, "best.safetensors"), parameters, loop.format, nullptr, epoch, loop.config);
    }
    save_checkpoint(path_in(loop.folder, "checkpoint.safetensors"), parameters, loop.format, &optimizer, epoch,
                    loop.config);
    progress.line(fmt::format("{} epoch {:>2}/{}  loss {:.4f}  {}  {:.2f}s/epoch  [{}]", loop.label, epoch, epochs,
                              totals.loss, measured, train_seconds, format_duration(seconds_since(run_start))));
    if (stopped_early(records, t.early_stopping)) {
      progress.line(fmt::format("{}: stopped early: no better validation accuracy for {} epochs since epoch {} "
                                "(--early-stopping); best.safetensors holds its weights", loop.label,
                                t.early_stopping, best_epoch(records).epoch));
      break;
    }
  }
  return records;
}

}  // namespace fbnet
