// Enum spellings, resolution and validation of SequenceConfig.
#include "config/sequence_config.hpp"

#include <fmt/format.h>

#include "engine/enum_names.hpp"
#include "engine/error.hpp"

namespace fbnet {
namespace {

constexpr EnumName<SequenceNet> kNetNames[] = {{SequenceNet::kFeedback, "fb"}, {SequenceNet::kLstm, "lstm"}};
constexpr EnumName<MissingLetters> kMissingNames[] = {{MissingLetters::kRefuse, "refuse"},
                                                      {MissingLetters::kFilter, "filter"}};

}  // namespace

void parse_value(const std::string& setting, const std::string& text, SequenceNet& field) { field = parse_enum(kNetNames, "--" + setting, text); }
void parse_value(const std::string& setting, const std::string& text, MissingLetters& field) { field = parse_enum(kMissingNames, "--" + setting, text); }
nlohmann::json json_value(SequenceNet field) { return enum_name(kNetNames, field); }
nlohmann::json json_value(MissingLetters field) { return enum_name(kMissingNames, field); }
std::string net_name(SequenceNet net) { return enum_name(kNetNames, net); }

SequenceConfig resolve_sequence_config(const SettingList& explicit_settings) {
  SequenceConfig config;
  for (const auto& [name, text] : explicit_settings) parse_setting(config, name, text);
  apply_dataset_defaults(config.data, explicit_settings);
  return config;
}

void validate(const SequenceConfig& c) {
  FBNET_CHECK(c.training.early_stopping == 0, "--early-stopping: experiment 1's runs only; a sequence run measures "
              "validation per position and trains its full --epochs");
  FBNET_CHECK(c.length >= 1 && c.length <= 64, "--length: must be in 1..64, got {}", c.length);
  FBNET_CHECK(c.net != SequenceNet::kFeedback || c.length >= 2,
              "--length: the feedback net's feedback reaches position 2 on, so it needs 2 or more, got {}", c.length);
  FBNET_CHECK(c.allowed >= 1, "--allowed: must be positive, got {}", c.allowed);
  FBNET_CHECK(c.train_sequences >= 1, "--train-sequences: must be positive, got {}", c.train_sequences);
  FBNET_CHECK(c.test_sequences >= 1, "--test-sequences: must be positive, got {}", c.test_sequences);
  FBNET_CHECK(c.validation_sequences >= 0, "--validation-sequences: must be >= 0, got {}", c.validation_sequences);
  FBNET_CHECK(c.train_sequences <= (int64_t{1} << 26) && c.test_sequences <= (int64_t{1} << 26) &&
                  c.validation_sequences <= (int64_t{1} << 26),
              "--train-sequences/--test-sequences/--validation-sequences: at most {} samples", int64_t{1} << 26);
  for (int64_t position : c.noisy_positions)
    FBNET_CHECK(position >= 1 && position <= c.length, "--noisy-positions: position {} is outside 1..{} (--length)",
                position, c.length);
  validate(c.data);
  FBNET_CHECK(c.feedback_alpha >= 0 && c.feedback_alpha <= 1, "--feedback-alpha: must be in [0, 1], got {}",
              c.feedback_alpha);
  FBNET_CHECK(c.lstm_hidden >= 1 && c.lstm_hidden <= 65536, "--lstm-hidden: must be in 1..65536, got {}", c.lstm_hidden);
  FBNET_CHECK(c.net != SequenceNet::kFeedback || !c.ff_model.path.empty(),
              "--ff-model: --net fb needs the model.safetensors of a trained FF run (fbnet train --model ff)");
  validate(c.training);
}

}  // namespace fbnet
