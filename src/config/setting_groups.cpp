// Enum spellings and validation of the setting groups.
#include "config/setting_groups.hpp"

#include "data/dataset.hpp"
#include "engine/enum_names.hpp"
#include "engine/error.hpp"

namespace fbnet {
namespace {

constexpr EnumName<ProgressMode> kProgressNames[] = {
    {ProgressMode::kAuto, "auto"}, {ProgressMode::kAlways, "always"}, {ProgressMode::kNever, "never"}};
constexpr EnumName<GradientAccumulation> kAccumulationNames[] = {
    {GradientAccumulation::kZeroed, "zeroed"}, {GradientAccumulation::kRunningSum, "running-sum"}};
constexpr EnumName<OptimizerKind> kOptimizerNames[] = {
    {OptimizerKind::kSgd, "sgd"}, {OptimizerKind::kAdam, "adam"}, {OptimizerKind::kAdamW, "adamw"}};
constexpr EnumName<ScheduleKind> kScheduleNames[] = {
    {ScheduleKind::kConstant, "constant"}, {ScheduleKind::kStep, "step"}, {ScheduleKind::kCosine, "cosine"}};

}  // namespace

void parse_value(const std::string& setting, const std::string& text, ProgressMode& field) { field = parse_enum(kProgressNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, GradientAccumulation& field) { field = parse_enum(kAccumulationNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, OptimizerKind& field) { field = parse_enum(kOptimizerNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, ScheduleKind& field) { field = parse_enum(kScheduleNames, "--" + setting, text); }
nlohmann::json json_value(ProgressMode field) { return enum_name(kProgressNames, field); }
nlohmann::json json_value(GradientAccumulation field) { return enum_name(kAccumulationNames, field); }
nlohmann::json json_value(OptimizerKind field) { return enum_name(kOptimizerNames, field); }
nlohmann::json json_value(ScheduleKind field) { return enum_name(kScheduleNames, field); }

void refuse_unused_settings(const TrainingSettings& s, const std::vector<std::pair<std::string, std::string>>& given) {
  const bool sgd = s.optimizer.kind == OptimizerKind::kSgd;
  const std::string optimizer = enum_name(kOptimizerNames, s.optimizer.kind);
  for (const auto& [name, text] : given) {
    FBNET_CHECK(sgd || (name != "momentum" && name != "nesterov"),
                "--{}: SGD's setting, which --optimizer {} does not use (its momentum is --adam-beta1)", name, optimizer);
    FBNET_CHECK(!sgd || name.rfind("adam-", 0) != 0, "--{}: Adam's setting, which --optimizer sgd does not use", name);
    FBNET_CHECK(s.schedule.kind == ScheduleKind::kStep || (name != "lr-step-epochs" && name != "lr-gamma"),
                "--{}: a setting of --lr-schedule step, which is not the schedule here ({})", name,
                enum_name(kScheduleNames, s.schedule.kind));
  }
}

void apply_dataset_defaults(ImageDataSettings& settings, const std::vector<std::pair<std::string, std::string>>& given) {
  for (const auto& [name, text] : given)
    if (name == "validation-size") return;
  try {
    settings.validation_size = dataset_spec(settings.dataset).default_validation_size;
  } catch (const Error&) {
    // An unknown dataset: validate() names it.
  }
}

void validate(const ImageDataSettings& s) {
  FBNET_CHECK(s.validation_size >= 0, "--validation-size: must be >= 0, got {}", s.validation_size);
  FBNET_CHECK(s.noise_scale >= 0, "--noise-scale: must be >= 0, got {}", s.noise_scale);
  FBNET_CHECK(s.occlusion_patches >= 0 && s.occlusion_patches <= 1000, "--occlusion-patches: must be in 0..1000, got {}",
              s.occlusion_patches);
  FBNET_CHECK(s.occlusion_size >= 1 && s.occlusion_size <= 4096, "--occlusion-size: must be in 1..4096 pixels, got {}",
              s.occlusion_size);
}

void validate(const TrainingSettings& s) {
  FBNET_CHECK(s.epochs > 0, "--epochs: must be positive, got {}", s.epochs);
  FBNET_CHECK(s.optimizer.learning_rate > 0, "--learning-rate: must be positive, got {}", s.optimizer.learning_rate);
  const OptimizerSettings& o = s.optimizer;
  FBNET_CHECK(o.momentum >= 0 && o.momentum < 1, "--momentum: must be in [0, 1), got {}", o.momentum);
  FBNET_CHECK(s.batch_size > 0, "--batch-size: must be positive, got {}", s.batch_size);
  FBNET_CHECK(s.eval_batch_size > 0, "--eval-batch-size: must be positive, got {}", s.eval_batch_size);
  FBNET_CHECK(s.compute.threads >= 0 && s.compute.threads <= 256, "--threads: must be in 0..256, got {}", s.compute.threads);
  check_product_engine_available(s.compute.engine, "--engine");
  FBNET_CHECK(s.divergence_factor == 0 || s.divergence_factor >= 1,
              "--divergence-factor: must be 0 (off) or at least 1, got {}", s.divergence_factor);
  FBNET_CHECK(!o.nesterov || o.momentum > 0, "--nesterov: Nesterov momentum needs --momentum > 0, got {}", o.momentum);
  FBNET_CHECK(o.weight_decay >= 0, "--weight-decay: must be >= 0, got {}", o.weight_decay);
  FBNET_CHECK(o.beta1 >= 0 && o.beta1 < 1, "--adam-beta1: must be in [0, 1), got {}", o.beta1);
  FBNET_CHECK(o.beta2 >= 0 && o.beta2 < 1, "--adam-beta2: must be in [0, 1), got {}", o.beta2);
  FBNET_CHECK(o.epsilon > 0, "--adam-epsilon: must be positive, got {}", o.epsilon);
  FBNET_CHECK(s.schedule.step_epochs > 0, "--lr-step-epochs: must be positive, got {}", s.schedule.step_epochs);
  FBNET_CHECK(s.schedule.gamma > 0, "--lr-gamma: must be positive, got {}", s.schedule.gamma);
  FBNET_CHECK(s.schedule.warmup_epochs >= 0 && s.schedule.warmup_epochs < s.epochs,
              "--warmup-epochs: must be in 0..epochs-1 ({}), got {}", s.epochs - 1, s.schedule.warmup_epochs);
  FBNET_CHECK(s.early_stopping >= 0, "--early-stopping: must be >= 0 (0: never), got {}", s.early_stopping);
}

}  // namespace fbnet
