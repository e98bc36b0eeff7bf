// The groups of settings that every kind of run composes (as gemma.cpp
// composes LoaderArgs, ThreadingArgs and InferenceArgs): the image data, the
// optimiser and loop, and the output. Each group is declared once, with one
// visit list that drives its defaults, flags, --help, config files and the
// resolved config of a run folder, and one validate(). RunConfig and
// SequenceConfig hold these groups and differ only in their defaults.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "engine/compute.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace fbnet {

enum class ProgressMode { kAuto, kAlways, kNever };

// The image dataset, its validation split, and its noisy and occluded test images.
struct ImageDataSettings {
  std::string dataset = "fashion-mnist";
  PathSetting data_dir = {};  // "": the dataset's default folder
  int64_t validation_size = 10000;
  uint64_t split_seed = 0;
  double noise_scale = 2.0;
  uint64_t noise_seed = 0;
  int64_t occlusion_patches = 0;  // per occluded test image; 0: no occluded test set
  int64_t occlusion_size = 8;     // side of each square patch, in pixels
};

// The optimiser, its schedule and the training loop (the optimiser's, the
// schedule's and the compute settings are theirs, composed here: optim/, engine/).
struct TrainingSettings {
  int epochs = 30;
  OptimizerSettings optimizer = {.learning_rate = 0.02, .momentum = 0.7};  // the report's FF net
  ScheduleSettings schedule = {};
  int64_t batch_size = 128;
  uint64_t seed = 0;
  int64_t eval_batch_size = 1000;
  ComputeSettings compute = {};
  double divergence_factor = 100;  // a batch loss above this times ln(classes) stops the run (0: off)
  int early_stopping = 0;  // epochs without a better validation accuracy before the run stops (0: never)
};

// Where a run writes, and what it shows while it runs.
struct OutputSettings {
  PathSetting out;
  ProgressMode progress = ProgressMode::kAuto;
};

template <class Settings, class Visitor>
  requires std::same_as<std::remove_const_t<Settings>, ImageDataSettings>
void visit_settings(Settings& s, Visitor& visit) {
  visit("dataset", s.dataset, "dataset: fashion-mnist, mnist, emnist-letters, emnist-digits, emnist-mnist, "
        "emnist-balanced, emnist-bymerge, emnist-byclass, emnist-letters-partial (letter datasets give sequences of words), "
        "or npy (your own: train-images.npy, train-labels.npy, test-images.npy, test-labels.npy in --data-dir)");
  visit("data-dir", s.data_dir, "folder with the dataset's gzip IDX files or, for npy, its .npy files (empty: the "
        "dataset's default folder)");
  visit("validation-size", s.validation_size, "training images held out (seeded) for validation (default 10000; 1000 "
        "for emnist-letters-partial); experiment 2 draws its validation sequences from them");
  visit("split-seed", s.split_seed, "seed of the validation split (and of the train/test split of emnist-letters-partial)");
  visit("noise-scale", s.noise_scale, "scale s of the noisy test images: clip(x + s * N(0, 64), 0, 255)");
  visit("noise-seed", s.noise_seed, "seed of the noisy test images' noise, and of the occluding patches' places");
  visit("occlusion-patches", s.occlusion_patches, "black square patches on each image of an occluded test set, "
        "evaluated beside the noisy one (0: none)");
  visit("occlusion-size", s.occlusion_size, "side of each occluding patch, in pixels");
}

template <class Settings, class Visitor>
  requires std::same_as<std::remove_const_t<Settings>, TrainingSettings>
void visit_settings(Settings& s, Visitor& visit) {
  visit("epochs", s.epochs, "training epochs (at most: see --early-stopping)");
  visit("optimizer", s.optimizer.kind, "sgd, adam or adamw, each with torch.optim's semantics (optim/optimizer.hpp)");
  visit("learning-rate", s.optimizer.learning_rate, "learning rate (the base rate of --lr-schedule)");
  visit("momentum", s.optimizer.momentum, "SGD momentum (PyTorch semantics, dampening 0)");
  visit("nesterov", s.optimizer.nesterov, "SGD: Nesterov momentum (true or false; needs --momentum > 0)");
  visit("weight-decay", s.optimizer.weight_decay, "weight decay: L2 added to the gradient (sgd, adam) or decoupled (adamw; "
        "PyTorch's AdamW defaults to 0.01, fbnet to 0 like the others)");
  visit("adam-beta1", s.optimizer.beta1, "Adam/AdamW: decay of the gradient's running mean");
  visit("adam-beta2", s.optimizer.beta2, "Adam/AdamW: decay of the squared gradient's running mean");
  visit("adam-epsilon", s.optimizer.epsilon, "Adam/AdamW: added to the denominator");
  visit("lr-schedule", s.schedule.kind, "learning rate per epoch: constant, step (times --lr-gamma every "
        "--lr-step-epochs) or cosine (towards 0 over the epochs after warmup, reaching it after the last), as "
        "PyTorch's StepLR and CosineAnnealingLR");
  visit("lr-step-epochs", s.schedule.step_epochs, "step schedule: epochs between decays");
  visit("lr-gamma", s.schedule.gamma, "step schedule: factor of each decay");
  visit("warmup-epochs", s.schedule.warmup_epochs, "epochs of linear warmup before the schedule: epoch e (from 1) "
        "trains at e/(W+1) of the rate, as PyTorch's LinearLR(start_factor=1/(W+1), total_iters=W)");
  visit("early-stopping", s.early_stopping, "stop when the validation accuracy has not improved for this many "
        "epochs (0: never); best.safetensors holds the best epoch's weights");
  visit("gradient-accumulation", s.optimizer.accumulation, "gradient each step uses: zeroed (the batch's, as with "
        "zero_grad() every step) or running-sum (the sum of every gradient so far: the authors' experiment-2 loop, "
        "which never called zero_grad; NOTES.md)");
  visit("batch-size", s.batch_size, "training batch size (images, or sequences in experiment 2)");
  visit("seed", s.seed, "seed of initialisation, shuffling and dropout");
  visit("eval-batch-size", s.eval_batch_size, "batch size for evaluation");
  visit("engine", s.compute.engine, "engine of the matrix products: onednn (the default where fbnet was built with "
        "it; the faster here) or openblas; the environment variable FBNET_ENGINE sets the default. Results are "
        "bit-identical for one engine and thread count; another engine may differ in the last digits");
  visit("conv-engine", s.compute.convolution, "how float32 convolutions run: im2col (receptive fields as matrix "
        "columns, one product per chunk of samples on --engine), onednn (oneDNN's convolution primitives; float32 "
        "activations kept in its 16-channel blocks where its kernels use them, on AVX-512) or onednn-nchw (the same "
        "primitives on NCHW activations, reordered at each call: the same results, usually slower); im2col's "
        "results and oneDNN's differ in the last digits");
  visit("threads", s.compute.threads, "threads of the products and the element-wise loops (0: one per core this "
        "process may use)");
  visit("divergence-factor", s.divergence_factor, "stop a run when a batch's mean loss exceeds this many times "
        "ln(classes), the loss of a uniform guess, as well as when it is NaN or Inf (0: only NaN or Inf)");
}

template <class Settings, class Visitor>
  requires std::same_as<std::remove_const_t<Settings>, OutputSettings>
void visit_settings(Settings& s, Visitor& visit) {
  visit("out", s.out, "run folder (empty: one under runs/ named after the network and seed)");
  visit("progress", s.progress, "progress display: auto (live line on a terminal), always or never");
}

// The settings machinery (settings.hpp) reads and writes these enums.
void parse_value(const std::string& setting, const std::string& text, ProgressMode& field);
void parse_value(const std::string& setting, const std::string& text, GradientAccumulation& field);
void parse_value(const std::string& setting, const std::string& text, OptimizerKind& field);
void parse_value(const std::string& setting, const std::string& text, ScheduleKind& field);
nlohmann::json json_value(ProgressMode field);
nlohmann::json json_value(GradientAccumulation field);
nlohmann::json json_value(OptimizerKind field);
nlohmann::json json_value(ScheduleKind field);


// The defaults that depend on the dataset, for what `given` (the settings
// given, as (name, text)) leaves out: the validation split's size.
void apply_dataset_defaults(ImageDataSettings& settings, const std::vector<std::pair<std::string, std::string>>& given);

// Refuses a setting in `given` (the user's flags and config file) that the
// chosen optimiser or schedule would ignore (--momentum with adam, --lr-gamma
// without the step schedule, ...).
void refuse_unused_settings(const TrainingSettings& settings, const std::vector<std::pair<std::string, std::string>>& given);

// Throw fbnet::Error naming the setting of the first invalid value.
void validate(const ImageDataSettings& settings);
void validate(const TrainingSettings& settings);

}  // namespace fbnet
