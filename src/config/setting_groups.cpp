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

}  // namespace

void parse_value(const std::string& setting, const std::string& text, ProgressMode& field) { field = parse_enum(kProgressNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, GradientAccumulation& field) { field = parse_enum(kAccumulationNames, "--" + setting, text); }
nlohmann::json json_value(ProgressMode field) { return enum_name(kProgressNames, field); }
nlohmann::json json_value(GradientAccumulation field) { return enum_name(kAccumulationNames, field); }

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
}

void validate(const TrainingSettings& s) {
  FBNET_CHECK(s.epochs > 0, "--epochs: must be positive, got {}", s.epochs);
  FBNET_CHECK(s.learning_rate > 0, "--learning-rate: must be positive, got {}", s.learning_rate);
  FBNET_CHECK(s.momentum >= 0 && s.momentum < 1, "--momentum: must be in [0, 1), got {}", s.momentum);
  FBNET_CHECK(s.batch_size > 0, "--batch-size: must be positive, got {}", s.batch_size);
  FBNET_CHECK(s.eval_batch_size > 0, "--eval-batch-size: must be positive, got {}", s.eval_batch_size);
  FBNET_CHECK(s.threads >= 0 && s.threads <= 256, "--threads: must be in 0..256, got {}", s.threads);
  FBNET_CHECK(s.divergence_factor == 0 || s.divergence_factor >= 1,
              "--divergence-factor: must be 0 (off) or at least 1, got {}", s.divergence_factor);
}

}  // namespace fbnet
